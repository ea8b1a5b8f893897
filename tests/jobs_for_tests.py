"""Methods registered only by the test suite, to observe caching and seeding."""

from __future__ import annotations

from engine.context import JobContext
from engine.methods import method

CALLS = {"square": 0}


@method("test.square")
def square(params: dict, ctx: JobContext) -> dict:
    """Deterministic and cacheable: counts its real executions."""
    CALLS["square"] += 1
    return {"square": params["x"] ** 2}


@method("test.seeded", seeded=True)
def seeded(params: dict, ctx: JobContext) -> dict:
    import random
    return {"seed": params["seed"], "draw": random.Random(params["seed"]).random()}


@method("test.boom", cacheable=False)
def boom(params: dict, ctx: JobContext) -> dict:
    raise ZeroDivisionError("deliberate failure")
