"""The engine methods behind the arrangement timeline, run in-process on the GANSynth
fixture checkpoint: reading MIDI for the piano roll, rendering chosen tracks with user
keyframes, random instrument latents and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from engine.context import JobContext
from engine.errors import BadInput, BadRequest, OutputExists
from engine.handlers import gansynth, timeline
from engine.model_pool import POOL
from engine.models import pooled
from engine.models.gansynth import GANSynth, NoteCache
from engine.music.midi_io import read_midi

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "gansynth"
CKPT = FIX / "tiny_ckpt"
SHIPPED = ROOT / "midi" / "cs1-1pre-short.mid"


def two_track_midi(path: Path) -> Path:
    """Track 0: a C4 at 0 s and an out-of-range C1 at 2 s; track 1: an E4 at 1 s;
    track 2: a drum hit."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    a = pretty_midi.Instrument(program=0, name="piano")
    a.notes += [pretty_midi.Note(100, 60, 0.0, 0.5), pretty_midi.Note(90, 12, 2.0, 2.5)]
    b = pretty_midi.Instrument(program=40, name="violin")
    b.notes += [pretty_midi.Note(80, 64, 1.0, 1.5)]
    d = pretty_midi.Instrument(program=0, is_drum=True, name="kit")
    d.notes += [pretty_midi.Note(100, 36, 0.0, 0.1)]
    pm.instruments += [a, b, d]
    pm.write(str(path))
    return path


@pytest.fixture(scope="module")
def loaded_model():
    return GANSynth.load(CKPT, cache=NoteCache())


@pytest.fixture
def fresh_model(loaded_model):
    """The fixture model with an empty note cache, installed as the handler's model."""
    loaded_model.cache.clear()
    POOL.put(pooled.gansynth_key(CKPT), loaded_model)
    yield loaded_model
    POOL.discard(lambda k: k == pooled.gansynth_key(CKPT))


def test_load_midi_lists_tracks_notes_tempo(tmp_path):
    res = timeline.load_midi({"path": str(two_track_midi(tmp_path / "a.mid"))}, JobContext())
    assert [(t["index"], t["name"], t["program"], t["is_drum"], t["notes"]) for t in res["tracks"]] \
        == [(0, "piano", 0, False, 2), (1, "violin", 40, False, 1), (2, "kit", 0, True, 1)]
    assert sorted(n[2] for n in res["notes"]) == [12, 36, 60, 64]
    assert [0.0, 0.5, 60, 100, 0] in res["notes"]
    assert res["qpm"] == pytest.approx(120) and res["time_signature"] == [4, 4]
    assert res["bar_seconds"] == pytest.approx(2.0) and res["total_time"] == pytest.approx(2.5)

    shipped = timeline.load_midi({"path": str(SHIPPED)}, JobContext())
    assert len(shipped["notes"]) == 210 and len(shipped["tracks"]) == 3
    assert shipped["total_time"] == pytest.approx(28.0, abs=0.01)


def test_load_midi_bad_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd nonsense")
    with pytest.raises(BadInput, match="broken.mid"):
        timeline.load_midi({"path": str(bad)}, JobContext())
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="empty.mid.*empty"):
        timeline.load_midi({"path": str(empty)}, JobContext())
    silent = tmp_path / "silent.mid"
    pretty_midi.PrettyMIDI().write(str(silent))
    with pytest.raises(BadInput, match="silent.mid.*no notes"):
        timeline.load_midi({"path": str(silent)}, JobContext())
    with pytest.raises(BadInput, match="nope.mid"):
        timeline.load_midi({"path": str(tmp_path / "nope.mid")}, JobContext())
    with pytest.raises(BadRequest):
        timeline.load_midi({}, JobContext())


def test_render_chosen_tracks_with_keyframes(tmp_path, fresh_model):
    midi = two_track_midi(tmp_path / "a.mid")
    keys = [{"time": 0.0, "seed": 1}, {"time": 1.0, "seed": 2, "name": "brass"},
            {"time": 2.0, "seed": 3}]
    res = gansynth.render({"midi": str(midi), "checkpoint": str(CKPT), "tracks": [0],
                           "keyframes": keys, "output": "r.wav"}, JobContext(work_dir=tmp_path))
    assert res["tracks"] == [0] and res["notes"] == 2 and res["notes_rendered"] == 2
    assert any("pitch 12" in w and "24" in w for w in res["warnings"])  # shown, not dropped
    audio, sr = sf.read(res["path"], dtype="float32")
    # Magenta's clip length: int(last note end + 3 s) seconds
    assert sr == 16000 and len(audio) == int(2.5 + 3) * 16000
    assert np.abs(audio[:8000]).max() > 0.01 and np.abs(audio[2 * 16000:int(2.5 * 16000)]).max() > 0.01
    # the MIDI that goes with it: only the chosen track, pitches as played
    played = read_midi(res["midi_path"])
    assert sorted(n.pitch for n in played.notes) == [24, 60]

    # all pitched tracks; the drum track is skipped with a warning unless asked for
    res = gansynth.render({"midi": str(midi), "checkpoint": str(CKPT), "keyframes": keys,
                           "output": "all.wav"}, JobContext(work_dir=tmp_path))
    assert res["notes"] == 3 and (res["notes_rendered"], res["notes_cached"]) == (1, 2)
    assert any("drum" in w for w in res["warnings"])
    with pytest.raises(BadRequest, match="track 7"):
        gansynth.render({"midi": str(midi), "checkpoint": str(CKPT), "tracks": [7]},
                        JobContext(work_dir=tmp_path))
    with pytest.raises(BadRequest, match="pitched track"):
        gansynth.render({"midi": str(midi), "checkpoint": str(CKPT), "tracks": [2]},
                        JobContext(work_dir=tmp_path))
    with pytest.raises(BadRequest, match="two keyframes"):
        gansynth.render({"midi": str(midi), "checkpoint": str(CKPT),
                         "keyframes": [{"time": 1, "seed": 1}, {"time": 1, "seed": 2}]},
                        JobContext(work_dir=tmp_path))


def test_moving_a_keyframe_rerenders_only_its_segment(tmp_path, fresh_model):
    midi = two_track_midi(tmp_path / "a.mid")
    base = {"midi": str(midi), "checkpoint": str(CKPT), "tracks": [0, 1]}
    keys = [{"time": 0.0, "seed": 1}, {"time": 1.5, "seed": 2}, {"time": 3.0, "seed": 3}]
    first = gansynth.render({**base, "keyframes": keys}, JobContext(work_dir=tmp_path))
    assert (first["notes_rendered"], first["notes_cached"]) == (3, 0)
    # Moving the last keyframe changes the note at 2 s only (segment 1.5-3 s).
    moved = [keys[0], keys[1], {"time": 3.5, "seed": 3}]
    again = gansynth.render({**base, "keyframes": moved}, JobContext(work_dir=tmp_path))
    assert (again["notes_rendered"], again["notes_cached"]) == (1, 2)
    # Notes outside the keyframes hold the nearest one (no extrapolation): a first
    # keyframe at 0.5 s gives the note at 0 s exactly seed 1's instrument.
    held = gansynth.render({**base, "keyframes": [{"time": 0.5, "seed": 1}, keys[1], keys[2]]},
                           JobContext(work_dir=tmp_path))
    assert held["notes_rendered"] == 1  # the note at 1 s moved within its segment; 0 s did not


def test_random_z_matches_seed_keyframes(tmp_path, fresh_model):
    z = gansynth.random_z({"seed": 5}, JobContext())["z"][0]
    np.testing.assert_array_equal(np.float32(z), fresh_model.random_instruments(1, 5)[0])
    midi = two_track_midi(tmp_path / "a.mid")
    base = {"midi": str(midi), "checkpoint": str(CKPT), "tracks": [0]}
    a = gansynth.render({**base, "keyframes": [{"time": 0, "seed": 5}]}, JobContext(work_dir=tmp_path))
    b = gansynth.render({**base, "keyframes": [{"time": 0, "z": z}], "output": "z.wav"},
                        JobContext(work_dir=tmp_path))
    assert a["notes_rendered"] == 2 and b["notes_cached"] == 2  # the same instrument
    with pytest.raises(BadRequest):
        gansynth.random_z({"seed": -1}, JobContext())


def test_export_writes_wav_and_midi_and_refuses_to_overwrite(tmp_path, fresh_model):
    midi = two_track_midi(tmp_path / "a.mid")
    res = gansynth.render({"midi": str(midi), "checkpoint": str(CKPT), "tracks": [0, 1],
                           "keyframes": [{"time": 0, "seed": 4}]}, JobContext(work_dir=tmp_path / "job"))
    out = tmp_path / "exports"
    params = {"path": res["path"], "midi_path": res["midi_path"], "folder": str(out), "name": "song"}
    got = timeline.export(params, JobContext())
    assert got["files"] == [str(out / "song.wav"), str(out / "song.mid")]
    audio, sr = sf.read(out / "song.wav", dtype="float32")
    rendered, _ = sf.read(res["path"], dtype="float32")
    assert sr == 16000 and np.array_equal(audio, rendered)
    assert len(read_midi(out / "song.mid").notes) == 3
    (out / "song.wav").write_bytes(b"mine")
    with pytest.raises(OutputExists, match="song.wav"):
        timeline.export(params, JobContext())
    assert (out / "song.wav").read_bytes() == b"mine"  # untouched
    timeline.export({**params, "overwrite": True, "rate": 44100}, JobContext())
    assert sf.info(out / "song.wav").samplerate == 44100
    with pytest.raises(BadRequest):
        timeline.export({**params, "name": "../x"}, JobContext())


def test_cli_render_by_model_name_and_tracks(tmp_path, monkeypatch, capsys):
    """`magstation gansynth render --model NAME` finds the checkpoint through
    engine.checkpoints; a missing model prints the pull command."""
    import argparse
    import shutil

    from engine.commands import gansynth as cmd

    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "ck"))
    shutil.copytree(CKPT, tmp_path / "ck" / "gansynth-acoustic_only" / "acoustic_only")
    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    midi = two_track_midi(tmp_path / "a.mid")
    out = tmp_path / "out.wav"
    args = parser.parse_args(["gansynth", "render", str(midi), "-o", str(out),
                              "--model", "gansynth-acoustic_only", "--tracks", "1"])
    assert args.func(args) == 0
    assert "1 notes" in capsys.readouterr().out
    assert sf.info(out).frames == int(1.5 + 3) * 16000
    args = parser.parse_args(["gansynth", "render", str(midi), "-o", str(out),
                              "--model", "all_instruments"])
    assert args.func(args) == 1
    assert "magstation models pull gansynth-all_instruments" in capsys.readouterr().err
    args = parser.parse_args(["gansynth", "tracks", str(midi)])
    assert args.func(args) == 0
    listing = capsys.readouterr().out
    assert "violin" in listing and "drums" in listing


def test_save_midi_adds_notes_to_a_track_and_a_new_one(tmp_path):
    src = two_track_midi(tmp_path / "a.mid")
    out = tmp_path / "edit" / "a_edited.mid"
    out.parent.mkdir()  # save_midi makes no folders outside the engine's home (pathpolicy)
    add = [[3.0, 3.5, 67, 90, 1], [4.0, 4.25, 72, 80, 5]]
    res = timeline.save_midi({"midi": str(src), "add": add, "path": str(out)}, JobContext())
    assert res == {"path": str(out), "notes": 6}
    back = timeline.load_midi({"path": str(out)}, JobContext())
    assert [0.0, 0.5, 60, 100, 0] in back["notes"]  # the file's notes are kept
    assert [(t["index"], t["program"], t["is_drum"], t["notes"]) for t in back["tracks"]] == [
        (0, 0, False, 2), (1, 40, False, 2), (2, 0, True, 1), (3, 0, False, 1)]
    # track 1 keeps its violin; a track the file lacks is a new piano track after the others
    assert sorted(n[2] for n in back["notes"] if n[4] == 1) == [64, 67]
    assert back["total_time"] == pytest.approx(4.25)
    for bad in ({"midi": str(src), "add": [[1, 0, 60, 90, 0]], "path": str(out)},
                {"midi": str(src), "add": [[0, 1, 60, 90]], "path": str(out)},
                {"midi": str(src), "add": []}):
        with pytest.raises(BadRequest):
            timeline.save_midi(bad, JobContext())
