"""Our MusicVAE/GrooVAE data converters against magenta's own (goldens made by
tests/reference/make_converter_goldens.py), plus grids, taps and MIDI files."""

from __future__ import annotations

import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from note_seq import NoteSequence

from engine.errors import BadInput
from engine.music import drums as dm
from engine.music.converters import converter_for
from engine.music.grids import DrumGrid, DrumsConverter, grid_to_onehot, grid_to_roll, onehot_to_grid
from engine.music.groove import GrooveConverter, grid_to_groove, groove_to_grid, tap_input, taps_from_sequence
from engine.music.melody import NUM_MELODY_CLASSES, MelodyConverter, decode_event, encode_event
from engine.music.midi_io import read_midi, write_midi
from engine.music.sequences import DroppedNotesWarning, change_tempo, qpm_of

FIX = Path(__file__).parent / "fixtures" / "converters"


def _load(name):
    with np.load(FIX / name) as z:
        return {k: z[k] for k in z.files}


GOLDENS = {name: _load(f"{name}.npz") for name in ("drums", "groove", "melody", "trio")}
# Magenta de-duplicates drum and melody windows through a set: compare those as sets.
UNORDERED = {"drums", "melody"}


def _ns(arr) -> NoteSequence:
    return NoteSequence.FromString(arr.tobytes())


def _cases():
    for fam, g in GOLDENS.items():
        for case, conv in zip(g["cases"], g["converters"]):
            yield pytest.param(fam, str(case), str(conv), id=str(case))


def _converter(key):
    conv = converter_for(key)
    if hasattr(conv, "max_tensors"):
        conv.max_tensors = None  # the goldens keep every window
    return conv


def _as_sorted(stack):
    return sorted(np.ascontiguousarray(w).tobytes() for w in stack)


def _notes(ns):
    return sorted((n.pitch, n.velocity, round(n.start_time, 6), round(n.end_time, 6),
                   n.instrument, n.program, n.is_drum) for n in ns.notes)


@pytest.mark.parametrize("fam,case,key", list(_cases()))
def test_to_tensors_matches_magenta(fam, case, key):
    g = GOLDENS[fam]
    conv = _converter(key)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = conv.to_tensors(_ns(g[f"{case}__input_ns"]))
    want_in, want_out = g[f"{case}__inputs"], g[f"{case}__outputs"]
    assert len(t) == len(want_in)
    if not len(t):
        return
    got_in, got_out = np.array(t.inputs), np.array(t.outputs)
    assert got_in.shape == want_in.shape and got_out.shape == want_out.shape
    if fam == "groove":
        np.testing.assert_allclose(got_in, want_in, atol=1e-6)
        np.testing.assert_allclose(got_out, want_out, atol=1e-6)
    elif fam in UNORDERED:
        assert _as_sorted(got_in.astype(bool)) == _as_sorted(want_in.astype(bool))
        assert _as_sorted(got_out.astype(bool)) == _as_sorted(want_out.astype(bool))
    else:
        np.testing.assert_array_equal(got_in, want_in)
        np.testing.assert_array_equal(got_out, want_out)
    if "unknown" in case or ("extras" in case and fam != "melody" and "nade" not in key):
        assert any(issubclass(w.category, DroppedNotesWarning) for w in caught), case


@pytest.mark.parametrize("fam,case,key", list(_cases()))
def test_from_tensors_matches_magenta(fam, case, key):
    g = GOLDENS[fam]
    if f"{case}__rt_tensors" not in g:
        pytest.skip("no round trip for an input magenta cannot convert")
    conv = _converter(key)
    samples = g[f"{case}__rt_tensors"]
    ours = conv.from_tensors(samples)
    for k, got in enumerate(ours):
        want = _ns(g[f"{case}__rt_ns_{k}"])
        assert _notes(got) == _notes(want), (case, k)
        assert [t.qpm for t in got.tempos] == [t.qpm for t in want.tempos]
        if fam != "groove":  # magenta's groove output leaves total_time at 0
            assert got.total_time == pytest.approx(want.total_time)


def test_default_window_limit_takes_first_five_in_time_order():
    g = GOLDENS["drums"]
    case = "cat-drums_2bar_small_gmd_beat"
    conv = converter_for("cat-drums_2bar_small")
    t = conv.to_tensors(_ns(g[f"{case}__input_ns"]))
    assert len(t) == 5
    golden = set(_as_sorted(g[f"{case}__outputs"].astype(bool)))
    assert set(_as_sorted(np.array(t.outputs))) <= golden
    # time order: the first window starts at the first bar with a hit
    all_windows = _converter("cat-drums_2bar_small").to_tensors(_ns(g[f"{case}__input_ns"]))
    np.testing.assert_array_equal(t.outputs[0], all_windows.outputs[0])


def test_single_window_rule_names_the_input():
    conv = converter_for("cat-drums_2bar_small")
    ns = _ns(GOLDENS["drums"]["cat-drums_2bar_small_four_bars_97qpm__input_ns"])
    with pytest.raises(BadInput, match=r"beat\.mid: 3 different windows"):
        conv.to_tensors(ns).single("beat.mid", "exactly 2 bars of 4/4 drums")
    six_eight = _ns(GOLDENS["drums"]["cat-drums_2bar_small_gmd_six_eight__input_ns"])
    with pytest.raises(BadInput, match="nothing the model can use"):
        conv.to_tensors(six_eight).single("waltz.mid", "exactly 2 bars of 4/4 drums")
    x, y = converter_for("cat-drums_2bar_small").to_tensors(
        _ns(GOLDENS["drums"]["cat-drums_2bar_small_two_bars__input_ns"])).single("p", "2 bars")
    assert x.shape == (32, 10) and y.shape == (32, 512)


# ---------------------------------------------------------------- drum classes and grids

def test_drum_map_is_the_nine_reduced_classes():
    assert dm.DRUM_EXEMPLARS == (36, 38, 42, 46, 45, 48, 50, 49, 51)
    all_pitches = [p for c in dm.REDUCED_DRUM_PITCH_CLASSES for p in c]
    assert len(all_pitches) == len(set(all_pitches)) == 63
    assert dm.drum_class(35) == 0 and dm.drum_class(22) == 2 and dm.drum_class(82) == 8
    assert dm.drum_class(90) is None and dm.drum_class(60) == 5
    assert len(dm.FULL_DRUM_PITCH_CLASSES) == 61


def test_grid_onehot_roll_round_trip_matches_converter():
    g = GOLDENS["drums"]
    conv = DrumsConverter()
    for case in ("cat-drums_2bar_small_two_bars", "cat-drums_2bar_small_four_bars_97qpm"):
        for out, inp in zip(g[f"{case}__outputs"], g[f"{case}__inputs"]):
            hits = onehot_to_grid(out)
            assert hits.shape == (9, 32)
            np.testing.assert_array_equal(grid_to_onehot(hits), out)
            np.testing.assert_array_equal(grid_to_roll(hits), inp)
            # the grid's notes are the converter's notes
            assert _notes(DrumGrid(hits).to_sequence()) == _notes(conv.from_tensors([out])[0])


def test_grid_from_sequence_keeps_tempo_velocity_and_timing():
    ns = NoteSequence()
    ns.tempos.add(qpm=90.0)
    step = 60 / 90 / 4
    ns.notes.add(pitch=35, velocity=100, start_time=0.0, end_time=step, is_drum=True)
    ns.notes.add(pitch=36, velocity=60, start_time=0.01, end_time=step, is_drum=True)  # quieter
    ns.notes.add(pitch=40, velocity=70, start_time=5 * step - 0.2 * step, end_time=6 * step,
                 is_drum=True)  # snare, 0.2 step early
    ns.notes.add(pitch=90, velocity=70, start_time=step, end_time=2 * step, is_drum=True)
    ns.notes.add(pitch=64, velocity=70, start_time=step, end_time=2 * step)  # not a drum
    with pytest.warns(DroppedNotesWarning, match="90"):
        grid = DrumGrid.from_sequence(ns)
    assert grid.qpm == 90.0 and grid.steps == 16
    assert sorted(zip(*np.nonzero(grid.hits))) == [(0, 0), (1, 5)]
    assert grid.velocities[0, 0] == 100 and grid.velocities[1, 5] == 70
    assert grid.offsets[1, 5] == pytest.approx(0.2, abs=1e-5)
    back = grid.to_sequence()
    assert qpm_of(back) == 90.0
    snare = [n for n in back.notes if n.pitch == 38][0]
    assert snare.start_time == pytest.approx(4.8 * step) and snare.velocity == 70
    assert back.total_time == pytest.approx(16 * step)


def test_change_tempo_moves_output_to_the_users_tempo():
    g = GOLDENS["drums"]
    out = g["cat-drums_2bar_small_two_bars__outputs"][0]
    at120 = DrumsConverter().from_tensors([out])[0]
    at60 = DrumsConverter().from_tensors([out], qpm=60.0)[0]
    assert qpm_of(at60) == 60.0
    assert [n.start_time * 0.5 for n in at60.notes] == pytest.approx([n.start_time for n in at120.notes])
    assert _notes(change_tempo(at60, 120.0)) == _notes(at120)


# ---------------------------------------------------------------- groove and taps

def test_groove_grid_round_trip():
    g = GOLDENS["groove"]
    sample = g["groovae_2bar_humanize_two_bars__rt_tensors"][-1]  # random, out-of-range values
    grid = groove_to_grid(sample)
    conv_notes = GrooveConverter().from_tensors([sample])[0]
    grid_notes = grid.to_sequence()
    # same hits, velocities and timing; the grid clamps an early first hit to time 0 and a
    # velocity-0 hit (a note-off in MIDI) to velocity 1
    key = lambda n: (n.pitch, max(1, n.velocity), round(max(0.0, n.start_time), 6))  # noqa: E731
    assert sorted(map(key, grid_notes.notes)) == sorted(map(key, conv_notes.notes))
    clean = g["groovae_2bar_humanize_two_bars__outputs"][0]
    np.testing.assert_allclose(grid_to_groove(groove_to_grid(clean)), clean, atol=0.5 / 127 + 1e-6)


def test_tap_input_matches_the_tap_converter():
    g = GOLDENS["groove"]
    case = "groovae_2bar_tap_fixed_velocity_two_bars"
    ns = _ns(g[f"{case}__input_ns"])
    want = g[f"{case}__inputs"][0]
    # the same rhythm tapped on one key: the loudest note of each step
    taps = NoteSequence()
    taps.CopyFrom(ns)
    for n in taps.notes:
        n.pitch = 60
        n.is_drum = False
    h, v, o, qpm = taps_from_sequence(taps, steps=32)
    assert qpm == qpm_of(ns)
    np.testing.assert_allclose(tap_input(h, v, o, fixed_velocities=True), want, atol=1e-6)
    assert np.count_nonzero(want[:, 3]) and not np.any(np.delete(want, [3, 21], axis=1))
    with_vel = tap_input(h, v, o, fixed_velocities=False)
    assert np.all(with_vel[:, 12] <= 1.0) and with_vel[:, 12].max() > 0


# ---------------------------------------------------------------- melodies

def test_melody_classes():
    assert NUM_MELODY_CLASSES == 90
    assert encode_event(-2) == 0 and encode_event(-1) == 1
    assert encode_event(21) == 2 and encode_event(108) == 89
    assert [decode_event(i) for i in (0, 1, 2, 89)] == [-2, -1, 21, 108]


def test_melody_out_of_range_is_warned_not_fatal():
    ns = _ns(GOLDENS["melody"]["cat-mel_2bar_big_extras_and_gap__input_ns"])
    with pytest.warns(DroppedNotesWarning) as rec:
        t = MelodyConverter(valid_programs=range(32)).to_tensors(ns)
    assert len(t) == 2
    messages = [str(w.message) for w in rec]
    assert any("melody range 21-108 (pitches 12, 115)" in m for m in messages), messages
    assert any("on programs [40], not melody instruments" in m for m in messages), messages


# ---------------------------------------------------------------- MIDI files

def test_write_and_read_midi_keeps_tempo_and_drum_channel(tmp_path):
    g = GOLDENS["trio"]
    ns = converter_for("hierdec-trio_16bar").from_tensors(
        g["hierdec-trio_16bar_sixteen_bars__rt_tensors"][:1], qpm=100.0)[0]
    path = write_midi(ns, tmp_path / "trio.mid")
    assert not [p for p in tmp_path.iterdir() if p.name != "trio.mid"]  # no temp files left
    mid = mido.MidiFile(str(path))
    drum_channels = {m.channel for t in mid.tracks for m in t if m.type == "note_on"
                     and m.velocity > 0 and m.note in dm.DRUM_EXEMPLARS and m.channel == 9}
    assert drum_channels == {9}
    tempos = [m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"]
    assert tempos and mido.tempo2bpm(tempos[0]) == pytest.approx(100.0)
    back = read_midi(path, expect_drums=True)
    assert qpm_of(back) == pytest.approx(100.0)
    assert len(back.notes) == len(ns.notes)
    assert {n.program for n in back.notes if not n.is_drum} == {0, 33}
    assert sorted(round(n.start_time, 3) for n in back.notes if n.is_drum) == \
        sorted(round(n.start_time, 3) for n in ns.notes if n.is_drum)


def test_groove_negative_start_is_clamped_on_export(tmp_path):
    t = np.zeros((32, 27), np.float32)
    t[0, 0], t[0, 9], t[0, 18] = 1.0, 0.8, 0.8  # kick played 0.4 step early at time 0
    ns = GrooveConverter().from_tensors([t])[0]
    assert ns.notes[0].start_time < 0
    back = read_midi(write_midi(ns, tmp_path / "g.mid"), expect_drums=True)
    assert back.notes[0].start_time == 0.0 and back.notes[0].velocity == 102


def test_bad_midi_files_name_the_file(tmp_path):
    with pytest.raises(BadInput, match="missing.mid: no such MIDI file"):
        read_midi(tmp_path / "missing.mid")
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="empty.mid: the file is empty"):
        read_midi(empty)
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff garbage")
    with pytest.raises(BadInput, match="corrupt.mid: not a readable MIDI file"):
        read_midi(corrupt)
    mel = converter_for("cat-mel_2bar_big").from_tensors(
        GOLDENS["melody"]["cat-mel_2bar_big_two_bars__rt_tensors"][:1])[0]
    path = write_midi(mel, tmp_path / "melody.mid")
    with pytest.raises(BadInput, match="melody.mid: no drum notes"):
        read_midi(path, expect_drums=True)
    silent = NoteSequence()
    silent.tempos.add(qpm=120)
    with pytest.raises(BadInput, match="silent.mid: the MIDI file has no notes"):
        read_midi(write_midi(silent, tmp_path / "silent.mid"))


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.mid"
    path.write_bytes(b"old")
    bad = NoteSequence()
    bad.notes.add(pitch=300, velocity=80, start_time=0, end_time=1)  # pitch out of MIDI range
    with pytest.raises(Exception):
        write_midi(bad, path)
    assert path.read_bytes() == b"old"


def test_trio_warns_about_unusable_notes_and_still_converts():
    g = GOLDENS["trio"]
    case = "hierdec-trio_16bar_sixteen_bars"
    ns = _ns(g[f"{case}__input_ns"])
    ns.notes.add(pitch=15, velocity=80, start_time=1.0, end_time=1.1, program=33, instrument=1)
    ns.notes.add(pitch=90, velocity=80, start_time=1.0, end_time=1.1, is_drum=True, instrument=9)
    with pytest.warns(DroppedNotesWarning) as rec:
        t = _converter("hierdec-trio_16bar").to_tensors(ns)
    messages = " ".join(str(w.message) for w in rec)
    assert "melody/bass range" in messages and "(pitches 15)" in messages
    assert "drum classes (pitches 90)" in messages
    np.testing.assert_array_equal(np.array(t.outputs), g[f"{case}__outputs"])


def test_groove_tensors_from_the_drum_grid_match_the_converter():
    g = GOLDENS["groove"]
    for key in ("groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity"):
        case = f"{key}_two_bars"
        ns = _ns(g[f"{case}__input_ns"])
        grid = DrumGrid.from_sequence(ns, steps=32)
        inp, out = converter_for(key).grid_tensors(grid)
        # the grid keeps whole MIDI velocities and float32 offsets: same tensors to 1e-5
        np.testing.assert_allclose(out, g[f"{case}__outputs"][0], atol=1e-5)
        np.testing.assert_allclose(inp, g[f"{case}__inputs"][0], atol=1e-5)
