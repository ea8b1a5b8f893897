"""GANSynth: render a MIDI file note by note with instruments that morph along time."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine.api.base import ModelChoice, Name, Params, Path_, Seed, declare

LATENT_MAX = 4096


class Keyframe(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An instrument at a time: a random one from `seed`, or an explicit latent `z`."""
    time: Annotated[float, Meta(ge=0.0, le=86_400.0, description="seconds")]
    name: Annotated[str, Meta(max_length=200, description="what the timeline calls it")] | None = None
    seed: Seed | None = None
    z: Annotated[list[Annotated[float, Meta(ge=-1e6, le=1e6)]], Meta(min_length=1, max_length=LATENT_MAX)] | None = None


@declare("gansynth.render", cacheable=False)
class Render(ModelChoice, kw_only=True):
    """Render a MIDI file with GANSynth into one WAV (and the MIDI of the notes as played).
    Instruments: random ones every `secs_per_instrument` from `seed`, or `keyframes`."""
    midi: Path_
    tracks: Annotated[list[Annotated[int, Meta(ge=0, le=1_000_000)]], Meta(max_length=1024,
                      description="track numbers to render (all when absent)")] | None = None
    seed: Seed = 0
    secs_per_instrument: Annotated[float, Meta(gt=0.0, le=86_400.0,
                                               description="seconds between random instruments")] = 6.0
    keyframes: Annotated[list[Keyframe], Meta(max_length=1024)] | None = None
    output: Name | None = None
    batch_size: Annotated[int, Meta(ge=1, le=256, description="notes per generator call")] | None = None
    include_drums: Annotated[bool, Meta(description="render drum tracks too")] = False
    precision: Annotated[Literal["float32", "bfloat16"],
                         Meta(description="float32: Magenta's numbers; bfloat16: faster on AMX CPUs")] = "float32"


@declare("gansynth.random_z", job=False, cacheable=False)
class RandomZ(Params, kw_only=True):
    """Random instrument latents for seeds (the z a {time, seed} keyframe would use)."""
    latent_size: Annotated[int, Meta(ge=1, le=LATENT_MAX, description="256 for the released checkpoints")] = 256
    seeds: Annotated[list[Seed], Meta(min_length=1, max_length=256, description="one z per seed")] | None = None
    seed: Seed = 0
