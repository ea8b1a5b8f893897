"""A drum sampler: drum hits (or a drum NoteSequence) -> float32 audio.

The kit is one one-shot per class of Magenta's 9-class drum map (kick, snare, closed
hat, open hat, low/mid/high tom, crash, ride); every General MIDI drum pitch the map
knows plays its class's sample. Velocity scales gain linearly. An open hi-hat is
choked by the next closed hi-hat, as on a real kit.

The default kit is synthesized by `sounds/kit/make_kit.py`. A user kit is a folder with
the same file names (any readable audio format, `kick.wav` ...). Anything with a
`rate` and a `sample_for_pitch(pitch) -> ndarray | None` can stand in for a `DrumKit`.
A source with `velocity_aware = True` also has `sample_for_hit(pitch, velocity)`, whose
sample already sounds at that velocity (it is not scaled again):
`engine.audio.soundfont.SoundFontKit` plays an .sf2 file's drum kit that way, velocity
layers included.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np

from engine.audio.io import load_audio, resample
from engine.errors import BadInput, BadRequest
from engine.music.drums import REDUCED_DRUM_PITCH_CLASSES, pitch_class_map
from engine.paths import PROJECT_ROOT

KIT_DIR = PROJECT_ROOT / "sounds" / "kit"
KIT_RATE = 44100

# Sample file names in sounds/kit, one per drum class of engine.music.drums (same order).
DRUM_CLASSES: tuple[str, ...] = ("kick", "snare", "closed_hat", "open_hat", "low_tom",
                                 "mid_tom", "high_tom", "crash", "ride")
DRUM_CLASS_PITCHES = REDUCED_DRUM_PITCH_CLASSES
PITCH_TO_CLASS: dict[int, int] = pitch_class_map(REDUCED_DRUM_PITCH_CLASSES)
CLOSED_HAT, OPEN_HAT = 2, 3
CHOKE_FADE_S = 0.01


@dataclass(frozen=True)
class Hit:
    time: float     # seconds from the start
    pitch: int      # General MIDI drum pitch
    velocity: int   # 1..127


class SampleSource(Protocol):
    rate: int

    def sample_for_pitch(self, pitch: int) -> np.ndarray | None: ...


class DrumKit:
    """One float32 mono one-shot per drum class, all at `rate`."""

    def __init__(self, samples: Sequence[np.ndarray], rate: int, name: str = "kit") -> None:
        if len(samples) != len(DRUM_CLASSES):
            raise BadRequest(f"a drum kit needs {len(DRUM_CLASSES)} samples "
                             f"({', '.join(DRUM_CLASSES)}), got {len(samples)}")
        self.samples = tuple(np.asarray(s, np.float32) for s in samples)
        self.rate = rate
        self.name = name

    @classmethod
    def load(cls, folder: str | os.PathLike = KIT_DIR, rate: int = KIT_RATE) -> "DrumKit":
        """Read `<class>.wav` (or .flac/.mp3/...) for each class from `folder`; cached."""
        return _load_kit(str(Path(folder).resolve()), int(rate))

    def sample_for_pitch(self, pitch: int) -> np.ndarray | None:
        cls = PITCH_TO_CLASS.get(int(pitch))
        return None if cls is None else self.samples[cls]


@functools.lru_cache(maxsize=8)
def _load_kit(folder: str, rate: int) -> DrumKit:
    base = Path(folder)
    samples = []
    for name in DRUM_CLASSES:
        found = sorted(p for p in base.glob(f"{name}.*") if p.suffix.lower() != ".py")
        if not found:
            raise BadInput(f"{base}: the drum kit has no sample for {name!r} "
                           f"(expected {name}.wav). Add one, or use the default kit.",
                           path=str(base / f"{name}.wav"))
        samples.append(load_audio(found[0], rate, max_seconds=30.0))
    return DrumKit(samples, rate, name=base.name)


def hits_from_note_sequence(ns, *, drums_only: bool = True) -> list[Hit]:
    """The hits of a note_seq NoteSequence (notes flagged `is_drum` unless
    `drums_only=False`); velocity-0 notes are not hits, as in note-seq."""
    return [Hit(float(n.start_time), int(n.pitch), int(n.velocity))
            for n in ns.notes if (n.is_drum or not drums_only) and n.velocity > 0]


def _as_hits(hits) -> list[Hit]:
    if hasattr(hits, "notes"):
        return hits_from_note_sequence(hits)
    out = []
    for h in hits:
        t, p, v = (h.time, h.pitch, h.velocity) if isinstance(h, Hit) else h
        if t < 0 or not np.isfinite(t):
            raise BadRequest(f"drum hit at {t} s: times must be finite and >= 0")
        out.append(Hit(float(t), int(p), int(v)))
    return out


def render_drums(hits: Iterable[Hit | tuple[float, int, int]] | object, rate: int = KIT_RATE,
                 *, kit: SampleSource | None = None, seconds: float | None = None,
                 wrap: bool = False, gain: float = 1.0) -> np.ndarray:
    """Render drum hits to float32 mono audio at `rate` (44.1 kHz or the models' 16 kHz).

    `hits` is a list of `(time_s, pitch, velocity)` / `Hit`, or a NoteSequence.
    Pitches outside the drum map are skipped. The output lasts `seconds` if given
    (else until the last sample ends); with `wrap=True` tails that run past the end
    are folded back onto the start, so a looped pattern rings across the loop point.
    If the mix would clip, the whole buffer is scaled down (dynamics are kept).
    """
    kit = kit if kit is not None else DrumKit.load(rate=rate)
    hits = sorted(_as_hits(hits), key=lambda h: h.time)
    by_velocity = bool(getattr(kit, "velocity_aware", False))
    resampled: dict[tuple[int, int], np.ndarray | None] = {}

    def sample(pitch: int, velocity: int) -> np.ndarray | None:
        key = (pitch, velocity if by_velocity else 127)
        if key not in resampled:
            s = kit.sample_for_hit(*key) if by_velocity else kit.sample_for_pitch(pitch)
            resampled[key] = None if s is None else (
                s if kit.rate == rate else resample(s, kit.rate, rate))
        return resampled[key]

    closed_times = [h.time for h in hits if PITCH_TO_CLASS.get(h.pitch) == CLOSED_HAT]
    placed: list[tuple[int, np.ndarray]] = []
    for h in hits:
        if h.velocity <= 0:
            continue
        velocity = min(h.velocity, 127)
        s = sample(h.pitch, velocity)
        if s is None:
            continue
        s = s * ((1.0 if by_velocity else velocity / 127.0) * gain)
        if PITCH_TO_CLASS.get(h.pitch) == OPEN_HAT:
            s = _choke(s, h.time, closed_times, rate)
        placed.append((int(round(h.time * rate)), s))

    end = max((start + len(s) for start, s in placed), default=0)
    n = int(round(seconds * rate)) if seconds is not None else end
    out = np.zeros(max(n, end if wrap else n), np.float32)
    for start, s in placed:
        out[start:start + len(s)] += s[: max(0, len(out) - start)]
    if wrap and n > 0 and len(out) > n:
        tail = out[n:]
        for i in range(0, len(tail), n):  # fold every overhanging stretch back on
            piece = tail[i:i + n]
            out[: len(piece)] += piece
        out = out[:n]
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out


def _choke(s: np.ndarray, t: float, closed_times: list[float], rate: int) -> np.ndarray:
    later = [c for c in closed_times if c > t]
    if not later:
        return s
    cut = int(round((min(later) - t) * rate))
    if cut >= len(s):
        return s
    fade = min(int(CHOKE_FADE_S * rate), len(s) - cut)
    s = s[: cut + fade].copy()
    s[cut:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return s
