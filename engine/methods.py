"""The registry of what the engine can do. One entry per protocol method.

Handler modules (`engine/handlers/*.py`) register functions with `@method(...)`.
They must not import TensorFlow at import time: import model code inside the
function, which runs on the engine's worker thread.

A job function takes `(params: dict, ctx: JobContext)` and returns a JSON-serialisable
dict. Files it makes (WAV, MIDI) go under `ctx.work_dir` and are returned as paths.
"""

from __future__ import annotations

import importlib
import secrets
from dataclasses import dataclass
from typing import Callable

from engine.context import JobContext
from engine.errors import UnknownMethod

JobFunc = Callable[[dict, JobContext], dict]


@dataclass(frozen=True)
class Method:
    name: str
    func: JobFunc
    job: bool = True  # False: answered at once on the server thread (must be quick, no models)
    cacheable: bool = True  # results keyed by (name, params) are reused
    seeded: bool = False  # stochastic: the runner draws and records a seed when none is given
    light: bool = False  # file work without models: runs on the light worker, never behind a render
    doc: str = ""


REGISTRY: dict[str, Method] = {}

# Modules whose import registers methods. Add a line when you add a handler module.
HANDLER_MODULES = [
    "engine.handlers.system",
    "engine.handlers.audio",
    "engine.handlers.drums",
    "engine.handlers.melody",
    "engine.handlers.melody_rnn",
    "engine.handlers.gansynth",
    "engine.handlers.library",
    "engine.handlers.nsynth",
    "engine.handlers.timeline",
    "engine.handlers.mix",
]


def method(name: str, *, job: bool = True, cacheable: bool = True, seeded: bool = False,
           light: bool = False) -> Callable[[JobFunc], JobFunc]:
    def register(func: JobFunc) -> JobFunc:
        REGISTRY[name] = Method(name, func, job, cacheable, seeded, light, (func.__doc__ or "").strip())
        return func
    return register


def with_seed(m: Method, params: dict) -> dict:
    """The params a job runs with: a stochastic method given no seed gets one drawn here,
    and the caller reports it so the result can be reproduced."""
    params = dict(params)
    if m.seeded and params.get("seed") is None:
        params["seed"] = secrets.randbelow(2**31)
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
