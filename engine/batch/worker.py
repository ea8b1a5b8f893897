"""Run one batch task through the engine's own job code, in whatever process this is
(the CLI's, or a Ray actor's), and hand back its files as bytes.

The job writes into a private temp folder; its files are read back and the folder is
removed, so the driver alone writes the output folder (atomically, through
engine/pathpolicy), whether the task ran here or on another machine. Models stay loaded
in the handler modules between tasks: a worker process holds its models.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from engine.batch.plan import Task
from engine.context import JobContext, ProgressSink
from engine.errors import EngineError, JobCancelled


def _relative(v: Any, roots: tuple[str, ...]) -> Any:
    """The result with the temp folder's paths made relative to the task's folder."""
    if isinstance(v, dict):
        return {k: _relative(x, roots) for k, x in v.items()}
    if isinstance(v, list):
        return [_relative(x, roots) for x in v]
    if isinstance(v, str):
        for r in roots:
            if v.startswith(r + os.sep):
                return v[len(r) + 1:]
    return v


def execute(task: Task | dict, *, sink: ProgressSink | None = None,
            tmp_root: str | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
    """Run one task (see `_execute`); the models it loads stay in the worker's model pool
    and are not evicted while it runs."""
    from engine import model_pool

    with model_pool.job_scope():
        return _execute(task, sink=sink, tmp_root=tmp_root, cancel=cancel)


def _execute(task: Task | dict, *, sink: ProgressSink | None = None,
             tmp_root: str | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
    """{"ok": True, "result", "files": {relative path: bytes}, "run_s", "host", "pid"} or
    {"ok": False, "error", "code"} for an engine error (bad input, missing model...).
    Anything else (a bug, a dying process) propagates."""
    from engine import methods

    if not isinstance(task, Task):
        task = msgspec.convert(task, Task)
    work = Path(tempfile.mkdtemp(prefix="ms-batch-", dir=tmp_root))
    t0 = time.perf_counter()
    try:
        m = methods.get(task.method)
        ctx = JobContext(job_id=f"batch-{task.id}", work_dir=work, _sink=sink,
                         _cancel=cancel if cancel is not None else threading.Event())
        result = methods.check_result(task.method, m.func(m.validate(task.params), ctx))
        if result.get("partial"):
            raise JobCancelled(f"task {task.id} was stopped part way")
        if task.then is not None:
            m2 = methods.get(task.then.method)
            p2 = dict(task.then.params)
            for k in task.then.take:
                p2[k] = result[k]
            if "folder" in m2.decl.params.__struct_fields__ and "folder" not in p2:
                p2["folder"] = str(work)
            result["then"] = methods.check_result(task.then.method,
                                                  m2.func(m2.validate(p2), ctx))
        files = {str(f.relative_to(work)): f.read_bytes()
                 for f in sorted(work.rglob("*")) if f.is_file() and not f.name.startswith(".")}
        roots = tuple({str(work), str(work.resolve())})
        return {"ok": True, "result": _relative(result, roots), "files": files,
                "run_s": time.perf_counter() - t0, "host": socket.gethostname(),
                "pid": os.getpid()}
    except EngineError as e:
        return {"ok": False, "error": e.message, "code": e.code,
                "run_s": time.perf_counter() - t0, "host": socket.gethostname(), "pid": os.getpid()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
