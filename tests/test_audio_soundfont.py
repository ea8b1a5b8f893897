"""The SoundFont drum kit hook, on small .sf2 files built here to the SF2 spec."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from engine.audio.drum_kit import render_drums
from engine.audio.io import resample
from engine.audio.soundfont import SoundFontKit, pretty_midi_soundfont
from engine.errors import BadInput

KEY_RANGE, INSTRUMENT, ATTENUATION, SAMPLE_ID, ROOT_KEY, VEL_RANGE = 43, 41, 48, 53, 58, 44


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
    samples = [(burst(100, 16384), 22050, 36), (burst(200, 8192), 22050, 60),
               (burst(50, 4096), 22050, 38)]
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


def test_keys_map_to_their_zone_samples(sf2):
    kit = SoundFontKit(sf2, rate=22050)
    np.testing.assert_allclose(kit.sample_for_pitch(36), 0.5)
    # global attenuation 60 cB = 6 dB; the loud snare layer wins
    snare = kit.sample_for_pitch(38)
    assert len(snare) == 50
    np.testing.assert_allclose(snare, 0.125 * 10 ** (-60 / 200), rtol=1e-5)
    root = kit.sample_for_pitch(48)
    assert len(root) == 200
    assert kit.sample_for_pitch(70) is None and kit.sample_for_pitch(40) is None


def test_keys_above_the_root_play_faster(sf2):
    kit = SoundFontKit(sf2, rate=22050)
    up = kit.sample_for_pitch(50)  # two semitones up: shorter by 2^(2/12)
    assert len(up) == pytest.approx(200 / 2 ** (2 / 12), abs=2)
    down = kit.sample_for_pitch(45)
    assert len(down) == pytest.approx(200 * 2 ** (3 / 12), abs=2)


def test_renders_drums_through_the_drum_sampler(sf2):
    kit = SoundFontKit(sf2, rate=44100)
    out = render_drums([(0.0, 36, 127), (0.01, 48, 127)], 44100, kit=kit)
    kick = resample(np.full(100, 0.5, np.float32), 22050, 44100)
    np.testing.assert_allclose(out[:200], kick[:200] / max(1.0, np.abs(out).max() / 0.99),
                               atol=1e-6)
    assert len(out) == int(0.01 * 44100) + len(kit.sample_for_pitch(48))


def test_falls_back_to_the_first_drum_preset(tmp_path):
    path = tmp_path / "other.sf2"
    path.write_bytes(build_sf2([(burst(10, 100), 44100, 60)], [[(INSTRUMENT, 0)]],
                               [[[(SAMPLE_ID, 0)]]], preset=25))
    assert SoundFontKit(path).sample_for_pitch(42) is not None


def test_bad_soundfonts(tmp_path, sf2):
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF\x04\0\0\0WAVE")
    with pytest.raises(BadInput, match="not a SoundFont"):
        SoundFontKit(junk)
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(sf2.read_bytes()[:300])
    with pytest.raises(BadInput, match="truncated|damaged|no sample data") as e:
        SoundFontKit(cut)
    assert "cut.sf2" in e.value.message
    piano = tmp_path / "piano.sf2"
    piano.write_bytes(build_sf2([(burst(10, 100), 44100, 60)], [[(INSTRUMENT, 0)]],
                                [[[(SAMPLE_ID, 0)]]], bank=0))
    with pytest.raises(BadInput, match="no drum kit"):
        SoundFontKit(piano)
    with pytest.raises(BadInput, match="cannot read"):
        SoundFontKit(tmp_path / "missing.sf2")


def test_real_general_midi_soundfont_plays_every_drum_class():
    path = pretty_midi_soundfont()
    if path is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    kit = SoundFontKit(path, rate=16000)
    for pitch in (36, 38, 42, 46, 45, 48, 50, 49, 51):  # MusicVAE's exemplar pitches
        s = kit.sample_for_pitch(pitch)
        assert s is not None and len(s) > 0.05 * 16000 and np.abs(s).max() > 0.05, pitch
    out = render_drums([(i * 0.125, (36, 42, 38, 42)[i % 4], 100) for i in range(16)],
                       16000, kit=kit, seconds=2.0, wrap=True)
    assert len(out) == 32000 and 0.1 < np.abs(out).max() <= 0.99 + 1e-6
