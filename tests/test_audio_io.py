"""Loading and exporting audio files: round trips, every kind of broken file, atomic export."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
import soundfile as sf

from engine.audio.io import (
    OutputExists, export_name, load_audio, probe, read_audio, repitch, resample,
    unique_path, write_wav,
)
from engine.errors import BadInput, BadRequest, JobCancelled
from engine.context import JobContext


def sine(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_freq(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


# ---------------------------------------------------------------- reading every format

@pytest.mark.parametrize("subtype,tol", [
    ("PCM_U8", 1 / 64), ("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-6),
    ("FLOAT", 0.0), ("DOUBLE", 1e-7),
])
def test_wav_bit_depths_load_as_float32_mono(tmp_path, subtype, tol):
    x = sine(440, 0.25, 16000)
    path = tmp_path / f"tone_{subtype}.wav"
    sf.write(path, x, 16000, subtype=subtype)
    y = load_audio(path, 16000)
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) == len(x)
    assert np.max(np.abs(y - x)) <= tol + 1e-9


@pytest.mark.parametrize("fmt,ext,subtype", [
    ("FLAC", "flac", "PCM_16"), ("MP3", "mp3", "MPEG_LAYER_III"), ("OGG", "ogg", "VORBIS"),
])
def test_compressed_formats_decode(tmp_path, fmt, ext, subtype):
    x = sine(440, 1.0, 16000)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, x, 16000, format=fmt, subtype=subtype)
    y = load_audio(path, 16000)
    assert abs(len(y) - len(x)) <= 2304  # lossy codecs pad by up to a couple of frames
    assert dominant_freq(y, 16000) == pytest.approx(440, abs=3)


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = sine(440, 0.2, 16000), sine(440, 0.2, 16000, amp=0.1)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, 16000), (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("native", [8000, 11025, 22050, 44100, 48000, 44099, 96000])
def test_odd_rates_resample_to_model_rate(tmp_path, native):
    x = sine(500, 0.5, native)
    path = tmp_path / f"r{native}.wav"
    sf.write(path, x, native, subtype="FLOAT")
    y = load_audio(path, 16000)
    assert len(y) == pytest.approx(8000, abs=1)
    assert dominant_freq(y, 16000) == pytest.approx(500, abs=3)
    info = probe(path)
    assert info.rate == native and info.channels == 1 and info.format == "WAV"


def test_read_audio_keeps_native_rate(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, sine(300, 0.1, 22050), 22050)
    y, rate = read_audio(path)
    assert rate == 22050 and len(y) == 2205


def test_resample_round_trip_preserves_a_band_limited_tone():
    x = sine(1000, 1.0, 16000)
    y = resample(resample(x, 16000, 44100), 44100, 16000)
    assert len(y) == len(x)
    # away from the edges the filter is transparent for an in-band tone
    assert np.max(np.abs(y[1000:-1000] - x[1000:-1000])) < 1e-2


def peak_freq(x: np.ndarray, rate: int) -> float:
    """The frequency of the strongest partial, to a fraction of a bin (a Gaussian fit to
    the log spectrum of a Hann-windowed signal)."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) + 1e-20
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(x)


@pytest.mark.parametrize("src,dst", [(44100, 16000), (48000, 16000), (22050, 16000),
                                     (16000, 44100), (44100, 48000)])
def test_soxr_resampling_keeps_a_sines_frequency_and_level(src, dst):
    x = sine(997.0, 2.0, src)
    y = resample(x, src, dst)
    assert len(y) == pytest.approx(2.0 * dst, abs=1)
    assert peak_freq(y, dst) == pytest.approx(997.0, abs=0.05)
    mid = y[dst // 4:-dst // 4]
    assert np.sqrt(np.mean(mid ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_soxr_removes_what_the_new_rate_cannot_hold():
    """A 10 kHz tone has no place at 16 kHz (Nyquist 8 kHz): it is filtered out, not
    folded down to 6 kHz as a plain interpolation would."""
    y = resample(sine(10000.0, 1.0, 44100), 44100, 16000)
    assert np.sqrt(np.mean(y[4000:-4000] ** 2)) < 1e-5


def test_repitch_an_octave_doubles_the_frequency_and_halves_the_length():
    x = sine(440.0, 2.0, 16000)
    up = repitch(x, 12.0)
    assert len(up) == pytest.approx(16000, abs=1)
    assert peak_freq(up, 16000) == pytest.approx(880.0, abs=0.1)
    down = repitch(x, -7.0)
    assert peak_freq(down, 16000) == pytest.approx(440.0 * 2 ** (-7 / 12), abs=0.1)


def test_stereo_is_resampled_per_channel():
    x = np.stack([sine(500.0, 1.0, 44100), sine(1500.0, 1.0, 44100)], axis=1)
    y = resample(x, 44100, 16000)
    assert y.shape == (16000, 2)
    assert peak_freq(y[:, 0], 16000) == pytest.approx(500.0, abs=0.1)
    assert peak_freq(y[:, 1], 16000) == pytest.approx(1500.0, abs=0.1)


# ---------------------------------------------------------------- broken files

def test_missing_file(tmp_path):
    with pytest.raises(BadInput, match="no such file") as e:
        load_audio(tmp_path / "nope.wav")
    assert "nope.wav" in e.value.message and e.value.details["reason"] == "missing"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(BadInput, match="empty") as e:
        load_audio(path)
    assert str(path) in e.value.message and e.value.details["reason"] == "empty"


def test_header_only_wav_has_no_audio(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(BadInput, match="no audio"):
        load_audio(path)


def test_non_audio_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are my lyrics, not a sound\n" * 20)
    with pytest.raises(BadInput, match="not an audio file") as e:
        load_audio(path)
    assert "notes.wav" in e.value.message and e.value.details["reason"] == "not_audio"


def riff(bits: int, data: bytes = b"\0" * 800) -> bytes:
    """A hand-made 16 kHz mono integer-PCM WAV: lets a test write headers no audio
    library would."""
    align = (bits + 7) // 8
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 16000 * align, align, bits)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_sample_format_libsndfile_lacks(tmp_path):
    path = tmp_path / "int64.wav"
    path.write_bytes(riff(bits=64))
    with pytest.raises(BadInput, match="sample format is not supported") as e:
        probe(path)
    assert "int64.wav" in e.value.message and e.value.details["reason"] == "odd_format"
    assert "Re-export" in e.value.message


def test_damaged_header_is_unreadable(tmp_path):
    path = tmp_path / "header-cut.wav"
    sf.write(path, sine(440, 0.1, 16000), 16000)
    path.write_bytes(path.read_bytes()[:30])  # cut inside the header: no data chunk
    with pytest.raises(BadInput, match="not a readable audio file") as e:
        load_audio(path)
    assert "header-cut.wav" in e.value.message and e.value.details["reason"] == "unreadable"


def test_truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, sine(440, 1.0, 16000), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match="truncated") as e:
        probe(path)  # found from the header and the file size, before any decoding
    assert "cut.wav" in e.value.message and e.value.details["reason"] == "truncated"
    assert e.value.details["missing_bytes"] == len(data) - len(data) // 2
    with pytest.raises(BadInput, match="truncated"):
        load_audio(path)


@pytest.mark.parametrize("fmt,ext,subtype", [
    ("FLAC", "flac", "PCM_16"), ("MP3", "mp3", "MPEG_LAYER_III"),
])
def test_truncated_compressed_files(tmp_path, capfd, fmt, ext, subtype):
    path = tmp_path / f"cut.{ext}"
    sf.write(path, sine(440, 2.0, 16000), 16000, format=fmt, subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(BadInput, match="truncated|corrupt") as e:
        load_audio(path)
    assert f"cut.{ext}" in e.value.message
    # the decoder's own warnings (libmpg123 prints some) never reach the terminal
    assert capfd.readouterr().err == ""


def test_huge_file_limit_is_configurable(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(16000 * 3, np.float32), 16000)
    size = os.path.getsize(path)
    with pytest.raises(BadInput, match="too large") as e:
        load_audio(path, max_bytes=size - 1)
    assert e.value.details["limit"] == size - 1
    with pytest.raises(BadInput, match="too long"):
        load_audio(path, max_seconds=2.0)
    assert len(load_audio(path, max_bytes=size, max_seconds=3.0)) == 48000


def flac_without_length(path, x, rate):
    """A FLAC whose STREAMINFO says 'total samples unknown', as streaming encoders write."""
    sf.write(path, x, rate, format="FLAC")
    b = bytearray(path.read_bytes())
    field = int.from_bytes(b[18:26], "big") & ~((1 << 36) - 1)  # zero the 36-bit count
    b[18:26] = field.to_bytes(8, "big")
    path.write_bytes(bytes(b))


def test_file_whose_header_hides_its_length(tmp_path):
    path = tmp_path / "stream.flac"
    flac_without_length(path, sine(440, 1.0, 16000), 16000)
    assert probe(path).frames is None and probe(path).seconds is None
    with pytest.raises(BadInput, match="does not say how long") as e:
        load_audio(path)
    assert "stream.flac" in e.value.message and e.value.details["reason"] == "unknown_length"


def test_non_finite_samples_are_rejected(tmp_path):
    x = sine(440, 0.1, 16000)
    x[10] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(BadInput, match="NaN"):
        load_audio(path)


def test_directory_is_not_audio(tmp_path):
    with pytest.raises(BadInput, match="not a regular file") as e:
        load_audio(tmp_path)
    assert e.value.details["reason"] == "not_a_file"


# ---------------------------------------------------------------- writing

@pytest.mark.parametrize("subtype,tol", [("PCM_16", 1 / 32767), ("FLOAT", 0.0)])
def test_write_round_trip_at_model_rate(tmp_path, subtype, tol):
    x = sine(440, 0.5, 16000)
    out = write_wav(tmp_path / "out.wav", x, 16000, subtype=subtype)
    info = sf.info(out)
    assert info.samplerate == 16000 and info.subtype == subtype and info.frames == len(x)
    assert np.max(np.abs(load_audio(out, 16000) - x)) <= tol


@pytest.mark.parametrize("out_rate", [44100, 48000])
def test_write_resampled_for_daws(tmp_path, out_rate):
    x = sine(440, 1.0, 16000)
    out = write_wav(tmp_path / "hi.wav", x, 16000, out_rate=out_rate)
    y, rate = read_audio(out)
    assert rate == out_rate and len(y) == out_rate
    assert dominant_freq(y, rate) == pytest.approx(440, abs=2)


def test_pcm_export_clips_instead_of_wrapping(tmp_path):
    x = np.array([0.0, 1.5, -2.0, 0.5], np.float32)
    y = load_audio(write_wav(tmp_path / "loud.wav", x, 16000), 16000)
    assert y[1] == pytest.approx(32767 / 32768) and y[2] == -1.0


def test_never_overwrites_without_permission(tmp_path):
    path = tmp_path / "take.wav"
    first = sine(440, 0.1, 16000)
    write_wav(path, first, 16000)
    before = path.read_bytes()
    with pytest.raises(OutputExists, match="already exists") as e:
        write_wav(path, sine(880, 0.1, 16000), 16000)
    assert e.value.code == "output_exists" and e.value.details["path"] == str(path)
    assert path.read_bytes() == before
    write_wav(path, sine(880, 0.1, 16000), 16000, overwrite=True)
    assert dominant_freq(load_audio(path), 16000) == pytest.approx(880, abs=5)


def test_cancelled_export_leaves_old_file_and_no_partial_file(tmp_path):
    path = tmp_path / "render.wav"
    write_wav(path, sine(440, 0.5, 16000), 16000)
    before = path.read_bytes()
    ctx = JobContext()
    calls = []

    def progress(done, total, msg):
        calls.append(done)
        if len(calls) == 2:  # the user cancels half way through the export
            ctx.cancel()
        ctx.progress(done, total, msg)

    with pytest.raises(JobCancelled):
        write_wav(path, sine(880, 4.0, 16000), 16000, overwrite=True,
                  progress=progress, block_seconds=1.0)
    assert calls == [16000, 32000]
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["render.wav"]


def test_failed_first_export_leaves_nothing(tmp_path):
    def boom(done, total, msg):
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_wav(tmp_path / "new.wav", sine(440, 3.0, 16000), 16000, progress=boom)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(BadRequest, match="cannot write") as e:
        write_wav(blocker / "take.wav", sine(440, 0.1, 16000), 16000)
    assert "take.wav" in e.value.message


def test_write_rejects_bad_requests(tmp_path):
    with pytest.raises(BadRequest, match="NaN"):
        write_wav(tmp_path / "a.wav", np.array([np.nan], np.float32), 16000)
    with pytest.raises(BadRequest, match="sample format"):
        write_wav(tmp_path / "a.wav", np.zeros(4, np.float32), 16000, subtype="PCM_8")
    with pytest.raises(BadRequest, match="nothing to write"):
        write_wav(tmp_path / "a.wav", np.zeros(0, np.float32), 16000)
    assert list(tmp_path.iterdir()) == []


def test_wav_header_is_complete_after_block_writes(tmp_path):
    out = write_wav(tmp_path / "blocks.wav", sine(440, 2.5, 16000), 16000, block_seconds=0.3)
    data = out.read_bytes()
    riff_size = struct.unpack("<I", data[4:8])[0]
    assert riff_size == len(data) - 8
    assert probe(out).frames == 40000


# ---------------------------------------------------------------- naming

def test_export_name_says_what_the_file_is():
    assert export_name("drums", "cat-drums_2bar_small.lokl", 42, "wav") == \
        "drums_cat-drums-2bar-small.lokl_seed42.wav"
    assert export_name("Latent Mix", "nsynth/wavenet", None, ".WAV", label="flute+cat") == \
        "latent-mix_nsynth-wavenet_noseed_flute+cat.wav"
    assert "/" not in export_name("../../etc", "a/b", 1, "mid")


def test_unique_path_never_collides(tmp_path):
    first = unique_path(tmp_path, "take.wav")
    assert first == tmp_path / "take.wav"
    first.write_bytes(b"x")
    second = unique_path(tmp_path, "take.wav")
    assert second.name == "take-2.wav"
    second.write_bytes(b"x")
    assert unique_path(tmp_path, "take.wav").name == "take-3.wav"
