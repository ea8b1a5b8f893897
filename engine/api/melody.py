"""Melodies: MusicVAE sample/interpolate (2 bars) and MelodyRNN/PerformanceRNN continue."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import MAX_LIST, ModelChoice, Path_, Qpm, Seed, Temperature, declare

Folder = Annotated[str, Meta(min_length=1, max_length=4096,
                             description="folder for the MIDI files (default: the job's own)")]
Overwrite = Annotated[bool, Meta(description="replace files that exist")]
Join = Annotated[bool, Meta(description="also write the whole chain as one MIDI file, one "
                                        "after another (`joined` in the result)")]
Note = Annotated[list[Annotated[float, Meta(ge=0.0, le=100_000.0)]],
                 Meta(min_length=4, max_length=4, description="[start, end, pitch, velocity]")]
ChainQpm = Annotated[float, Meta(ge=20.0, le=400.0, description="tempo in quarter notes per "
                                 "minute (default: the tempo of a, or 120)")]
MAX_STEPS = 16 * 64


@declare("melody.sample", seeded=True)
class Sample(ModelChoice, kw_only=True):
    """Sample n new 2-bar melodies (MusicVAE cat-mel_2bar_big) as MIDI files."""
    n: Annotated[int, Meta(ge=1, le=64, description="how many melodies")] = 1
    temperature: Temperature = 1.0
    qpm: Qpm = 120.0
    seed: Seed | None = None
    folder: Folder | None = None
    overwrite: Overwrite = False


@declare("melody.interpolate", seeded=True)
class Interpolate(ModelChoice, kw_only=True):
    """Interpolate between the melodies of two MIDI files (a, b) in `steps` melodies;
    without a and b, between two random melodies drawn from the seed."""
    a: Path_ | None = None
    b: Path_ | None = None
    steps: Annotated[int, Meta(ge=2, le=16, description="melodies in the chain")] = 6
    temperature: Temperature = 0.5
    qpm: ChainQpm | None = None
    seed: Seed | None = None
    folder: Folder | None = None
    overwrite: Overwrite = False
    join: Join = False


@declare("melody.continue", seeded=True)
class Continue(ModelChoice, kw_only=True):
    """Continue a melody (MelodyRNN) or a performance (PerformanceRNN) from a primer: a MIDI
    file or notes. Writes primer + continuation as MIDI and returns the new notes."""
    primer: Path_ | Annotated[list[Note], Meta(min_length=1, max_length=MAX_LIST)]
    qpm: Qpm = 120.0
    steps: Annotated[int, Meta(ge=1, le=MAX_STEPS, description="length in 16th notes")] | None = None
    bars: Annotated[int, Meta(ge=1, le=MAX_STEPS // 16, description="length in bars (default 4)")] | None = None
    temperature: Annotated[float, Meta(ge=0.01, le=5.0, description="randomness of the sampling")] = 1.0
    seed: Seed | None = None
    path: Path_ | None = None
    folder: Folder | None = None
    overwrite: Overwrite = False
