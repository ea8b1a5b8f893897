"""Drum patterns: sample, interpolate, humanize, tap (MusicVAE/GrooVAE), audition, import,
export. A pattern on the wire is 9 rows (drum classes) of steps; see engine/music/patterns.py."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine.api.base import (Label, ModelChoice, Name, Params, Path_, Qpm, SampleRate, Seed,
                             Temperature, WavFormat, declare)

MAX_STEPS = 16 * 64  # 64 bars of 16ths
MAX_CHAIN = 64  # patterns in one request
MAX_FILE_BARS = 2 * MAX_CHAIN  # the most a file is read as: 64 patterns of 2 bars

Velocity = Annotated[int, Meta(ge=0, le=127)]
Offset = Annotated[float, Meta(ge=-1.0, le=1.0)]
Swing = Annotated[float, Meta(ge=0.0, lt=0.5, description="swing, as a fraction of a 16th")]
SoundFont = Annotated[str, Meta(min_length=1, max_length=4096,
                                description="a .sf2 SoundFont whose drum kit plays the pattern, "
                                "or `gm`: the General MIDI SoundFont that ships")]


Text = Annotated[str, Meta(max_length=300)]


class Provenance(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Where a pattern came from: the method that made it, the model, seed and temperature,
    and the patterns or file it was made from. The drum grid's header, history and export
    names read it from the pattern on screen."""
    method: Annotated[str, Meta(max_length=64, description="e.g. drums.sample, drums.humanize, "
                                "edit, file")]
    model: Annotated[str, Meta(max_length=200)] | None = None
    seed: Seed | None = None
    temperature: Temperature | None = None
    mode: Annotated[str, Meta(max_length=64, description="e.g. keep-hits, free, yours, "
                              "reconstruction")] | None = None
    sources: Annotated[list[Text], Meta(max_length=16, description="what it was made from, "
                                        "e.g. 'A', 'B', 'beat.mid bars 3-4'")] = []
    index: Annotated[int, Meta(ge=0, le=MAX_CHAIN)] | None = None
    of: Annotated[int, Meta(ge=1, le=MAX_CHAIN + 2)] | None = None
    edited: Annotated[bool, Meta(description="changed by hand since")] = False


class Pattern(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A drum pattern: per drum class, a velocity (0: rest) and a timing offset (fraction of
    a step, positive = early) at every step, and where it came from."""
    velocities: Annotated[list[Annotated[list[Velocity], Meta(min_length=1, max_length=MAX_STEPS)]],
                          Meta(min_length=9, max_length=9, description="9 rows of velocities")]
    offsets: Annotated[list[Annotated[list[Offset], Meta(max_length=MAX_STEPS)]],
                       Meta(max_length=9, description="9 rows of offsets")] | None = None
    qpm: Qpm = 120.0
    provenance: Provenance | None = None


Patterns = Annotated[list[Pattern], Meta(min_length=1, max_length=MAX_CHAIN,
                                         description="patterns, played one after another")]


@declare("drums.sample", seeded=True)
class Sample(ModelChoice, kw_only=True):
    """Sample n new 2-bar drum patterns at a temperature (MusicVAE cat-drums)."""
    n: Annotated[int, Meta(ge=1, le=64, description="how many patterns")] = 1
    temperature: Temperature = 1.0
    qpm: Qpm = 120.0
    seed: Seed | None = None
    same_z: Annotated[bool, Meta(description="one latent for all n (shows the decoder's randomness)")] = False


@declare("drums.interpolate", seeded=True)
class Interpolate(ModelChoice, kw_only=True):
    """Interpolate from pattern a to pattern b in `steps` patterns (slerp of the encodings).
    The chain starts on a and ends on b exactly as given; the patterns between come from the
    model. With `ends: "model"` the ends are the model's reconstructions of a and b."""
    a: Pattern
    b: Pattern
    steps: Annotated[int, Meta(ge=2, le=16, description="patterns in the chain, a and b included")] = 6
    ends: Annotated[Literal["yours", "model"], Meta(
        description="the chain's first and last patterns: yours (a and b as given) or the "
                    "model's reconstructions of them")] = "yours"
    temperature: Temperature = 0.5
    seed: Seed | None = None


class _Groove(ModelChoice, kw_only=True):
    pattern: Pattern | None = None
    patterns: Patterns | None = None
    temperature: Temperature = 1.0
    seed: Seed | None = None
    keep_hits: Annotated[bool, Meta(
        description="keep exactly your hits and take only the model's velocity and timing "
                    "(false: free, the model may add or drop hits)")] = True


@declare("drums.humanize", seeded=True)
class Humanize(_Groove, kw_only=True):
    """Give quantized patterns human velocity and micro-timing (GrooVAE humanize). A chain
    is humanized 2 bars at a time. By default every hit you wrote is kept, none added: the
    model gives velocity and timing only; `keep_hits: false` lets it add or drop hits."""


@declare("drums.tap", seeded=True)
class Tap(_Groove, kw_only=True):
    """Turn a tapped rhythm (any hits, one voice) into a full drum pattern (GrooVAE tap), 2
    bars at a time. By default drums play only on the steps you tapped and every tap gets a
    hit; `keep_hits: false` lets the model play anywhere."""


@declare("drums.audition", job=False, cacheable=False)
class Audition(Params, kw_only=True):
    """Play patterns (a chain) in a loop with the shipped drum kit or a SoundFont, at their
    tempo and swing. With `update`, a loop that is playing swaps to the new audio without
    losing its place."""
    patterns: Patterns
    swing: Swing = 0.0
    soundfont: SoundFont | None = None
    label: Label | None = None
    loop: Annotated[bool, Meta(description="loop until stopped")] = True
    update: Annotated[bool, Meta(description="swap the audio of the loop that is playing")] = False


@declare("drums.import_midi", cacheable=False, light=True)
class ImportMidi(Params, kw_only=True):
    """Read a drum MIDI file into 2-bar patterns (GM drums mapped to the 9 classes), the
    whole file by default. `warnings` says what was left out and why (bars past the limit,
    pitches outside the 9 classes, tempo changes, notes sharing a cell)."""
    path: Path_
    max_bars: Annotated[int, Meta(ge=2, le=MAX_FILE_BARS, description=(
        f"read at most this many bars (default: the whole file, up to {MAX_FILE_BARS})"))] | None = None
    tap: Annotated[bool, Meta(description="read a tapped rhythm (notes of any pitch, the "
                              "loudest per 16th) onto one row, for drums.tap")] = False


@declare("drums.export", cacheable=False, light=True)
class Export(Params, kw_only=True):
    """Write patterns as MIDI (one drum track on channel 10 with the tempo and time
    signature; swing as heard) and, with `wav`, the rendered audio, into `folder`. All the
    files are written or none. Never overwrites unless `overwrite`. Without `model`/`seed`
    the names come from the first pattern's provenance."""
    patterns: Patterns
    folder: Annotated[str, Meta(min_length=1, max_length=4096, description="the folder to write into")]
    swing: Swing = 0.0
    name: Name | None = None
    overwrite: Annotated[bool, Meta(description="replace files that exist")] = False
    per_pattern: Annotated[bool, Meta(description="one file per pattern instead of one chain")] = False
    model: Annotated[str, Meta(max_length=200, description="model name for the file name")] | None = None
    seed: Seed | None = None
    wav: Annotated[bool, Meta(description="also write the audio")] = False
    rate: SampleRate = 44100
    format: WavFormat = "PCM_16"
    soundfont: SoundFont | None = None


@declare("drums.check", job=False, cacheable=False)
class Check(ModelChoice, kw_only=True):
    """Before asking for input: is the model of `action` installed, is `soundfont` a
    readable SoundFont? Nothing is loaded; the error says what is missing and how to get it."""
    action: Literal["sample", "interpolate", "humanize", "tap"] | None = None
    soundfont: SoundFont | None = None
