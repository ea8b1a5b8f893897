"""The mix.* engine methods on the small NSynth fixture: encodings with their pictures,
keeping a render with its recipe, listing kept recipes, and rendering a recipe again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine import methods
from engine.errors import BadInput, BadRequest
from engine.handlers import mix as handler
from engine.handlers import nsynth
from engine.local import run_method

CKPT = str(Path(__file__).parent / "fixtures" / "nsynth" / "ckpt")
RATE = 16000


def tone(path: Path, hz: float, seconds: float = 0.2, square: bool = False) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    x = np.sin(2 * np.pi * hz * t)
    sf.write(path, (0.5 * (np.sign(x) if square else x)).astype(np.float32), RATE, subtype="FLOAT")
    return path


@pytest.fixture
def sounds(tmp_path, mag_home, monkeypatch):
    monkeypatch.setattr(nsynth, "_cache", None)  # the encoding cache lives in this test's home
    return [tone(tmp_path / "sine.wav", 440), tone(tmp_path / "square.wav", 220, square=True)]


def test_methods_are_registered():
    reg = methods.load_handlers()
    assert {"mix.encode", "mix.keep", "mix.recipe", "mix.recipes"} <= set(reg)
    assert reg["mix.keep"].light and not reg["mix.recipes"].job


def test_plot_columns_average_time_slices():
    enc = np.arange(10 * 16, dtype=np.float32).reshape(10, 16)
    rows = handler.plot_columns(enc, columns=5)
    assert len(rows) == 16 and all(len(r) == 5 for r in rows)
    assert rows[0][0] == pytest.approx((enc[0, 0] + enc[1, 0]) / 2)
    assert rows[15][4] == pytest.approx((enc[8, 15] + enc[9, 15]) / 2)
    # fewer frames than columns: one column per frame
    assert [len(r) for r in handler.plot_columns(enc[:3], 64)] == [3] * 16


def test_encode_returns_pictures_of_the_encodings(sounds, tmp_path):
    r = run_method("mix.encode", {"sounds": [str(s) for s in sounds], "checkpoint": CKPT,
                                  "columns": 4}, work_dir=tmp_path / "job", quiet=True)
    first, second = r["encodings"]
    enc = np.load(first["npy_path"])
    assert first["frames"] == enc.shape[0] == 6 and first["seconds"] == pytest.approx(6 * 512 / RATE)
    assert len(first["plot"]) == 16 and len(first["plot"][0]) == 4
    np.testing.assert_allclose(first["plot"][3][0], enc[0:1, 3].mean(), atol=1e-4)
    assert first["plot"] != second["plot"]
    with pytest.raises(BadRequest):
        run_method("mix.encode", {"sounds": [str(sounds[0])], "checkpoint": CKPT, "columns": 0},
                   work_dir=tmp_path / "job2", quiet=True)


def test_keep_stores_the_recipe_and_it_renders_the_same_sound_again(sounds, tmp_path):
    recipe = {"sources": [str(s) for s in sounds], "weights": [0.75, 0.25], "stretch": 1.5,
              "seed": 7, "model": "nsynth-wavenet", "checkpoint": CKPT}
    params = handler.synth_params(recipe, "take")
    assert params["mixes"] == [{"sources": recipe["sources"], "weights": [0.75, 0.25], "stretch": 1.5}]
    assert params["checkpoint"] == CKPT and params["seed"] == 7
    first = run_method("nsynth.synth", params, work_dir=tmp_path / "r1", quiet=True)
    wav = first["wavs"][0]["wav_path"]
    assert first["wavs"][0]["samples"] == 9 * 512  # 6 frames × 1.5

    kept = run_method("mix.keep", {"wav_path": wav, "recipe": recipe, "name": "my blend"},
                      work_dir=tmp_path / "k", quiet=True)
    path = kept["sound"]["path"]
    assert Path(path).name == "my-blend.wav" and set(kept["sound"]["tags"]) == {"nsynth", "mix"}
    np.testing.assert_array_equal(sf.read(path, dtype="float32")[0], sf.read(wav, dtype="float32")[0])
    # the library lists it, and its recipe comes back by path and in the list of kept mixes
    listed = run_method("library.list", {"tag": "mix"}, quiet=True)["sounds"]
    assert [s["path"] for s in listed] == [path]
    back = run_method("mix.recipe", {"path": path}, quiet=True)
    assert back["recipe"] == recipe and back["exists"]
    assert run_method("mix.recipes", {}, quiet=True)["recipes"][0]["path"] == path
    # rendering the kept recipe again gives the same sound
    again = run_method("nsynth.synth", back["synth_params"], work_dir=tmp_path / "r2", quiet=True)
    np.testing.assert_array_equal(sf.read(again["wavs"][0]["wav_path"], dtype="float32")[0],
                                  sf.read(path, dtype="float32")[0])


def test_cli_lists_kept_mixes_and_renders_one_again(sounds, tmp_path, capsys):
    from engine.cli import main

    recipe = {"sources": [str(s) for s in sounds], "weights": [0.5, 0.5], "seed": 3,
              "model": "nsynth-wavenet", "checkpoint": CKPT}
    first = run_method("nsynth.synth", handler.synth_params(recipe), work_dir=tmp_path / "r", quiet=True)
    kept = run_method("mix.keep", {"wav_path": first["wavs"][0]["wav_path"], "recipe": recipe,
                                   "name": "duo"}, quiet=True)["sound"]["path"]
    capsys.readouterr()
    assert main(["mix", "recipes"]) == 0
    listed = json.loads(capsys.readouterr().out)["recipes"]
    assert [(k["path"], k["recipe"]) for k in listed] == [(kept, recipe)]
    assert main(["mix", "rerender", kept, "--out", str(tmp_path / "again")]) == 0
    np.testing.assert_array_equal(sf.read(tmp_path / "again" / "duo.wav", dtype="float32")[0],
                                  sf.read(kept, dtype="float32")[0])
    assert main(["mix", "rerender", str(sounds[0])]) == 1  # not a kept mix: a clear message
    assert "no mix recipe" in capsys.readouterr().err


def test_keep_and_recipe_reject_bad_input(sounds, tmp_path):
    with pytest.raises(BadInput, match="render the mix again"):
        run_method("mix.keep", {"wav_path": str(tmp_path / "gone.wav"),
                                "recipe": {"sources": ["a"], "seed": 1}}, quiet=True)
    with pytest.raises(BadRequest, match="seed"):
        run_method("mix.keep", {"wav_path": str(sounds[0]), "recipe": {"sources": ["a"]}}, quiet=True)
    with pytest.raises(BadInput, match="no mix recipe"):
        run_method("mix.recipe", {"path": str(sounds[0])}, quiet=True)
