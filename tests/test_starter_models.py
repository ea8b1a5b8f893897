"""The starter drum models shipped in checkpoints/starter/: they load, their samples have
a drummer's kick/snare/hat structure (the model card's musicality statistics, fixed
seeds), and the drum jobs and CLI fall back to them when no official checkpoint is
installed."""

from __future__ import annotations

import numpy as np
import pytest

from engine import checkpoints as ck
from engine.cli import main as cli
from engine.local import run_method
from engine.models.musicvae import MusicVae, required_variables
from engine.models.musicvae_configs import get_config
from engine.train.evaluate import pattern_stats, sample_hits
from tests.conftest import ROOT
from tests.test_drum_jobs import four_on_the_floor as drum_jobs_pattern

STARTER = ROOT / "checkpoints" / "starter"
DRUMS = STARTER / "starter-drums_2bar"
GROOVE = STARTER / "starter-groovae_2bar_humanize"


@pytest.fixture
def no_checkpoints(tmp_path, monkeypatch, mag_home):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "empty"))
    return tmp_path / "empty"


def four_on_the_floor() -> dict:
    return drum_jobs_pattern(qpm=110)


def test_shipped_models_are_small_official_format_checkpoints():
    total = sum(f.stat().st_size for f in STARTER.rglob("*") if f.is_file())
    assert total < 20_000_000
    for folder, config in ((DRUMS, "cat-drums_2bar_small"), (GROOVE, "groovae_2bar_humanize")):
        vae = MusicVae.load(config, str(folder))
        assert vae.config.name == config
        import tensorflow as tf

        names = set(tf.train.load_checkpoint(str(ck.resolve(folder.name)))
                    .get_variable_to_shape_map())
        assert names == set(required_variables(get_config(config))) | {"global_step"}


def test_samples_have_kick_snare_hat_structure():
    """At temperature 1.0 the starter model plays like the dataset, far from chance:
    kicks favour the beats (chance 0.25), snares the backbeats, hats keep time, and most
    patterns have kick, snare and a hi-hat or ride together. (MODEL_CARD.md has the
    numbers; the thresholds sit between chance and what the data shows.)"""
    hits = sample_hits(DRUMS, "cat-drums_2bar_small", 64, temperature=1.0, seed=2024)
    s = pattern_stats(hits)
    assert s["kick_on_beats"] > 0.35
    assert s["snare_backbeat_rate"] > 1.2 * s["snare_other_rate"]  # chance: equal
    assert s["hats_per_bar"] + s["ride_per_bar"] > 3.0
    assert s["with_kick_snare_hats"] > 0.6
    assert 6 < s["hits_per_bar"] < 40
    again = sample_hits(DRUMS, "cat-drums_2bar_small", 64, temperature=1.0, seed=2024)
    assert np.array_equal(hits, again)


def test_drum_jobs_fall_back_to_the_starter_models(no_checkpoints):
    sample = run_method("drums.sample", {"n": 2, "seed": 3, "temperature": 1.0}, quiet=True)
    assert sample["model"] == "starter-drums_2bar"
    a, b = sample["patterns"]
    chain = run_method("drums.interpolate", {"a": a, "b": b, "steps": 3, "seed": 1,
                                             "temperature": 0.0}, quiet=True)
    assert chain["model"] == "starter-drums_2bar" and len(chain["patterns"]) == 3
    out = run_method("drums.humanize", {"pattern": four_on_the_floor(), "seed": 4}, quiet=True)
    assert out["model"] == "starter-groovae_2bar_humanize"
    vel = np.array(out["patterns"][0]["velocities"])
    played = np.array(four_on_the_floor()["velocities"]) > 0
    hits = vel > 0
    assert (hits == played).mean() > 0.9  # humanize keeps the pattern ...
    assert len(np.unique(vel[hits])) > 3  # ... and gives it dynamics
    offs = np.array(out["patterns"][0]["offsets"])
    assert np.abs(offs[hits]).max() > 0.01


def test_cli_and_models_list_name_the_starter_model(no_checkpoints, tmp_path, capsys):
    assert cli(["drums", "sample", "-n", "1", "--seed", "5", "-o", str(tmp_path / "out")]) == 0
    assert "model: starter-drums_2bar" in capsys.readouterr().out
    from engine.music.midi_io import write_midi
    from engine.music.patterns import grid_from_pattern

    beat = write_midi(grid_from_pattern(four_on_the_floor()).to_sequence(), tmp_path / "beat.mid")
    assert cli(["drums", "humanize", str(beat), "--seed", "1", "-o", str(tmp_path / "h")]) == 0
    assert "model: starter-groovae_2bar_humanize" in capsys.readouterr().out
    assert cli(["models", "list"]) == 0
    listing = capsys.readouterr().out
    for name in ("starter-drums_2bar", "starter-groovae_2bar_humanize"):
        line = next(l for l in listing.splitlines() if l.startswith(name + " "))
        assert "shipped" in line and str(STARTER / name) in line
    assert cli(["models", "verify", "starter-groovae_2bar_humanize"]) == 0
    assert "OK" in capsys.readouterr().out
