"""The job runner: one queue, one worker thread that owns the models, progress with ETA,
cancellation, and a result cache keyed by content (method + params, seed included).

Everything here runs without an event loop; the server adapts the callbacks to asyncio.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import queue
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import msgspec

from engine import methods, model_pool, paths
from engine.api.base import Params
from engine.context import JobContext
from engine.errors import EngineError, JobCancelled

# on_event(kind, payload) with kind in {"progress", "result", "error"}; called from the worker.
EventSink = Callable[[str, dict[str, Any]], None]

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"


@dataclass
class Job:
    id: str
    method: str
    params: Params  # validated against the method's declaration
    owner: str
    on_event: EventSink
    ctx: JobContext
    state: str = QUEUED
    done: float = 0.0
    total: float = 0.0
    eta_s: float | None = None
    message: str = ""
    created: float = field(default_factory=time.time)

    def summary(self) -> dict[str, Any]:
        return {"job": self.id, "method": self.method, "owner": self.owner, "state": self.state,
                "done": self.done, "total": self.total, "eta_s": self.eta_s, "message": self.message}


def cache_key(method: str, params: Params) -> str:
    """Content address of a job: the method and every parameter, defaults filled in."""
    canon = json.dumps({"m": method, "p": msgspec.to_builtins(params)}, sort_keys=True,
                       separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


class ResultCache:
    """An LRU in memory, backed by JSON files, so a restarted engine still has its results.

    A cached result that names files (`"path"`/`"*_path"` values) is dropped when a file is gone.
    """

    def __init__(self, folder: Path | None, capacity: int = 512) -> None:
        self.folder = folder
        self.capacity = capacity
        self._mem: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            hit = self._mem.get(key)
            if hit is not None:
                self._mem.move_to_end(key)
        if hit is None and self.folder is not None:
            f = self.folder / f"{key}.json"
            try:
                hit = methods.check_result("a cached result", json.loads(f.read_text()))
            except (OSError, ValueError, EngineError):
                hit = None  # unreadable, or written before results were checked
        if hit is not None and not _files_exist(hit):
            return None
        if hit is not None:
            self._remember(key, hit)
        return hit

    def put(self, key: str, result: dict) -> None:
        self._remember(key, result)
        if self.folder is not None:
            from engine.fsutil import atomic_write_text
            try:
                atomic_write_text(self.folder / f"{key}.json", json.dumps(result))
            except (OSError, TypeError, ValueError):
                pass  # a result that can't be stored on disk is still cached in memory

    def _remember(self, key: str, result: dict) -> None:
        with self._lock:
            self._mem[key] = result
            self._mem.move_to_end(key)
            while len(self._mem) > self.capacity:
                self._mem.popitem(last=False)


def _files_exist(result: Any) -> bool:
    if isinstance(result, dict):
        for k, v in result.items():
            if (k == "path" or k.endswith("_path")) and isinstance(v, str) and not Path(v).exists():
                return False
            if not _files_exist(v):
                return False
    elif isinstance(result, list):
        return all(_files_exist(v) for v in result)
    return True


class JobRunner:
    """Runs model jobs one at a time on the model worker, in submission order.

    Jobs of methods marked `light` (file reading and writing, previews: no models) run
    in order on a second worker, so a long render never holds them up. Jobs of `transfer`
    methods (model downloads, imports, verifies: minutes of network or disk) run on a third,
    so they hold up neither renders nor previews.
    """

    def __init__(self, work_root: Path | None = None, cache: ResultCache | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.work_root = work_root or paths.cache_dir() / "jobs"
        self.cache = cache if cache is not None else ResultCache(paths.cache_dir() / "results")
        self.on_change = on_change or (lambda: None)
        self._queues: dict[str, queue.Queue[Job | None]] = {"model": queue.Queue(), "light": queue.Queue(),
                                                          "transfer": queue.Queue()}
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        for name, q in self._queues.items():
            threading.Thread(target=self._work, args=(q,), name=f"magstation-{name}-worker",
                             daemon=True).start()

    # -- public API ---------------------------------------------------------------------
    def submit(self, method_name: str, params: Params | dict[str, Any] | None, on_event: EventSink,
               owner: str = "local") -> Job:
        """Queue a job; raises UnknownMethod or BadRequest (params checked against the
        method's declaration) before anything is queued."""
        m = methods.get(method_name)
        params = methods.with_seed(m, m.validate(params))
        job_id = f"j{next(self._ids)}"
        ctx = JobContext(job_id=job_id, work_dir=self.work_root / job_id)
        job = Job(job_id, method_name, params, owner, on_event, ctx)
        ctx._sink = lambda d, t, msg, eta, job=job: self._progress(job, d, t, msg, eta)
        with self._lock:
            self._jobs[job_id] = job
        self._queues["transfer" if m.transfer else "light" if m.light else "model"].put(job)
        self.on_change()
        return job

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state not in (QUEUED, RUNNING):
                return False
            job.ctx.cancel()  # a running job stops at its next check
            queued = job.state == QUEUED
            if queued:  # answered now, not when the worker reaches it behind a long render
                job.state = CANCELLED
        if queued:
            self._finish(job, CANCELLED, "error", JobCancelled(f"job {job.id} was cancelled").to_dict())
        return True

    def cancel_owner(self, owner: str) -> int:
        return sum(self.cancel(j.id) for j in self.jobs() if j.owner == owner)

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def active(self) -> list[dict[str, Any]]:
        return [j.summary() for j in self.jobs() if j.state in (QUEUED, RUNNING)]

    def shutdown(self) -> None:
        for j in self.jobs():
            self.cancel(j.id)
        for q in self._queues.values():
            q.put(None)

    # -- worker -------------------------------------------------------------------------
    def _progress(self, job: Job, done: float, total: float, message: str, eta: float | None) -> None:
        job.done, job.total, job.message, job.eta_s = done, total, message, eta
        job.on_event("progress", {"done": done, "total": total, "message": message, "eta_s": eta})
        self.on_change()

    def _finish(self, job: Job, state: str, kind: str, payload: dict[str, Any]) -> None:
        job.state = state
        with self._lock:
            self._jobs.pop(job.id, None)
        try:
            job.on_event(kind, payload)
        finally:
            self.on_change()

    def _work(self, q: "queue.Queue[Job | None]") -> None:
        while True:
            job = q.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: Job) -> None:
        with self._lock:  # the worker and `cancel` both claim a queued job; one wins
            if job.state != QUEUED:
                return  # cancelled while queued, and answered then
            job.state = RUNNING
        m = methods.get(job.method)
        key = cache_key(job.method, job.params) if m.cacheable else None
        started = time.monotonic()
        if key is not None and (hit := self.cache.get(key)) is not None:
            self._finish(job, DONE, "result", {"result": hit, "cached": True, "elapsed_s": 0.0})
            return
        job.ctx._started = started
        self.on_change()
        try:
            with model_pool.job_scope():  # its models are not evicted while it runs
                result = methods.check_result(job.method, m.func(job.params, job.ctx))
        except JobCancelled as e:
            self._finish(job, CANCELLED, "error", e.to_dict())
        except EngineError as e:
            self._finish(job, FAILED, "error", e.to_dict())
        except Exception as e:  # a bug in a job must not take the engine down
            tb = traceback.format_exc(limit=8)
            self._finish(job, FAILED, "error", EngineError(
                f"{job.method} failed: {type(e).__name__}: {e}", traceback=tb).to_dict())
        else:
            if key is not None and not result.get("partial"):
                self.cache.put(key, result)
            self._finish(job, DONE, "result", {"result": result, "cached": False,
                                               "elapsed_s": time.monotonic() - started})
