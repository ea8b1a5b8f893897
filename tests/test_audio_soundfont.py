"""SoundFonts through tinysoundfont: drum kits for the drum sampler, whole MIDI files
through the General MIDI SoundFont (soundfont.render), and clear messages for bad files.
Small .sf2 files are built here to the SF2 spec; the General MIDI one is pretty_midi's."""

from __future__ import annotations

import struct

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from engine.audio.drum_kit import render_drums
from engine.audio.soundfont import (SoundFontKit, general_midi_soundfont, load_soundfont,
                                    resolve_soundfont)
from engine.context import JobContext
from engine.errors import BadInput, BadRequest
from engine.handlers import soundfont as sf_handler

KEY_RANGE, INSTRUMENT, ATTENUATION, SAMPLE_ID, ROOT_KEY, VEL_RANGE = 43, 41, 48, 53, 58, 44
GM = general_midi_soundfont()
needs_gm = pytest.mark.skipif(GM is None, reason="pretty_midi's TimGM6mb.sf2 is not installed")


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def gen(oper: int, amount) -> bytes:
    if isinstance(amount, tuple):
        return struct.pack("<HBB", oper, *amount)
    return struct.pack("<Hh", oper, amount)


def build_sf2(samples, preset_zones, instruments, *, bank=128, preset=0) -> bytes:
    """samples: [(int16 array, rate, root)], preset_zones: [[(oper, amount)...]],
    instruments: [[zone gens...]] (each zone's gens in file order)."""
    smpl, shdr = b"", b""
    for i, (x, rate, root) in enumerate(samples):
        start = len(smpl) // 2
        smpl += x.astype("<i2").tobytes() + b"\0" * 92  # 46 zero points after each sample
        shdr += struct.pack("<20sIIIIIBbHH", f"s{i}".encode(), start, start + len(x),
                            start, start + len(x), rate, root, 0, 0, 1)
    shdr += struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0)

    def bags_and_gens(zones):
        bag, gens = b"", b""
        n = 0
        for z in zones:
            bag += struct.pack("<HH", n, 0)
            for oper, amount in z:
                gens += gen(oper, amount)
                n += 1
        return bag + struct.pack("<HH", n, 0), gens + gen(0, 0)

    pbag, pgen = bags_and_gens(preset_zones)
    phdr = struct.pack("<20sHHHIII", b"Drums", preset, bank, 0, 0, 0, 0)
    phdr += struct.pack("<20sHHHIII", b"EOP", 0, 0, len(preset_zones), 0, 0, 0)
    inst, izones = b"", []
    for i, zones in enumerate(instruments):
        inst += struct.pack("<20sH", f"i{i}".encode(), len(izones))
        izones += zones
    inst += struct.pack("<20sH", b"EOI", len(izones))
    ibag, igen = bags_and_gens(izones)
    mod = b"\0" * 10
    pdta = b"pdta" + b"".join(chunk(c, b) for c, b in [
        (b"phdr", phdr), (b"pbag", pbag), (b"pmod", mod), (b"pgen", pgen), (b"inst", inst),
        (b"ibag", ibag), (b"imod", mod), (b"igen", igen), (b"shdr", shdr)])
    info = b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1)) + chunk(b"isng", b"EMU8000\0") \
        + chunk(b"INAM", b"test kit\0")
    body = b"sfbk" + chunk(b"LIST", info) + chunk(b"LIST", b"sdta" + chunk(b"smpl", smpl)) \
        + chunk(b"LIST", pdta)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def burst(n: int, value: int) -> np.ndarray:
    return np.full(n, value, np.int16)


@pytest.fixture
def sf2(tmp_path):
    samples = [(burst(1000, 16384), 22050, 36), (burst(2000, 8192), 22050, 60),
               (burst(500, 4096), 22050, 38)]
    instruments = [
        # a kick on key 36 only
        [[(KEY_RANGE, (36, 36)), (SAMPLE_ID, 0)]],
        # a global zone (6 dB quieter), then a tom spread over 45..50 rooted at 48,
        # and a snare with a soft and a loud layer
        [[(ATTENUATION, 60)],
         [(KEY_RANGE, (45, 50)), (ROOT_KEY, 48), (SAMPLE_ID, 1)],
         [(KEY_RANGE, (38, 38)), (VEL_RANGE, (0, 63)), (SAMPLE_ID, 0)],
         [(KEY_RANGE, (38, 38)), (VEL_RANGE, (64, 127)), (SAMPLE_ID, 2)]],
    ]
    preset_zones = [[(KEY_RANGE, (36, 36)), (INSTRUMENT, 0)],
                    [(KEY_RANGE, (37, 60)), (INSTRUMENT, 1)]]
    path = tmp_path / "kit.sf2"
    path.write_bytes(build_sf2(samples, preset_zones, instruments))
    return path


def sounding(x: np.ndarray) -> int:
    """How many samples until the sound has ended (below -60 dB of its peak)."""
    loud = np.flatnonzero(np.abs(x) > 1e-3 * np.abs(x).max())
    return int(loud[-1]) + 1


# -- drum kits ---------------------------------------------------------------------------

def test_keys_play_their_zone_samples_and_velocity_layers(sf2):
    kit = SoundFontKit(sf2, rate=22050)
    assert sounding(kit.sample_for_pitch(36)) == pytest.approx(1000, abs=4)
    # the snare: the soft layer is sample 0 (1000 points, rooted at 36: two semitones
    # up, so faster), the loud one sample 2 (500, rooted at 38)
    assert sounding(kit.sample_for_hit(38, 40)) == pytest.approx(1000 / 2 ** (2 / 12), abs=4)
    assert sounding(kit.sample_for_hit(38, 100)) == pytest.approx(500, abs=4)
    assert sounding(kit.sample_for_pitch(48)) == pytest.approx(2000, abs=4)
    assert kit.sample_for_pitch(70) is None and kit.sample_for_pitch(40) is None


def test_keys_above_the_root_play_faster(sf2):
    kit = SoundFontKit(sf2, rate=22050)
    up = kit.sample_for_pitch(50)  # two semitones up: shorter by 2^(2/12)
    assert sounding(up) == pytest.approx(2000 / 2 ** (2 / 12), abs=4)
    down = kit.sample_for_pitch(45)
    assert sounding(down) == pytest.approx(2000 * 2 ** (3 / 12), abs=4)


def test_renders_hits_through_the_drum_sampler_at_their_times(sf2):
    kit = SoundFontKit(sf2, rate=44100)
    out = render_drums([(0.0, 36, 127), (0.25, 48, 127)], 44100, kit=kit)
    start = np.flatnonzero(np.abs(out) > 1e-3)
    assert start[0] == 0
    gap = np.flatnonzero(np.abs(out[int(0.1 * 44100):]) > 1e-3)[0] + int(0.1 * 44100)
    assert gap == pytest.approx(0.25 * 44100, abs=2)
    assert len(out) == pytest.approx(int(0.25 * 44100) + 2 * 2000, abs=8)


def test_falls_back_to_the_first_drum_preset(tmp_path):
    path = tmp_path / "other.sf2"
    path.write_bytes(build_sf2([(burst(100, 1000), 44100, 60)], [[(INSTRUMENT, 0)]],
                               [[[(SAMPLE_ID, 0)]]], preset=25))
    assert SoundFontKit(path).sample_for_pitch(42) is not None


@needs_gm
def test_general_midi_kit_plays_every_drum_class_with_velocity():
    kit = SoundFontKit(resolve_soundfont("gm"), rate=16000)
    for pitch in (36, 38, 42, 46, 45, 48, 50, 49, 51):  # MusicVAE's exemplar pitches
        s = kit.sample_for_pitch(pitch)
        assert s is not None and len(s) > 0.05 * 16000 and np.abs(s).max() > 0.05, pitch
    soft, loud = kit.sample_for_hit(38, 30), kit.sample_for_hit(38, 120)
    assert np.abs(loud).max() > 2 * np.abs(soft).max()
    pattern = [(i * 0.125, (36, 42, 38, 42)[i % 4], 100) for i in range(16)]
    out = render_drums(pattern, 16000, kit=kit, seconds=2.0, wrap=True)
    assert len(out) == 32000 and 0.1 < np.abs(out).max() <= 0.99 + 1e-6
    out = render_drums(pattern, 16000, kit=kit, seconds=2.0)  # no tails folded onto 0 s
    assert onsets(out, 16000, rel=0.1) == pytest.approx([t for t, _, _ in pattern], abs=0.015)


# -- bad files ---------------------------------------------------------------------------

def test_bad_soundfonts_are_named_with_the_fix(tmp_path, sf2):
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF\x04\0\0\0WAVE")
    with pytest.raises(BadInput, match="junk.sf2: not a SoundFont 2 file"):
        load_soundfont(junk)
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(sf2.read_bytes()[:300])
    with pytest.raises(BadInput, match="cut.sf2: the SoundFont is truncated"):
        load_soundfont(cut)
    garbled = tmp_path / "garbled.sf2"
    data = bytearray(sf2.read_bytes())
    pdta = data.index(b"pdta")
    data[pdta:pdta + 4] = b"xxxx"  # the preset table is gone: the synthesizer cannot load it
    garbled.write_bytes(bytes(data))
    with pytest.raises(BadInput, match="garbled.sf2: the SoundFont is damaged"):
        load_soundfont(garbled)
    piano = tmp_path / "piano.sf2"
    piano.write_bytes(build_sf2([(burst(10, 100), 44100, 60)], [[(INSTRUMENT, 0)]],
                                [[[(SAMPLE_ID, 0)]]], bank=0))
    with pytest.raises(BadInput, match="piano.sf2: the SoundFont has no drum kit"):
        SoundFontKit(piano)
    with pytest.raises(BadInput, match="missing.sf2: no such SoundFont"):
        load_soundfont(tmp_path / "missing.sf2")
    with pytest.raises(BadInput, match="is a folder"):
        load_soundfont(tmp_path)


def test_a_bad_soundfont_stops_a_render_before_anything_is_written(tmp_path):
    midi = melody_file(tmp_path / "m.mid", [(0.0, 60)])
    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"RIFF\x10\0\0\0sfbk" + b"\0" * 12)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BadInput, match="broken.sf2") as e:
        sf_handler.render({"midi": str(midi), "soundfont": str(bad)}, JobContext(work_dir=out))
    assert e.value.details.get("path", "").endswith("broken.sf2")
    assert list(out.iterdir()) == []


# -- whole MIDI files: soundfont.render --------------------------------------------------

def onsets(x: np.ndarray, rate: int, *, n: int = 512, hop: int = 64,
           rel: float = 0.2, gap: float = 0.06) -> list[float]:
    """Where sounds start, found in the audio alone: peaks of the spectral flux (the rise
    of the log spectrum from one frame to the next) above `rel` of the largest, at least
    `gap` seconds apart. A peak is dated at the end of the frame the sound came into."""
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = np.concatenate([np.zeros(n, np.float32), x])  # so a sound at 0 s is a rise too
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    mag = np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.concatenate([[0.0], np.maximum(0, np.diff(mag, axis=0)).sum(axis=1), [0.0]])
    found: list[float] = []
    for i in range(1, len(flux) - 1):
        if flux[i] > rel * flux.max() and flux[i] >= flux[i - 1] and flux[i] >= flux[i + 1]:
            t = i * hop / rate
            if not found or t - found[-1] > gap:
                found.append(t)
    return found


def melody_file(path, notes, *, program=0, drums=(), qpm=120.0):
    """notes: [(start, pitch)], each 0.15 s long; drums: [(start, pitch)] on channel 10."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    inst = pretty_midi.Instrument(program=program, name="lead")
    inst.notes += [pretty_midi.Note(100, p, t, t + 0.15) for t, p in notes]
    pm.instruments.append(inst)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True, name="kit")
        kit.notes += [pretty_midi.Note(110, p, t, t + 0.1) for t, p in drums]
        pm.instruments.append(kit)
    pm.write(str(path))
    return path


@needs_gm
def test_preview_plays_the_notes_of_a_midi_file_at_their_times(tmp_path):
    starts = [0.25, 0.8, 1.3, 1.95, 2.4, 3.1]
    midi = melody_file(tmp_path / "tune.mid", [(t, 60 + 2 * i) for i, t in enumerate(starts)],
                       program=11)  # vibraphone: a clear attack
    res = sf_handler.render({"midi": str(midi)}, JobContext(work_dir=tmp_path))
    audio, rate = sf.read(res["path"], dtype="float32")
    assert rate == 44100 and audio.ndim == 2 and audio.shape[1] == 2
    assert res["renderer"] == "soundfont" and res["soundfont"] == str(GM)
    assert res["channels"]["0"]["program"] == 11 and res["channels"]["0"]["channel"] == 1
    assert onsets(audio, rate) == pytest.approx(starts, abs=0.015)
    assert res["duration"] > starts[-1] + 0.15  # the last note's release rings out
    played = pretty_midi.PrettyMIDI(res["midi_path"])
    assert [round(n.start, 3) for n in played.instruments[0].notes] == starts


@needs_gm
def test_drums_play_on_channel_10_beside_pitched_tracks(tmp_path):
    beat = [(0.5, 36), (1.0, 38), (1.5, 36), (2.0, 38)]
    midi = melody_file(tmp_path / "band.mid", [(0.25, 48), (1.25, 52)], program=11,
                       drums=beat)
    res = sf_handler.render({"midi": str(midi)}, JobContext(work_dir=tmp_path))
    assert res["channels"]["1"]["channel"] == 10 and res["channels"]["0"]["channel"] == 1
    audio, rate = sf.read(res["path"], dtype="float32")
    assert onsets(audio, rate) == pytest.approx(sorted([0.25, 1.25] + [t for t, _ in beat]),
                                                abs=0.015)
    only_drums = sf_handler.render({"midi": str(midi), "tracks": [1], "output": "d.wav"},
                                   JobContext(work_dir=tmp_path))
    audio, rate = sf.read(only_drums["path"], dtype="float32")
    assert onsets(audio, rate) == pytest.approx([t for t, _ in beat], abs=0.015)
    played = pretty_midi.PrettyMIDI(only_drums["midi_path"])
    assert [i.is_drum for i in played.instruments] == [True]


@needs_gm
def test_the_sustain_pedal_holds_released_notes_until_it_is_lifted(tmp_path):
    """A piano note released at 0.2 s rings while the pedal is down (until 1.5 s)."""
    def level(pedal: bool) -> float:
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        piano = pretty_midi.Instrument(program=0)
        piano.notes.append(pretty_midi.Note(100, 60, 0.0, 0.2))
        if pedal:
            piano.control_changes += [pretty_midi.ControlChange(64, 127, 0.0),
                                      pretty_midi.ControlChange(64, 0, 1.5)]
        pm.instruments.append(piano)
        path = tmp_path / f"pedal{int(pedal)}.mid"
        pm.write(str(path))
        res = sf_handler.render({"midi": str(path), "output": path.with_suffix(".wav").name},
                                JobContext(work_dir=tmp_path))
        audio, rate = sf.read(res["path"], dtype="float32")
        return float(np.sqrt(np.mean(audio[int(0.8 * rate):int(1.2 * rate)] ** 2)))

    assert level(True) > 10 * level(False)


@needs_gm
def test_notes_laid_over_the_file_are_heard_too(tmp_path):
    """A continuation proposal is previewed before it is accepted: `add`."""
    midi = melody_file(tmp_path / "primer.mid", [(0.25, 60), (0.75, 62)], program=11)
    proposal = [[1.5, 1.7, 64, 100, 0], [2.25, 2.45, 67, 100, 0]]
    res = sf_handler.render({"midi": str(midi), "add": proposal},
                            JobContext(work_dir=tmp_path))
    audio, rate = sf.read(res["path"], dtype="float32")
    assert onsets(audio, rate) == pytest.approx([0.25, 0.75, 1.5, 2.25], abs=0.015)
    assert res["notes"] == 4
    with pytest.raises(BadRequest, match="has no track 5"):
        sf_handler.render({"midi": str(midi), "tracks": [5]}, JobContext(work_dir=tmp_path))


def test_the_installed_no_deps_packages_are_the_pinned_ones():
    """pyproject's [tool.magstation] no-deps pins (installed by the Makefile without their
    declared dependencies: tinysoundfont's PyAudio is never needed) are what runs here."""
    import importlib.metadata
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    pins = tomllib.loads(pyproject.read_text())["tool"]["magstation"]["no-deps"]
    assert pins
    for pin in pins:
        name, version = pin.split("==")
        assert importlib.metadata.version(name) == version, pin
