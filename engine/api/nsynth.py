"""NSynth: encode sounds, mix encodings, synthesize audio from mixes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from engine.api.base import Name, Params, Path_, Seed, declare

MAX_BATCH = 16
Checkpoint = Annotated[str, Meta(min_length=1, max_length=4096,
                                 description="a checkpoint name or path (default nsynth-wavenet)")]
Weight = Annotated[float, Meta(ge=-100.0, le=100.0)]
Unit = Annotated[float, Meta(ge=0.0, le=1.0)]
Stretch = Annotated[float, Meta(ge=0.05, le=20.0, description="time stretch factor")]
Sources = Annotated[list[Path_], Meta(min_length=1, max_length=4,
                                      description="1-4 sounds or .npy encodings")]
Weights = Annotated[list[Weight], Meta(min_length=1, max_length=4, description="a weight per source")]
XY = Annotated[list[Unit], Meta(min_length=2, max_length=2, description="[x, y] on the 4-corner pad")]


class Mix(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A blend of 1-4 sources by `weights` or by an XY point between 4 corners."""
    sources: Sources
    weights: Weights | None = None
    xy: XY | None = None
    stretch: Stretch | None = None


@declare("nsynth.encode", cacheable=False)
class Encode(Params, kw_only=True):
    """Encode sounds with the NSynth WaveNet autoencoder; each encoding is written as
    <name>_embeddings.npy in the job folder and kept in the encoding cache."""
    sounds: Annotated[list[Path_], Meta(min_length=1, max_length=64, description="sound files")]
    checkpoint: Checkpoint | None = None


@declare("nsynth.mix", cacheable=False)
class MixEncodings(Params, kw_only=True):
    """Mix encodings by `weights` or `xy`, optionally time-stretched; writes <name>.npy."""
    sources: Sources
    weights: Weights | None = None
    xy: XY | None = None
    stretch: Stretch | None = None
    name: Name = "mix"
    checkpoint: Checkpoint | None = None


@declare("nsynth.synth", cacheable=False, seeded=True)
class Synth(Params, kw_only=True):
    """Synthesize mixes (mix specs or .npy paths) with NSynth, one 16 kHz WAV per mix;
    cancelling keeps the audio made so far (`partial: true`)."""
    mixes: Annotated[list[Mix | Path_], Meta(min_length=1, max_length=MAX_BATCH)]
    seed: Seed | None = None
    names: Annotated[list[Name], Meta(min_length=1, max_length=MAX_BATCH)] | None = None
    checkpoint: Checkpoint | None = None
