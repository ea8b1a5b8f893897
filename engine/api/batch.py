"""Batch runs (engine/batch/): watch them, start one from a plan, stop one. A batch runs in
its own process (`magstation batch PLAN`), never on the engine's model worker; the engine
watches the runs' records and pushes them to subscribers of `batches`."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import Params, Path_, declare

Folder = Annotated[str, Meta(min_length=1, max_length=4096,
                             description="the batch's output folder")]


@declare("batch.runs", server=True, cacheable=False)
class Runs(Params, kw_only=True):
    """The batch runs on this machine, newest first: state, done/total, ETA and per worker
    tasks done, seconds per task, the task it is on and its ETA (as of `updated`)."""


@declare("batch.start", job=False, cacheable=False)
class Start(Params, kw_only=True):
    """Start `magstation batch PLAN` as a process of its own (it goes on if the engine
    stops); its progress comes as `batches` events. Its output goes to a log next to its
    record (`log` in the result)."""
    plan: Path_
    out: Folder | None = None
    ray: Annotated[str, Meta(min_length=1, max_length=300,
                             description="auto or a Ray head's host:port")] | None = None
    workers: Annotated[int, Meta(ge=1, le=4096, description="Ray actors")] | None = None
    add_to_library: Annotated[bool, Meta(description="add the results to the library "
                                                     "when it finishes")] = False


@declare("batch.stop", job=False, cacheable=False)
class Stop(Params, kw_only=True):
    """Stop a running batch as Ctrl-C would: what finished stays, running it again goes on."""
    out: Folder
