"""The registry of what the engine can do: each declared method (engine/api/) bound to the
function that runs it.

Handler modules (`engine/handlers/*.py`) implement declarations with `@method(name)`.
They must not import TensorFlow at import time: import model code inside the
function, which runs on a worker thread.

A job function takes `(params, ctx: JobContext)`, where params is the method's typed
struct (already validated), and returns a JSON-serialisable dict. Files it makes (WAV,
MIDI) go under `ctx.work_dir` and are returned as paths.
"""

from __future__ import annotations

import functools
import importlib
import secrets
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from engine import api
from engine.api.base import DECLARED, Declaration, Params
from engine.context import JobContext
from engine.errors import EngineError, UnknownMethod
from engine.finite import all_finite, first_non_finite

JobFunc = Callable[[Any, JobContext], dict]


@dataclass(frozen=True)
class Method:
    decl: Declaration
    func: JobFunc

    name = property(lambda self: self.decl.name)
    job = property(lambda self: self.decl.job)
    cacheable = property(lambda self: self.decl.cacheable)
    seeded = property(lambda self: self.decl.seeded)
    light = property(lambda self: self.decl.light)
    transfer = property(lambda self: self.decl.transfer)
    doc = property(lambda self: self.decl.doc)

    def validate(self, raw: Any) -> Params:
        return api.validate(self.decl, raw)


REGISTRY: dict[str, Method] = {}

# Modules whose import registers methods. Add a line when you add a handler module.
HANDLER_MODULES = [
    "engine.handlers.system",
    "engine.handlers.audio",
    "engine.handlers.drums",
    "engine.handlers.melody",
    "engine.handlers.trio",
    "engine.handlers.melody_rnn",
    "engine.handlers.gansynth",
    "engine.handlers.soundfont",
    "engine.handlers.library",
    "engine.handlers.nsynth",
    "engine.handlers.timeline",
    "engine.handlers.batch",
    "engine.handlers.mix",
    "engine.handlers.models",
    "engine.handlers.train",
]


def method(name: str) -> Callable[[JobFunc], JobFunc]:
    """Implement the declared method `name` (engine/api/) with the decorated function.
    Called directly with a dict (tests, other handlers), it validates it first."""
    def register(func: JobFunc) -> JobFunc:
        decl = DECLARED.get(name)
        if decl is None:
            raise LookupError(f"{name} is not declared in engine/api/; declare its params first")

        @functools.wraps(func)
        def typed(params: Any, ctx: JobContext) -> dict:
            if not isinstance(params, decl.params):
                params = api.validate(decl, params)
            return func(params, ctx)

        REGISTRY[name] = Method(decl, typed)
        return typed
    return register


def with_seed(m: Method, params: Params) -> Params:
    """The params a job runs with: a stochastic method given no seed gets one drawn here,
    and the caller reports it so the result can be reproduced."""
    if m.seeded and getattr(params, "seed", 0) is None:
        params = msgspec.structs.replace(params, seed=secrets.randbelow(2**31))
    return params


def load_handlers() -> dict[str, Method]:
    from engine.note_seq_shim import defer_notebook_utils

    defer_notebook_utils()  # before any handler imports note_seq (engine process, CLI)
    for mod in HANDLER_MODULES:
        importlib.import_module(mod)
    return REGISTRY


def get(name: str) -> Method:
    load_handlers()
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownMethod(f"unknown method {name!r}; `magstation methods` lists them",
                            method=name) from None


def check_result(name: str, result: Any) -> dict[str, Any]:
    """A job's result as it may be sent: a dict of plain JSON values, every number finite.
    Anything else is a typed error (and is never cached)."""
    if not isinstance(result, dict):
        result = {"value": result}
    if not all_finite(result):
        _raise_non_finite(name, result)
    try:
        msgspec.json.encode(result)
    except (TypeError, ValueError, OverflowError) as e:
        raise EngineError(f"{name} produced a result that cannot be sent: {e}") from None
    return result


def _raise_non_finite(name: str, result: dict[str, Any]) -> None:
    """Find the first non-finite number and raise naming where it is."""
    bad = first_non_finite(result)
    if bad is not None:
        where, v = bad
        raise EngineError(f"{name} produced a non-finite number ({v}) at {where or 'the result'}; "
                          "the input probably holds out-of-range values (e.g. samples far "
                          "beyond ±1): check or normalise the file", where=where)
