"""Trios (hierdec-trio_16bar) and melody chains on the real MusicVAE code with the small
fixture checkpoints of tests/fixtures/musicvae (official variable names, made by Magenta;
the model itself is checked against Magenta's goldens in test_musicvae_parity.py). There
are no Magenta goldens for whole generated files, so these tests check their structure
(three parts, 16 bars, drums on channel 10) and that a seed reproduces them."""

from __future__ import annotations

import subprocess
import sys

import mido
import pretty_midi
import pytest
from note_seq import NoteSequence

from engine.errors import BadRequest, ModelNotInstalled
from engine.local import run_method
from engine.music.midi_io import write_midi
from tests.conftest import ROOT

FIX = ROOT / "tests" / "fixtures" / "musicvae"
TRIO = {"checkpoint": str(FIX / "hierdec-trio_16bar"), "config": "hierdec-trio_16bar"}
MEL = {"checkpoint": str(FIX / "cat-mel_2bar_big"), "config": "cat-mel_2bar_big"}
CLI = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]


def run(method, **params):
    return run_method(method, params, quiet=True)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def fixture_trio(i: int, folder) -> str:
    """The fixture's input trio i (a NoteSequence Magenta converted) as a MIDI file."""
    ns = NoteSequence.FromString((FIX / "hierdec-trio_16bar" / f"input_{i}.pb").read_bytes())
    return str(write_midi(ns, folder / f"trio{i}.mid"))


def assert_trio_file(path, qpm: float = 120.0, bars: int = 16) -> None:
    """Three parts (melody program 0, bass program 33, drums) of `bars` bars of 4/4, the
    drums on MIDI channel 10 and nothing else there."""
    pm = pretty_midi.PrettyMIDI(str(path))
    parts = sorted((i.is_drum, i.program) for i in pm.instruments if i.notes)
    assert parts == [(False, 0), (False, 33), (True, 0)], parts
    bar = 4 * 60.0 / qpm
    assert max(n.end for i in pm.instruments for n in i.notes) <= bars * bar + 1e-6
    assert max(n.start for i in pm.instruments for n in i.notes) >= (bars - 1) * bar - 1e-6
    channels = {}
    for track in mido.MidiFile(str(path)).tracks:
        for msg in track:
            if msg.type == "note_on":
                channels.setdefault(msg.channel, set()).add(msg.note)
    drums = {n.pitch for i in pm.instruments if i.is_drum for n in i.notes}
    assert channels[9] == drums


def test_cli_trio_sample_writes_three_parts_of_16_bars(tmp_path):
    out = cli("trio", "sample", "-n", "2", "--seed", "41", "--qpm", "100",
              "--checkpoint", TRIO["checkpoint"], "--config", TRIO["config"], "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "seed: 41" in out.stdout
    files = sorted(tmp_path.glob("*.mid"))
    assert [f.name for f in files] == ["trio_hierdec-trio-16bar_seed41_sample1.mid",
                                       "trio_hierdec-trio-16bar_seed41_sample2.mid"]
    for f in files:
        assert_trio_file(f, qpm=100.0)
        assert str(f) in out.stdout


def test_trio_sample_is_reproducible_by_seed(tmp_path):
    runs = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        (tmp_path / label).mkdir()
        r = run("trio.sample", seed=seed, temperature=1.0, folder=str(tmp_path / label), **TRIO)
        runs[label] = open(r["files"][0]["path"], "rb").read()
    assert runs["a"] == runs["b"] and runs["a"] != runs["c"]


def test_cli_trio_interpolate_between_files_ends_and_joins(tmp_path):
    a, b = fixture_trio(0, tmp_path), fixture_trio(1, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = cli("trio", "interpolate", a, b, "--steps", "3", "--seed", "3", "--join",
              "--checkpoint", TRIO["checkpoint"], "--config", TRIO["config"], "-o", str(out_dir))
    assert out.returncode == 0, out.stderr
    steps = sorted(out_dir.glob("*_step*.mid"))
    assert len(steps) == 3
    for f in steps:
        assert_trio_file(f)
    chain = out_dir / "trio_hierdec-trio-16bar_seed3_chain.mid"
    assert "(the whole chain)" in out.stdout and chain.exists()
    assert_trio_file(chain, bars=48)
    notes = sum(len(i.notes) for f in steps for i in pretty_midi.PrettyMIDI(str(f)).instruments)
    assert sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(chain)).instruments) == notes


def test_trio_interpolate_random_ends_and_bad_ends(tmp_path):
    r1 = run("trio.interpolate", steps=2, seed=9, folder=str(tmp_path / "1"), **TRIO)
    r2 = run("trio.interpolate", steps=2, seed=9, folder=str(tmp_path / "2"), overwrite=True,
             **TRIO)
    assert len(r1["files"]) == 2 and "joined" not in r1
    for f1, f2 in zip(r1["files"], r2["files"]):
        assert_trio_file(f1["path"])
        assert open(f1["path"], "rb").read() == open(f2["path"], "rb").read()
    with pytest.raises(BadRequest) as e:
        run("trio.interpolate", a=fixture_trio(0, tmp_path), folder=str(tmp_path), **TRIO)
    assert e.value.details.get("param") == "b" and "both ends" in str(e.value)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    piano.notes += [pretty_midi.Note(90, 60 + i % 5, i * 0.5, i * 0.5 + 0.4) for i in range(64)]
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "mel.mid"))
    with pytest.raises(BadRequest) as e:
        run("trio.interpolate", a=str(tmp_path / "mel.mid"), b=fixture_trio(1, tmp_path),
            folder=str(tmp_path), overwrite=True, **TRIO)
    assert "mel.mid" in str(e.value) and "bass" in str(e.value)


def test_trio_without_the_model_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "ckpts"))
    with pytest.raises(ModelNotInstalled) as e:
        run("trio.sample", folder=str(tmp_path))
    assert "hierdec-trio_16bar" in str(e.value)


def test_melody_interpolate_random_ends_joined(tmp_path):
    r = run("melody.interpolate", steps=3, seed=4, qpm=90, join=True, folder=str(tmp_path), **MEL)
    assert len(r["files"]) == 3 and r["qpm"] == 90
    chain = pretty_midi.PrettyMIDI(r["joined"]["path"])
    assert r["joined"]["notes"] == sum(f["notes"] for f in r["files"])
    assert chain.get_end_time() <= 3 * 2 * 4 * 60 / 90 + 1e-6  # three 2-bar slots
