"""The engine's own methods: ping, status, methods, subscribe, shutdown, and diagnostics."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from engine.api.base import Params, declare

Topic = Literal["jobs", "audio", "transport", "output", "batches", "config"]


@declare("engine.ping", server=True, cacheable=False)
class Ping(Params, kw_only=True):
    """Answer at once: is the engine alive?"""


@declare("engine.status", server=True, cacheable=False)
class Status(Params, kw_only=True):
    """Version, pid, uptime, clients and the queued/running jobs."""


@declare("engine.methods", server=True, cacheable=False)
class Methods(Params, kw_only=True):
    """Every method this engine answers, with its description and parameter schema."""


@declare("engine.subscribe", server=True, cacheable=False)
class Subscribe(Params, kw_only=True):
    """Receive broadcasts: 'jobs' (queue snapshots), 'audio' (the PCM, for listeners),
    'transport' (what plays, from where, looping) and 'output' (where sound goes: the
    device or none, listeners connected, audio dropped for slow ones), 'batches' (the
    batch and training runs on this machine, with progress; engine/batch/runs.py). Each topic's
    current state is sent at once on subscribing."""
    topics: Annotated[list[Topic], Meta(max_length=8, description="topics to receive")] = []


@declare("engine.shutdown", server=True, cacheable=False)
class Shutdown(Params, kw_only=True):
    """Stop the engine (running jobs are cancelled)."""


@declare("engine.sleep", cacheable=False)
class Sleep(Params, kw_only=True):
    """Wait `seconds` in `steps` steps with progress: a harmless job for checking that
    progress, ETA and cancellation reach your client."""
    seconds: Annotated[float, Meta(ge=0.0, le=600.0, description="how long to wait")] = 1.0
    steps: Annotated[int, Meta(ge=1, le=10_000, description="progress steps")] = 10


@declare("engine.warm", cacheable=False)
class Warm(Params):
    """Load the default drum model and run it once, so the user's first sample is as fast
    as the second (the engine does this by itself when it starts, unless
    MAGSTATION_WARM=0)."""


@declare("engine.tf_info", cacheable=False)
class TfInfo(Params, kw_only=True):
    """Load TensorFlow in the engine and report its version and devices (GPU check)."""


@declare("engine.models_loaded", job=False, cacheable=False)
class ModelsLoaded(Params, kw_only=True):
    """The models loaded in the engine (the model pool): each one's size and whether a
    running job uses it, the memory budget, and the models evicted last."""
