"""The drum sampler and its synthesized kit, the shipped sounds, and the test tone."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import soundfile as sf
from note_seq.protobuf import music_pb2

from engine.audio.drum_kit import (
    DRUM_CLASSES, DRUM_CLASS_PITCHES, KIT_DIR, PITCH_TO_CLASS, DrumKit, Hit,
    hits_from_note_sequence, render_drums,
)
from engine.audio.io import load_audio, probe
from engine.audio.tone import sine
from engine.errors import BadInput, BadRequest
from engine.paths import PROJECT_ROOT

RATE = 44100


def kit_module():
    spec = importlib.util.spec_from_file_location("make_kit", KIT_DIR / "make_kit.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def band_fraction(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    p = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    return float(p[(f >= lo) & (f < hi)].sum() / p.sum())


# ---------------------------------------------------------------- the kit files

def test_committed_kit_is_what_make_kit_produces(tmp_path):
    mod = kit_module()
    assert mod.CLASSES == DRUM_CLASSES
    fresh = mod.make_kit()
    for name in DRUM_CLASSES:
        committed, rate = sf.read(KIT_DIR / f"{name}.wav", dtype="float32")
        info = sf.info(KIT_DIR / f"{name}.wav")
        assert (rate, info.channels, info.subtype) == (44100, 1, "PCM_16"), name
        assert len(committed) == len(fresh[name]), name
        # the same up to 16-bit rounding (a different platform's libm may flip an LSB)
        np.testing.assert_allclose(committed, fresh[name], atol=2 / 32768, err_msg=name)
        assert len(committed) / rate <= 1.5  # one-shots stay short
    assert sum((KIT_DIR / f"{n}.wav").stat().st_size for n in DRUM_CLASSES) < 600_000
    assert "CC0" in (KIT_DIR / "LICENSE.md").read_text()


def test_kit_sounds_like_a_drum_kit():
    kit = DrumKit.load()
    s = dict(zip(DRUM_CLASSES, kit.samples))
    assert band_fraction(s["kick"], RATE, 0, 200) > 0.9
    for hat in ("closed_hat", "open_hat", "crash"):
        assert band_fraction(s[hat], RATE, 5000, RATE / 2) > 0.8, hat
    assert len(s["open_hat"]) > 3 * len(s["closed_hat"])

    def centroid(x):
        p = np.abs(np.fft.rfft(x)) ** 2
        return float((p * np.fft.rfftfreq(len(x), 1 / RATE)).sum() / p.sum())

    assert centroid(s["low_tom"]) < centroid(s["mid_tom"]) < centroid(s["high_tom"])
    assert all(0.3 < np.max(np.abs(x)) <= 1.0 for x in kit.samples)


def test_every_drum_map_pitch_plays_its_class_sample():
    kit = DrumKit.load()
    assert len(PITCH_TO_CLASS) == 63
    assert all(p in PITCH_TO_CLASS for p in range(35, 82))  # the whole GM drum range
    for cls, pitches in enumerate(DRUM_CLASS_PITCHES):
        for p in pitches:
            assert kit.sample_for_pitch(p) is kit.samples[cls]
    assert kit.sample_for_pitch(60 + 40) is None


# ---------------------------------------------------------------- rendering

def test_single_hit_is_the_sample_at_its_time_and_velocity():
    kit = DrumKit.load()
    out = render_drums([(0.5, 38, 127)], RATE)
    snare = kit.samples[1]
    start = int(0.5 * RATE)
    assert len(out) == start + len(snare)
    assert not out[:start].any()
    np.testing.assert_allclose(out[start:], snare, atol=1e-7)
    half = render_drums([(0.5, 40, 64)], RATE)  # 40 is also a snare
    np.testing.assert_allclose(half[start:], snare * 64 / 127, atol=1e-7)


def test_velocity_zero_and_unmapped_pitches_are_silent():
    out = render_drums([(0.0, 36, 0), (0.1, 100, 127)], RATE, seconds=0.5)
    assert len(out) == int(0.5 * RATE) and not out.any()


def test_pattern_at_model_rate_and_loop_length():
    pattern = [(i * 0.125, 36 if i % 4 == 0 else 42, 90) for i in range(32)]
    pattern.append((3.875, 49, 110))  # a crash on the last step rings past the loop end
    looped = render_drums(pattern, 16000, seconds=4.0, wrap=True)
    assert looped.dtype == np.float32 and len(looped) == 64000
    once = render_drums(pattern, 16000)
    assert len(once) > 64000
    # the overhang is folded back onto the start of the loop
    np.testing.assert_allclose(looped[:len(once) - 64000],
                               (once[:len(once) - 64000] + once[64000:]), atol=1e-6)
    cut = render_drums(pattern, 16000, seconds=4.0)
    np.testing.assert_allclose(cut, once[:64000], atol=1e-7)


def test_open_hat_is_choked_by_the_next_closed_hat():
    kit = DrumKit.load()
    alone = render_drums([(0.0, 46, 127)], RATE)
    np.testing.assert_allclose(alone, kit.samples[3], atol=1e-7)
    choked = render_drums([(0.0, 46, 127), (0.1, 42, 1)], RATE)
    t = int(0.1 * RATE)
    np.testing.assert_allclose(choked[:t], kit.samples[3][:t], atol=1e-7)
    tail = choked[t + int(0.011 * RATE):]
    closed_only = kit.samples[2] / 127
    np.testing.assert_allclose(tail, closed_only[int(0.011 * RATE):len(tail) + int(0.011 * RATE)],
                               atol=1e-6)


def test_loud_mixes_are_scaled_not_clipped():
    hits = [(0.0, p, 127) for p in (36, 35, 38, 40, 49, 57)]  # many loud hits at once
    out = render_drums(hits, RATE)
    assert np.max(np.abs(out)) == pytest.approx(0.99, abs=1e-6)


def test_renders_a_note_sequence():
    ns = music_pb2.NoteSequence()
    for i, pitch in enumerate([36, 42, 38, 42]):
        ns.notes.add(pitch=pitch, velocity=80, start_time=i * 0.125,
                     end_time=i * 0.125 + 0.125, is_drum=True, instrument=9)
    ns.notes.add(pitch=60, velocity=80, start_time=0.0, end_time=1.0)  # a piano note
    hits = hits_from_note_sequence(ns)
    assert hits == [Hit(0.0, 36, 80), Hit(0.125, 42, 80), Hit(0.25, 38, 80),
                    Hit(0.375, 42, 80)]
    np.testing.assert_array_equal(render_drums(ns, 16000), render_drums(hits, 16000))


def test_custom_kit_folder_and_missing_sample(tmp_path):
    for i, name in enumerate(DRUM_CLASSES):
        sf.write(tmp_path / f"{name}.flac", np.full(100, (i + 1) / 20, np.float32), 22050)
    kit = DrumKit.load(tmp_path, rate=22050)
    out = render_drums([(0.0, 51, 127)], 22050, kit=kit)  # ride = class 8
    np.testing.assert_allclose(out, 9 / 20, atol=1e-4)
    (tmp_path / "ride.flac").unlink()
    with pytest.raises(BadInput, match="ride"):
        DrumKit.load(tmp_path, rate=16000)


def test_bad_hits_are_rejected():
    with pytest.raises(BadRequest, match=">= 0"):
        render_drums([(-1.0, 36, 100)])
    with pytest.raises(BadRequest, match="9 samples"):
        DrumKit([np.zeros(4, np.float32)], RATE)


# ---------------------------------------------------------------- shipped sounds and tone

def test_example_sounds_and_midi_ship_with_licences():
    sounds = sorted((PROJECT_ROOT / "sounds").glob("*.wav"))
    assert len(sounds) == 4
    lic = (PROJECT_ROOT / "sounds" / "LICENSE.md").read_text()
    assert "MIT License" in lic
    for path in sounds:
        assert path.name in lic
        info = probe(path)
        assert info.seconds == pytest.approx(1.0) and info.rate == 44100
        assert len(load_audio(path, 16000)) == 16000
    midi = PROJECT_ROOT / "midi" / "cs1-1pre-short.mid"
    assert midi.stat().st_size > 0
    assert "cs1-1pre-short.mid" in (PROJECT_ROOT / "midi" / "LICENSE.md").read_text()


def test_sine_test_tone():
    x = sine(1000.0, 0.5, 16000, amplitude=0.25)
    assert x.dtype == np.float32 and len(x) == 8000
    assert x[0] == 0.0 and abs(x[-1]) < 1e-3  # faded: no click
    spec = np.abs(np.fft.rfft(x))
    assert np.argmax(spec) * 16000 / len(x) == pytest.approx(1000, abs=2)
    assert np.max(np.abs(x)) == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(BadRequest, match="between"):
        sine(9000.0, 1.0, 16000)
