"""Model management from the user's side: `models import` (config from a .mag bundle,
prefixes matched against the manifest, --force with verification, folder safety),
`verify` hints, `remove`, manifest sizes, and the manifest's roles with starter fallbacks.
Real fixture checkpoints (tests/fixtures) in the official formats; the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import checkpoints as ck
from engine.cli import main
from engine.errors import BadInput, BadRequest, CheckpointError

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MEL = FIX / "musicvae" / "cat-mel_2bar_big"  # official variable names, small widths
DRUMS = FIX / "musicvae" / "cat-drums_2bar_small"
ATTENTION_MAG = FIX / "melody_rnn" / "attention_rnn.mag"  # generator id "attention_rnn"
IN_RANGE = [[0.0, 0.5, 60, 90], [0.5, 1.0, 62, 90], [1.0, 1.5, 64, 90], [1.5, 2.0, 67, 90]]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty checkpoints folder and the real manifest."""
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.delenv("MAGSTATION_MANIFEST", raising=False)
    return tmp_path / "checkpoints"


def _prefix_copy(src_dir: Path, dest_dir: Path, stem: str) -> Path:
    """The fixture's model.ckpt.* files as `dest_dir/stem.*` (the official tar's layout)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    for f in src_dir.glob("model.ckpt.*"):
        shutil.copy(f, dest_dir / (stem + f.name[len("model.ckpt"):]))
    return dest_dir / stem


def _primer(tmp_path: Path) -> Path:
    from engine.models.melody_rnn import sequence_from_notes
    from engine.music.midi_io import write_midi

    return write_midi(sequence_from_notes(IN_RANGE, qpm=120), tmp_path / "primer.mid")


def _verifies(name: str) -> bool:
    """`verify` with the config's variable names (the fixtures' widths are small)."""
    info = ck.get_info(name)
    res = ck.verify(name, expected={k: None for k in ck.expected_variables_for(info)})
    return res.ok and res.checked > 0


def _leftovers(home: Path) -> list[str]:
    """Hidden staging/old/removing folders a replace or remove might leave behind."""
    return sorted(p.name for p in home.iterdir() if p.name.startswith(".") and p.name != ck.DOWNLOADS)


# ---------------------------------------------------------------- (a) .mag config

def test_mag_import_under_own_name_takes_config_from_bundle_then_continues(home, tmp_path):
    """The reported case, through the real CLI in separate processes."""
    env = {**os.environ, "MAGSTATION_CHECKPOINTS": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MAGSTATION_MANIFEST", None)
    run = lambda *a: subprocess.run([sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())", *a], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=600)
    r = run("models", "import", str(ATTENTION_MAG), "--name", "my-melodies")
    assert r.returncode == 0, r.stderr
    assert "config attention_rnn" in r.stdout and "melody_rnn" in r.stdout
    out = tmp_path / "cont.mid"
    r = run("melody", "continue", str(_primer(tmp_path)), "--model", "my-melodies", "--bars", "1",
            "--seed", "5", "-o", str(out))
    assert r.returncode == 0, r.stderr
    from engine.music.midi_io import read_midi
    assert len(read_midi(out).notes) > len(IN_RANGE)


# ---------------------------------------------------------------- (b) prefixes

def test_prefix_named_like_a_manifest_entry_installs_as_it(home, tmp_path):
    prefix = _prefix_copy(MEL, tmp_path / "downloads" / "somewhere", "cat-mel_2bar_big.ckpt")
    assert main(["models", "import", str(prefix)]) == 0
    info = ck.get_info("cat-mel_2bar_big")
    assert not info.custom and info.family == "musicvae"
    assert ck.resolve("cat-mel_2bar_big") == home / "cat-mel_2bar_big" / "cat-mel_2bar_big.ckpt"
    assert not (home / "somewhere").exists()


def test_prefix_under_own_name_takes_family_and_config_from_the_manifest(home, tmp_path):
    prefix = _prefix_copy(MEL, tmp_path / "x", "cat-mel_2bar_big.ckpt")
    ck.import_checkpoint(prefix, "my-mel")
    info = ck.get_info("my-mel")
    assert info.custom and (info.family, info.config) == ("musicvae", "cat-mel_2bar_big")
    # and a job can use it by name
    from engine.local import run_method
    res = run_method("melody.sample", {"model": "my-mel", "n": 2, "seed": 1,
                                       "folder": str(tmp_path)}, quiet=True)
    assert res["model"] == "my-mel" and len(res["files"]) == 2


# ---------------------------------------------------------------- (c) replacing

def test_import_over_an_installed_name_needs_force_and_a_copy_that_verifies(home, tmp_path, capsys):
    good = _prefix_copy(MEL, tmp_path / "good", "cat-mel_2bar_big.ckpt")
    ck.import_checkpoint(good)
    installed = ck.resolve("cat-mel_2bar_big")
    before = installed.with_suffix(".ckpt.data-00000-of-00001").read_bytes()

    # without --force: refused, naming the fix
    assert main(["models", "import", str(good)]) == 2
    err = capsys.readouterr().err
    assert "installed already" in err and "--force" in err
    with pytest.raises(BadRequest, match="--force"):
        ck.import_checkpoint(good)

    # a broken copy (data file cut short) with --force: refused, the working model kept
    broken = _prefix_copy(MEL, tmp_path / "broken", "cat-mel_2bar_big.ckpt")
    data = broken.with_name("cat-mel_2bar_big.ckpt.data-00000-of-00001")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    assert main(["models", "import", str(broken), "--force"]) == 2
    err = capsys.readouterr().err
    assert "does not verify" in err and "was kept" in err
    assert installed.with_suffix(".ckpt.data-00000-of-00001").read_bytes() == before
    assert _verifies("cat-mel_2bar_big")

    # a checkpoint of another model (drum variables) under the melody name: refused too
    wrong = _prefix_copy(DRUMS, tmp_path / "wrong", "cat-mel_2bar_big.ckpt")
    with pytest.raises(CheckpointError, match="missing"):
        ck.import_checkpoint(wrong, force=True)
    assert _verifies("cat-mel_2bar_big")

    # a good copy with --force replaces it, in one step, leaving nothing behind
    other = _prefix_copy(MEL, tmp_path / "other", "model.ckpt-99")
    assert main(["models", "import", str(other), "--name", "cat-mel_2bar_big", "--force"]) == 0
    assert ck.resolve("cat-mel_2bar_big").name == "model.ckpt-99"
    assert _verifies("cat-mel_2bar_big")
    assert _leftovers(home) == []


# ---------------------------------------------------------------- (d) folders

def test_folder_import_copies_links_inside_and_refuses_links_out(home, tmp_path):
    folder = tmp_path / "cat-mel_2bar_big"
    folder.mkdir()
    real = tmp_path / "elsewhere"
    _prefix_copy(MEL, real, "model.ckpt-1")
    # a link to a file inside the folder is copied as that file
    shutil.copy(real / "model.ckpt-1.index", folder / "model.ckpt-1.index")
    shutil.copy(real / "model.ckpt-1.data-00000-of-00001", folder / "data.bin")
    os.symlink("data.bin", folder / "model.ckpt-1.data-00000-of-00001")
    path = ck.import_checkpoint(folder)
    copied = path.with_name("model.ckpt-1.data-00000-of-00001")
    assert not copied.is_symlink() and copied.stat().st_size == (folder / "data.bin").stat().st_size
    assert _verifies("cat-mel_2bar_big")

    # a link to a file outside the folder: refused, naming the link
    out_link = tmp_path / "linked-out"
    out_link.mkdir()
    shutil.copy(real / "model.ckpt-1.index", out_link / "model.ckpt-1.index")
    os.symlink(real / "model.ckpt-1.data-00000-of-00001", out_link / "model.ckpt-1.data-00000-of-00001")
    with pytest.raises(BadInput, match="outside the folder being imported") as e:
        ck.import_checkpoint(out_link, "my-mel", family="musicvae", config="cat-mel_2bar_big")
    assert "model.ckpt-1.data-00000-of-00001" in e.value.message
    assert not (home / "my-mel").exists() and _leftovers(home) == []


@pytest.mark.parametrize("kind", ["loop", "fifo", "dangling"])
def test_folder_with_a_loop_fifo_or_dangling_link_is_named_not_a_traceback(home, tmp_path, capsys,
                                                                          kind):
    folder = tmp_path / "ckpt"
    _prefix_copy(MEL, folder, "model.ckpt-1")
    bad = folder / "sub" / "bad"
    bad.parent.mkdir()
    if kind == "loop":
        os.symlink("bad2", bad)
        os.symlink("bad", folder / "sub" / "bad2")
    elif kind == "fifo":
        os.mkfifo(bad)
    else:
        os.symlink("nothing-here", bad)
    # the real CLI: a clear message naming the file, exit status 2, no traceback
    assert main(["models", "import", str(folder), "--name", "my-mel", "--family", "musicvae",
                 "--config", "cat-mel_2bar_big"]) == 2
    err = capsys.readouterr().err
    assert str(folder / "sub") in err and "Traceback" not in err and "shutil" not in err
    assert {"loop": "loop", "fifo": "FIFO", "dangling": "dangling"}[kind] in err
    assert not (home / "my-mel").exists() and _leftovers(home) == []


# ---------------------------------------------------------------- (e) verify hints, remove

def test_verify_of_an_imported_model_says_how_to_import_again(home, tmp_path, capsys):
    # drum variables imported as a melody model under one's own name: verify fails
    src = _prefix_copy(DRUMS, tmp_path / "mine", "model.ckpt-5")
    ck.import_checkpoint(src, "my-mel", family="musicvae", config="cat-mel_2bar_big")
    assert main(["models", "verify", "my-mel"]) == 1
    out = capsys.readouterr().out
    assert "models pull" not in out
    assert f"magstation models import {src} --name my-mel --force" in out
    # an official name still says pull
    assert "models pull cat-mel_2bar_big --force" in ck.reinstall_hint(ck.get_info("cat-mel_2bar_big"))


def test_remove_deletes_imported_models_and_keeps_starter_ones(home, tmp_path, capsys):
    ck.import_checkpoint(ATTENTION_MAG, "my-melodies")
    assert main(["models", "remove", "my-melodies"]) == 0
    assert "removed" in capsys.readouterr().out
    assert ck.lookup("my-melodies") is None and _leftovers(home) == []
    with pytest.raises(BadRequest, match="ships with magstation"):
        ck.remove_model("starter-drums_2bar")
    assert Path(f"{ck.resolve('starter-drums_2bar')}.index").is_file()  # still there
    assert main(["models", "remove", "attention_rnn"]) == 2
    assert "not installed" in capsys.readouterr().err


# ---------------------------------------------------------------- (f) sizes

def test_list_shows_measured_sizes_and_marks_estimates(home, capsys):
    info = ck.get_info("cat-mel_2bar_big")
    assert info.size == 1_614_853_192 and not info.size_estimated
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    mel = next(ln for ln in lines if ln.startswith("cat-mel_2bar_big "))
    trio = next(ln for ln in lines if ln.startswith("hierdec-trio_16bar "))
    assert "1.6 GB" in mel and "~" not in mel.split("not installed")[0]
    assert "~2.0 GB" in trio
    assert any(ln.startswith("~ size estimated") for ln in lines)


# ---------------------------------------------------------------- roles

def test_roles_pick_the_first_installed_model_then_the_starter(home, tmp_path, capsys):
    fall = ck.resolve_model(None, "drums.sample")
    assert fall.name == "starter-drums_2bar" and fall.fallback
    ck.import_checkpoint(DRUMS, "cat-drums_2bar_small.hikl")
    chosen = ck.resolve_model(None, "drums.sample")
    assert chosen.name == "cat-drums_2bar_small.hikl" and not chosen.fallback
    assert chosen.config == "cat-drums_2bar_small"
    # a model named in the request wins over the role
    from engine.api.base import ModelChoice
    assert ck.resolve_model(ModelChoice(model="starter-drums_2bar"), "drums.sample").name == \
        "starter-drums_2bar"
    # listed with what uses it
    assert main(["models", "roles"]) == 0
    out = capsys.readouterr().out
    assert "cat-drums_2bar_small.hikl *" in out.splitlines()[[ln.split()[0] for ln in out.splitlines()].index("drums.sample")]
    row = next(r for r in ck.list_checkpoints() if r.info.name == "cat-drums_2bar_small.hikl")
    assert set(row.to_dict()["roles"]) == {"drums.sample", "drums.interpolate"}
    # what a pane's chooser lists: the role's models in order, installed or not
    choices = ck.role_choices("drums.sample")
    assert [(c.info.name, c.installed) for c in choices] == [
        ("cat-drums_2bar_small.lokl", False), ("cat-drums_2bar_small.hikl", True),
        ("nade-drums_2bar_full", False), ("starter-drums_2bar", True)]
    with pytest.raises(BadRequest, match="known roles"):
        ck.resolve_model(None, "no.such.role")


def test_a_starter_fallback_is_one_manifest_entry(home, tmp_path, monkeypatch):
    """A starter model is one entry with fallback_for (starter-cat-mel_2bar is); a second
    one for the same role comes after it."""
    text = (ROOT / "checkpoints" / "manifest").read_text()
    entry = ('\n[[checkpoint]]\nname = "starter-test-mel"\nfamily = "musicvae"\n'
             'config = "cat-drums_2bar_small"\npath = "starter/starter-drums_2bar"\n'
             'files = ["*.index"]\nfallback_for = ["melody.sample"]\n')
    head, roles = text.split("\n[roles]", 1)
    manifest = tmp_path / "manifest"
    manifest.write_text(head + entry + "\n[roles]" + roles)
    monkeypatch.setenv("MAGSTATION_MANIFEST", str(manifest))
    assert ck.role_models("melody.sample") == ("cat-mel_2bar_big", "starter-cat-mel_2bar",
                                               "starter-test-mel")
    m = ck.resolve_model(None, "melody.sample")
    assert m.name == "starter-cat-mel_2bar" and m.fallback
    # an official model, once installed, comes first again
    ck.import_checkpoint(_prefix_copy(MEL, tmp_path / "m", "cat-mel_2bar_big.ckpt"))
    assert ck.resolve_model(None, "melody.sample").name == "cat-mel_2bar_big"
