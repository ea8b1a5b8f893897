"""Drum tools a drummer trusts (#20), checked from the user's side: A→B starts on A and ends
on B, humanize keeps your hits across a whole 16-bar groove, long files are read whole (and
what is dropped is said), exported MIDI is one drum track, exports are whole or nothing,
and every pattern says where it came from."""

from __future__ import annotations

import subprocess
import sys

import mido
import numpy as np
import pretty_midi
import pytest

from engine.errors import BadInput, ModelNotInstalled
from tests.conftest import ROOT
from tests.test_drum_jobs import DRUMS, GROOVE, TAP, four_on_the_floor, notes, run


CLI = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]


def groove_16_bars(path, qpm: float = 100.0, extra_pitch: int | None = None) -> np.ndarray:
    """A played 16-bar groove (kick, snare, hats, a fill every 4 bars, a crash at the top)
    with human velocities and timing, as the Groove MIDI Dataset has them. Returns the
    [9, 256] grid of hits that was written."""
    rng = np.random.default_rng(0)
    step = 60.0 / qpm / 4
    inst = pretty_midi.Instrument(program=0, is_drum=True)
    hits = np.zeros((9, 256), bool)

    def hit(cls: int, pitch: int, s: int) -> None:
        hits[cls, s] = True
        t = max(0.0, (s + rng.uniform(-0.3, 0.3)) * step)
        inst.notes.append(pretty_midi.Note(int(rng.integers(50, 120)), pitch, t, t + step))

    for bar in range(16):
        b = bar * 16
        for s in (0, 6, 8) if bar % 2 else (0, 8, 10):
            hit(0, 36, b + s)
        for s in (4, 12):
            hit(1, 38, b + s)
        for s in range(0, 16, 2):
            if not (bar % 4 == 3 and s >= 12):
                hit(2, 42, b + s)
        if bar % 4 == 3:
            hit(4, 45, b + 13), hit(5, 48, b + 14), hit(6, 50, b + 15)
        if bar % 4 == 0:
            hit(7, 49, b)
    if extra_pitch is not None:
        inst.notes.append(pretty_midi.Note(90, extra_pitch, 0.0, step))
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    pm.instruments.append(inst)
    pm.write(str(path))
    return hits


def joined(patterns: list[dict]) -> np.ndarray:
    return np.concatenate([np.array(p["velocities"]) for p in patterns], axis=1)


# -- A→B starts on A and ends on B ---------------------------------------------------------

def test_the_chain_starts_on_a_and_ends_on_b_as_you_made_them():
    a, b = run("drums.sample", n=2, seed=3, **DRUMS)["patterns"]
    a["velocities"][0][0] = 127  # a hand edit the model would not reproduce
    b["offsets"] = [[0.0] * 32 for _ in range(9)]
    b["velocities"][1][5] = 33
    b["offsets"][1][5] = 0.2
    chain = run("drums.interpolate", a=a, b=b, steps=5, seed=9, temperature=0.1, **DRUMS)
    pats = chain["patterns"]
    assert len(pats) == 5 and chain["ends"] == "yours"
    assert notes([pats[0], pats[-1]]) == notes([a, b])
    assert pats[0]["provenance"] == a["provenance"]  # A is still the sample it was
    assert [p["provenance"]["mode"] for p in pats[1:-1]] == ["between"] * 3
    assert pats[2]["provenance"]["seed"] == 9 and pats[2]["provenance"]["index"] == 2

    model = run("drums.interpolate", a=a, b=b, steps=5, seed=9, temperature=0.1, ends="model",
                **DRUMS)["patterns"]
    assert notes(model[1:-1]) == notes(pats[1:-1])  # the same steps between
    assert model[0]["provenance"]["mode"] == "reconstruction"  # labelled as the model's
    assert model[-1]["provenance"]["mode"] == "reconstruction"
    assert model[0]["velocities"] != a["velocities"]  # the model's idea of A, not A


def test_cli_interpolate_starts_on_the_file_a(tmp_path):
    for name, seed in (("a", 3), ("b", 4)):
        pats = run("drums.sample", n=1, seed=seed, **DRUMS)["patterns"]
        run("drums.export", patterns=pats, folder=str(tmp_path), name=name)
    out = subprocess.run([*CLI, "drums", "interpolate",
                          str(tmp_path / "a-pattern.mid"), str(tmp_path / "b-pattern.mid"),
                          "--steps", "3", "--seed", "5", "--checkpoint", DRUMS["checkpoint"],
                          "--config", DRUMS["config"], "-o", str(tmp_path / "out")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ends: a and b as given" in out.stdout
    first = sorted((tmp_path / "out").glob("*pattern1.mid"))[0]
    a_notes = pretty_midi.PrettyMIDI(str(tmp_path / "a-pattern.mid")).instruments[0].notes
    first_notes = pretty_midi.PrettyMIDI(str(first)).instruments[0].notes
    assert sorted((n.pitch, round(n.start, 3)) for n in first_notes) == \
        sorted((n.pitch, round(n.start, 3)) for n in a_notes)


# -- humanize keeps your hits, across all of a 16-bar groove -------------------------------

def test_keep_hits_humanize_keeps_every_hit_of_a_16_bar_groove(tmp_path):
    written = groove_16_bars(tmp_path / "groove.mid")
    read = run("drums.import_midi", path=str(tmp_path / "groove.mid"))
    assert len(read["patterns"]) == 8 and read["bars"] == 16 and read["warnings"] == []
    assert (joined(read["patterns"]) > 0).tolist() == written.tolist()
    for p in read["patterns"]:  # the played feel is not what humanize is given
        p["offsets"] = None
        for row in p["velocities"]:
            row[:] = [80 if v else 0 for v in row]

    out = run("drums.humanize", patterns=read["patterns"], seed=4, **GROOVE)
    assert len(out["patterns"]) == 8 and out["keep_hits"] is True
    vel = joined(out["patterns"])
    assert ((vel > 0) == written).all()  # not one hit dropped, moved or added
    assert len(np.unique(vel[written])) > 5  # ... but played, not flat
    offs = np.concatenate([np.array(p["offsets"]) for p in out["patterns"]], axis=1)
    assert np.abs(offs[written]).max() > 0 and (offs[~written] == 0).all()
    assert out["patterns"][3]["provenance"]["mode"] == "keep-hits"

    # one 16-bar pattern is humanized 2 bars at a time and comes back 16 bars long
    whole = {"velocities": (written * 80).tolist(), "qpm": 100}
    one = run("drums.humanize", pattern=whole, seed=4, **GROOVE)["patterns"]
    assert len(one) == 1 and np.array(one[0]["velocities"]).shape == (9, 256)
    assert ((np.array(one[0]["velocities"]) > 0) == written).all()
    assert one[0]["velocities"] == vel.tolist()  # the same as the chain

    free = run("drums.humanize", patterns=read["patterns"], seed=4, keep_hits=False, **GROOVE)
    assert free["keep_hits"] is False and free["patterns"][0]["provenance"]["mode"] == "free"


def test_cli_humanize_writes_the_whole_file_with_every_hit(tmp_path):
    written = groove_16_bars(tmp_path / "groove.mid", qpm=100)
    out = subprocess.run([*CLI, "drums", "humanize",
                          str(tmp_path / "groove.mid"), "--seed", "4",
                          "--checkpoint", GROOVE["checkpoint"], "--config", GROOVE["config"],
                          "-o", str(tmp_path / "out")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "16 bars" in out.stdout and "keeps your hits" in out.stdout
    files = sorted((tmp_path / "out").glob("*.mid"))
    assert len(files) == 1
    pm = pretty_midi.PrettyMIDI(str(files[0]))
    assert pm.get_end_time() > 16 * 4 * 60 / 100 - 0.5  # 38.4 s, not the first 2 bars
    assert len(pm.instruments) == 1 and len(pm.instruments[0].notes) == int(written.sum())


def test_tap_keeps_your_rhythm():
    taps = [0] * 32
    for s in (0, 3, 6, 8, 12, 14, 16, 19, 22, 24, 28):
        taps[s] = 100
    pat = {"velocities": [[0] * 32] * 2 + [taps] + [[0] * 32] * 6}
    out = run("drums.tap", pattern=pat, seed=2, **TAP)["patterns"][0]
    played = (np.array(out["velocities"]) > 0).any(axis=0)
    assert played.tolist() == [bool(t) for t in taps]  # every tap played, nothing else
    free = run("drums.tap", pattern=pat, seed=2, keep_hits=False, **TAP)["patterns"][0]
    assert free["provenance"]["mode"] == "free" and out["provenance"]["mode"] == "keep-hits"


# -- whole files, and what is left out is said ---------------------------------------------

def test_import_says_what_it_leaves_out(tmp_path):
    groove_16_bars(tmp_path / "groove.mid", extra_pitch=20)
    part = run("drums.import_midi", path=str(tmp_path / "groove.mid"), max_bars=4)
    assert len(part["patterns"]) == 2
    assert any("bars 1-4 of 16" in w and "left out" in w for w in part["warnings"])
    assert any("pitches 20" in w for w in part["warnings"])
    assert part["patterns"][1]["provenance"]["sources"] == ["groove.mid bars 3-4"]


# -- exports: one drum track; whole or nothing; names from the pattern ------------------------

def test_exported_midi_is_one_drum_track_with_tempo_and_meter(tmp_path):
    res = run("drums.export", patterns=[four_on_the_floor(93)], folder=str(tmp_path))
    mf = mido.MidiFile(res["files"][0])
    assert len(mf.tracks) == 2
    meta = [m.type for m in mf.tracks[0]]
    assert meta == ["set_tempo", "time_signature", "end_of_track"]
    assert mido.tempo2bpm(mf.tracks[0][0].tempo) == pytest.approx(93, abs=0.01)
    msgs = [m for m in mf.tracks[1] if not m.is_meta]
    assert msgs and {m.type for m in msgs} == {"note_on", "note_off"}
    assert {m.channel for m in msgs} == {9}  # channel 10
    pm = pretty_midi.PrettyMIDI(res["files"][0])
    assert len(pm.instruments) == 1 and pm.instruments[0].is_drum


def test_an_export_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    with pytest.raises(BadInput, match="no such SoundFont"):
        run("drums.export", patterns=[four_on_the_floor()], folder=str(tmp_path), wav=True,
            soundfont=str(tmp_path / "gone.sf2"))
    assert list(tmp_path.iterdir()) == []

    import engine.audio.drum_kit as kit

    def broken(*a, **k):
        raise RuntimeError("the render failed")
    monkeypatch.setattr(kit, "render_drums", broken)
    with pytest.raises(Exception, match="render failed"):
        run("drums.export", patterns=[four_on_the_floor()], folder=str(tmp_path), wav=True)
    assert list(tmp_path.iterdir()) == []  # not the MIDI without its WAV, no leftovers


def test_export_names_come_from_the_pattern(tmp_path):
    pats = run("drums.sample", n=1, seed=31, **DRUMS)["patterns"]
    human = run("drums.humanize", patterns=pats, seed=77, **GROOVE)["patterns"]
    a = run("drums.export", patterns=pats, folder=str(tmp_path))["files"][0]
    b = run("drums.export", patterns=human, folder=str(tmp_path))["files"][0]
    assert "seed31" in a and "cat-drums" in a
    assert "seed77" in b and "groovae" in b


def test_check_says_what_is_missing_before_you_type(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "ckpts"))
    with pytest.raises(ModelNotInstalled, match="models pull groovae_2bar_tap_fixed_velocity"):
        run("drums.check", action="tap")
    assert run("drums.check", action="tap", **TAP)["model"]
    with pytest.raises(ModelNotInstalled, match="no checkpoint"):
        run("drums.check", action="tap", checkpoint=str(tmp_path / "nope"), config=TAP["config"])
    with pytest.raises(BadInput, match="no such SoundFont"):
        run("drums.check", soundfont=str(tmp_path / "kit.sf2"))
    (tmp_path / "bad.sf2").write_bytes(b"not a soundfont")
    with pytest.raises(BadInput, match="not a SoundFont"):
        run("drums.check", soundfont=str(tmp_path / "bad.sf2"))
