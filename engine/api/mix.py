"""The latent-mix pane's methods, on top of nsynth.*."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from engine.api.base import Params, Path_, Seed, declare
from engine.api.nsynth import Checkpoint, Sources, Stretch, Weights, XY


class Recipe(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How a kept mix was made, so it can be rendered again."""
    sources: Sources
    seed: Seed
    weights: Weights | None = None
    xy: XY | None = None
    stretch: Stretch | None = None
    model: Annotated[str, Meta(max_length=200)] | None = None
    checkpoint: Checkpoint | None = None


@declare("mix.encode", cacheable=False)
class Encode(Params, kw_only=True):
    """nsynth.encode plus each encoding as 16 rows of at most `columns` time-averaged values."""
    sounds: Annotated[list[Path_], Meta(min_length=1, max_length=64, description="sound files")]
    columns: Annotated[int, Meta(ge=1, le=1024, description="values per row of the picture")] = 64
    checkpoint: Checkpoint | None = None


@declare("mix.keep", cacheable=False, light=True)
class Keep(Params, kw_only=True):
    """Keep a rendered mix in your library with its recipe, so it can be rendered again."""
    wav_path: Path_
    recipe: Recipe
    name: Annotated[str, Meta(min_length=1, max_length=200, description="name in the library")] = "nsynth-mix"
    partial: Annotated[bool, Meta(description="the render was cancelled part way")] = False


@declare("mix.recipes", job=False, cacheable=False)
class Recipes(Params, kw_only=True):
    """Every kept mix, newest first, with its recipe and whether the file still exists."""
    limit: Annotated[int, Meta(ge=1, le=10_000, description="at most this many")] = 200


@declare("mix.recipe", job=False, cacheable=False)
class RecipeOf(Params, kw_only=True):
    """The recipe kept with one sound, and the nsynth.synth params to render it again."""
    path: Path_
