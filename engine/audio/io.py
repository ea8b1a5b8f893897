"""Reading and writing audio files.

Inside the engine audio is float32 mono at the model's rate (16 kHz). `load_audio`
turns any WAV (8/16/24/32-bit int or float), FLAC, MP3, OGG or AIFF file into that;
`write_wav` writes a WAV atomically and never replaces a file unless asked to.
Every problem with a user's file becomes a `BadInput` that names the file and the fix,
with `details["reason"]` saying which problem it is (see REASONS), so callers such as
the sample library can record or count it.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from engine.errors import BadInput, BadRequest, EngineError, OutputExists
from engine.fsutil import atomic_write
from engine.pathpolicy import readable_file
from engine.audio.stderr_capture import capture_stderr

MODEL_RATE = 16000
EXPORT_RATES = (16000, 22050, 44100, 48000)
WAV_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")  # 16-bit, 24-bit int, 32-bit float
READABLE = "WAV, FLAC, MP3, OGG or AIFF"

# Defaults for "too big": a file of this size or a sound this long is almost certainly
# a mistake (a whole album dropped on the sample library); callers may raise them.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_SECONDS = 600.0

ProgressFn = Callable[[float, float, str], None]

# The `reason` of a BadInput about a file, from the first check to the last.
REASONS = ("missing", "not_a_file", "empty", "too_large", "not_audio", "odd_format",
           "unreadable", "truncated", "unknown_length", "too_long", "corrupt", "non_finite")


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    format: str      # soundfile's major format: "WAV", "FLAC", "MP3", ...
    subtype: str     # "PCM_16", "FLOAT", "MPEG_LAYER_III", ...
    rate: int
    channels: int
    frames: int | None   # None: the header does not say (a streamed FLAC/OGG)

    @property
    def seconds(self) -> float | None:
        return None if self.frames is None else self.frames / self.rate


# ---------------------------------------------------------------------------- reading

def _check_file(path: Path, max_bytes: int | None, what: str = "path") -> int:
    # engine.pathpolicy: a stat, never an open (a FIFO would block, /dev/zero never end)
    st = readable_file(path, what, expect=f"an audio file ({READABLE})").stat()
    size = st.st_size
    if size == 0:
        raise BadInput(f"{path}: the file is empty (0 bytes). Re-export or re-download it.",
                       path=str(path), reason="empty")
    if max_bytes is not None and size > max_bytes:
        raise BadInput(
            f"{path}: the file is too large ({size / 2**20:.0f} MiB, limit "
            f"{max_bytes / 2**20:.0f} MiB). Trim it to the part you need first.",
            path=str(path), reason="too_large", size=size, limit=max_bytes)
    return size


def _wav_data_shortfall(path: Path, size: int) -> int:
    """Bytes missing from a RIFF/WAVE file's `data` chunk (0 when complete or not a
    plain RIFF WAV). libsndfile quietly reads what is there, so this catches a file
    cut off mid-download or mid-copy."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):  # streaming writers leave it unset
                    return 0
                return max(0, chunk_size - (size - pos - 8))
            pos += 8 + chunk_size + (chunk_size & 1)
    return 0


_UNKNOWN_FRAMES = 2**62  # libsndfile reports SF_COUNT_MAX when a header has no length
_BLOCK_FRAMES = 1 << 16


def probe(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
          what: str = "path") -> AudioInfo:
    """What is in an audio file, without decoding it. Raises BadInput for files that
    are missing, empty, too large, not audio, in a sample format libsndfile lacks, or
    (WAV, judged by its header against the file size) truncated. `what`: the request
    parameter that named the file, for the message."""
    p = Path(path).expanduser()
    size = _check_file(p, max_bytes, what)
    try:
        with capture_stderr():
            info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise _unreadable(p, e) from e
    missing = _wav_data_shortfall(p, size) if info.format == "WAV" else 0
    if missing:
        raise BadInput(
            f"{p}: the WAV file is truncated ({missing} bytes of audio missing). "
            "It was probably cut off while copying or downloading: get it again.",
            path=str(p), reason="truncated", missing_bytes=missing)
    frames = int(info.frames) if 0 <= info.frames < _UNKNOWN_FRAMES else None
    if frames == 0:
        raise BadInput(f"{p}: the file holds no audio (0 samples).",
                       path=str(p), reason="empty")
    return AudioInfo(p, info.format, info.subtype, int(info.samplerate),
                     int(info.channels), frames)


def _unreadable(p: Path, e: Exception) -> BadInput:
    """Why libsndfile would not open a file, in the user's terms."""
    text = str(e)
    if "unimplemented format" in text:  # e.g. 64-bit integer PCM
        return BadInput(f"{p}: its sample format is not supported. Re-export it as 16- or "
                        "24-bit PCM or 32-bit float WAV.", path=str(p), reason="odd_format")
    if "Format not recognised" in text:
        return BadInput(f"{p}: this is not an audio file (format not recognised). "
                        f"Use {READABLE}.", path=str(p), reason="not_audio")
    return BadInput(
        f"{p}: not a readable audio file ({_soundfile_reason(e)}). "
        f"Use {READABLE}; if it is one, it may be truncated or corrupt: get it again "
        "or re-export it.", path=str(p), reason="unreadable")


def require_length(info: AudioInfo) -> int:
    """The file's length in frames; BadInput when its header does not say, because
    libsndfile cannot decode such a file through its public API (every read seeks)."""
    if info.frames is None:
        raise BadInput(
            f"{info.path}: the file's header does not say how long the sound is (a streamed "
            f"{info.format} file), so it cannot be decoded. Convert it to WAV or "
            "re-encode it with a desktop audio tool.",
            path=str(info.path), reason="unknown_length")
    return info.frames


def _soundfile_reason(e: Exception) -> str:
    text = str(e)
    # "Error opening '/x/y.wav': Format not recognised." -> "Format not recognised"
    text = re.sub(r"^Error( opening '[^']*')?\s*:\s*", "", text).strip().rstrip(".")
    if "does not exist" in text:  # libsndfile's words for an MP3 stream it cannot parse
        text = "unrecognised or damaged data"
    return text or type(e).__name__


def read_audio(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
               max_seconds: float | None = DEFAULT_MAX_SECONDS,
               what: str = "path", mono: bool = True) -> tuple[np.ndarray, int]:
    """Decode a file to float32 mono at its own rate: `(samples, rate)`. With
    `mono=False` a file of several channels keeps them (frames x channels)."""
    info = probe(path, max_bytes=max_bytes, what=what)
    p = info.path

    def too_long(seconds: float, at_least: str = "") -> BadInput:
        return BadInput(
            f"{p}: the sound is too long ({at_least}{seconds:.1f} s, limit "
            f"{max_seconds:.0f} s). Trim it to the part you need first.",
            path=str(p), reason="too_long", seconds=seconds, limit=max_seconds)

    frames = require_length(info)
    if max_seconds is not None and frames / info.rate > max_seconds:
        raise too_long(frames / info.rate)
    # Decoded block by block so that a stream longer than its header promised
    # still stops at the limit instead of filling memory.
    limit = None if max_seconds is None else int(max_seconds * info.rate)
    blocks: list[np.ndarray] = []
    decoded = 0
    try:
        with capture_stderr() as noise, sf.SoundFile(str(p)) as f:
            while len(block := f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)):
                blocks.append(block)
                decoded += len(block)
                if limit is not None and decoded > limit:
                    raise too_long(decoded / info.rate, "at least ")
        data = (np.concatenate(blocks) if blocks
                else np.zeros((0, info.channels), np.float32))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise BadInput(
            f"{p}: the audio data is corrupt or truncated ({_soundfile_reason(e)}). "
            "Get the file again or re-export it.",
            path=str(p), reason="corrupt") from e
    # A cut-off stream decodes short of the length its header promised. WAV/FLAC/AIFF
    # headers are exact; MP3/OGG lengths can be estimates (VBR without a Xing header),
    # so only a clear shortfall counts there.
    exact = info.format in ("WAV", "FLAC", "AIFF")
    slack = 0 if exact else max(2304, frames // 20)
    if len(data) < frames - slack:
        raise BadInput(
            f"{p}: the file is truncated (decoded {len(data)} of {frames} samples). "
            "Get the file again or re-export it.",
            path=str(p), reason="truncated", decoder=noise.tail())
    if len(data) == 0:
        raise BadInput(f"{p}: the file holds no audio (0 samples).", path=str(p), reason="empty")
    if data.shape[1] == 1:
        out = data[:, 0]
    else:
        out = data.mean(axis=1, dtype=np.float32) if mono else data
    if not np.all(np.isfinite(out)):
        raise BadInput(f"{p}: the file contains invalid samples (NaN or infinity). "
                       "Re-export it from the program that made it.",
                       path=str(p), reason="non_finite")
    return np.ascontiguousarray(out, dtype=np.float32), info.rate


def resample(samples: np.ndarray, from_rate: float, to_rate: float) -> np.ndarray:
    """Resample a float signal (mono, or frames x channels) with libsoxr at its very high
    quality setting, any ratio (rates need not share a factor). 44.1 -> 16 kHz, measured:
    flat to 7.3 kHz (-0.01 dB), -3 dB at 7.6 kHz, below -158 dB from 8.3 kHz (scipy's
    polyphase filter, used before: -1 dB at 7.3 kHz, only -10 dB at 8.3 kHz)."""
    if not from_rate > 0 or not to_rate > 0:
        raise BadRequest(f"sample rates must be positive (got {from_rate} -> {to_rate})")
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if from_rate == to_rate or x.shape[0] == 0:
        return x.copy()
    import soxr

    return soxr.resample(x, float(from_rate), float(to_rate), quality="VHQ")


def repitch(samples: np.ndarray, semitones: float, rate: float = MODEL_RATE) -> np.ndarray:
    """Play a sound faster (higher, shorter) or slower (lower, longer) by `semitones`,
    like a sampler: a resampling by 2^(semitones/12) (libsoxr, band-limited)."""
    ratio = 2.0 ** (semitones / 12.0)
    return resample(samples, rate * ratio, rate)


def load_audio(path: str | os.PathLike, rate: int = MODEL_RATE, *,
               max_bytes: int | None = DEFAULT_MAX_BYTES,
               max_seconds: float | None = DEFAULT_MAX_SECONDS, what: str = "path") -> np.ndarray:
    """Any readable audio file -> float32 mono at `rate` (16 kHz by default)."""
    samples, native = read_audio(path, max_bytes=max_bytes, max_seconds=max_seconds, what=what)
    return resample(samples, native, rate)


# ---------------------------------------------------------------------------- writing

def write_wav(path: str | os.PathLike, samples: np.ndarray, rate: int = MODEL_RATE, *,
              out_rate: int | None = None, subtype: str = "PCM_16", overwrite: bool = False,
              progress: ProgressFn | None = None, block_seconds: float = 1.0) -> Path:
    """Write `samples` (mono, or frames x channels) recorded at `rate` to a WAV file.

    `out_rate` resamples first (e.g. 44100 or 48000 for a DAW). `subtype` is "PCM_16"
    (default), "PCM_24" or "FLOAT" (32-bit float). The write is atomic: readers see the
    old file or the complete new one. An existing file is only replaced with
    `overwrite=True`, otherwise `OutputExists` is raised. `progress(done, total, msg)`
    is called once per block; if it raises (e.g. a cancelled job's `ctx.progress`),
    nothing is written and any previous file is untouched.
    """
    target = Path(path)
    if subtype not in WAV_SUBTYPES:
        raise BadRequest(f"unknown WAV sample format {subtype!r}; use one of {WAV_SUBTYPES}")
    if target.is_dir():
        raise BadRequest(f"{target} is a folder; give a file name ending in .wav",
                         path=str(target))
    if os.path.lexists(target) and not overwrite:  # a dangling symlink is "there" too
        raise OutputExists(
            f"{target} already exists. Choose another name or confirm overwrite.",
            path=str(target))
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise BadRequest(f"nothing to write to {target}: expected a non-empty "
                         f"mono or frames x channels array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise BadRequest(f"refusing to write {target}: the audio contains NaN or infinity")
    if out_rate is not None and out_rate != rate:
        x = resample(x, rate, out_rate)
        rate = out_rate
    if subtype != "FLOAT":
        x = np.clip(x, -1.0, 1.0)
    channels = 1 if x.ndim == 1 else x.shape[1]
    block = max(1, int(rate * block_seconds))
    total = x.shape[0]

    def writer(fh) -> None:
        with sf.SoundFile(fh, "w", samplerate=int(rate), channels=channels,
                          subtype=subtype, format="WAV") as out:
            for start in range(0, total, block):
                out.write(x[start:start + block])
                if progress is not None:
                    progress(min(total, start + block), total, f"writing {target.name}")

    try:
        return atomic_write(target, writer, replace=overwrite)
    except OSError as e:
        raise BadRequest(
            f"cannot write {target}: {e.strerror or e}. Choose a folder you can write to "
            "(and check the disk is not full).", path=str(target)) from e


# ---------------------------------------------------------------------------- naming

_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", str(text)).strip("-.").lower() or "x"


def export_name(pane: str, model: str, seed: int | None, ext: str, *,
                label: str | None = None) -> str:
    """A file name that says what the file is, e.g.
    `export_name("drums", "cat-drums_2bar_small.lokl", 42, "wav")` ->
    `drums_cat-drums-2bar-small.lokl_seed42.wav` (underscores separate the fields)."""
    parts = [_slug(pane), _slug(model), "noseed" if seed is None else f"seed{int(seed)}"]
    if label:
        parts.append(_slug(label))
    return "_".join(parts) + "." + _slug(ext.lstrip("."))


def unique_path(folder: str | os.PathLike, name: str) -> Path:
    """`folder/name`, or `folder/stem-2.ext`, `-3`, ... if that exists already."""
    base = Path(folder) / name
    if not base.exists():
        return base
    n = 2
    while (cand := base.with_name(f"{base.stem}-{n}{base.suffix}")).exists():
        n += 1
    return cand
