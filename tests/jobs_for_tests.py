"""Methods declared and registered only by the test suite, to observe caching, seeding
and what the engine does with a request stuck on I/O."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import Params, Path_, Seed, declare
from engine.context import JobContext
from engine.methods import method

CALLS = {"square": 0}


@declare("test.square")
class Square(Params, kw_only=True):
    """Deterministic and cacheable: counts its real executions."""
    x: Annotated[float, Meta(ge=-1e6, le=1e6)]


@declare("test.seeded", seeded=True)
class Seeded(Params, kw_only=True):
    """A stochastic job: reports its seed and a draw from it."""
    seed: Seed | None = None


@declare("test.boom", cacheable=False)
class Boom(Params, kw_only=True):
    """Always fails."""


@declare("test.light", cacheable=False, light=True)
class Light(Params, kw_only=True):
    """A light job: runs beside model jobs."""


@declare("test.read_file", job=False, cacheable=False)
class ReadFile(Params, kw_only=True):
    """A quick call that opens a file without any path policy (a FIFO blocks it)."""
    path: Path_


@declare("test.inf", cacheable=True)
class Inf(Params, kw_only=True):
    """A cacheable job whose result holds an infinity (must never be sent or cached)."""
    x: Annotated[float, Meta(ge=-1e6, le=1e6)] = 1.0


@method("test.square")
def square(params: Square, ctx: JobContext) -> dict:
    CALLS["square"] += 1
    return {"square": params.x ** 2}


@method("test.seeded")
def seeded(params: Seeded, ctx: JobContext) -> dict:
    import random
    return {"seed": params.seed, "draw": random.Random(params.seed).random()}


@method("test.boom")
def boom(params: Boom, ctx: JobContext) -> dict:
    raise ZeroDivisionError("deliberate failure")


@method("test.light")
def light(params: Light, ctx: JobContext) -> dict:
    return {"ok": True}


@method("test.read_file")
def read_file(params: ReadFile, ctx: JobContext) -> dict:
    with open(params.path, "rb") as f:
        return {"bytes": len(f.read())}


@method("test.inf")
def inf(params: Inf, ctx: JobContext) -> dict:
    return {"peaks": [0.5, params.x * float("inf")]}
