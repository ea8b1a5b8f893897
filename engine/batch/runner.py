"""The batch driver: skip finished tasks, hand the rest to an executor (this process, or
Ray actors), write every result into the output folder, retry, report progress.

Executors run tasks with engine.batch.worker.execute and answer outcomes; the driver
alone writes files (atomically, through engine/pathpolicy, inside <output>/<task id>/)
and the manifest. A task whose worker died is re-run on another worker; a task that
fails `retries` times (3) is recorded with its error and the batch goes on.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import msgspec

from engine.batch.manifest import Manifest, sha256
from engine.batch.plan import Plan, Task, task_hash
from engine.errors import BadRequest, EngineError
from engine.fsutil import atomic_write_bytes
from engine.pathpolicy import check_name, output_file, work_folder

RETRIES = 3


@dataclass
class Outcome:
    task_id: str
    worker: str
    kind: str  # "ok" | "error" (the task failed) | "died" (its worker died)
    payload: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class WorkerStats:
    name: str
    done: int = 0
    busy_s: float = 0.0
    current: str | None = None
    started: float = 0.0
    deaths: int = 0

    def eta(self, now: float, mean: float | None = None) -> float | None:
        """Seconds until this worker's current task is done, from its mean task time (or
        `mean`, the batch's, before it has finished one)."""
        if self.current is None or (self.done == 0 and mean is None):
            return None
        own = self.busy_s / self.done if self.done else mean
        assert own is not None
        return max(0.0, own - (now - self.started))


@dataclass
class Event:
    kind: str  # start | done | failed | retry | skip | died
    task_id: str
    worker: str = ""
    attempt: int = 0
    error: str = ""


class Progress:
    """Done/total and ETA for the batch and per worker; a line on stderr."""

    def __init__(self, total: int, workers: list[str], *, quiet: bool = False) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.t0 = time.monotonic()
        self.workers = {w: WorkerStats(w) for w in workers}
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.sink: Callable[[dict[str, Any]], None] | None = None  # the run's record (runs.py)

    def mean(self) -> float | None:
        """Mean seconds per task over every worker (None before the first is done)."""
        n = sum(w.done for w in self.workers.values())
        return sum(w.busy_s for w in self.workers.values()) / n if n else None

    def record(self) -> None:
        if self.sink is not None:
            self.sink(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """Done/total, ETA and the workers, as a run record holds them (engine/batch/runs.py)."""
        now, mean = time.monotonic(), self.mean()
        eta = self.eta()
        return {"total": self.total, "done": self.done, "failed": self.failed,
                "eta_s": None if eta is None else round(eta, 2),
                "elapsed_s": round(now - self.t0, 2),
                "workers": [{"name": w.name, "done": w.done,
                             "mean_s": round(w.busy_s / w.done, 3) if w.done else None,
                             "current": w.current, "deaths": w.deaths,
                             "eta_s": None if (e := w.eta(now, mean)) is None else round(e, 2)}
                            for w in self.workers.values()]}

    def eta(self) -> float | None:
        if self.done == 0:
            return None
        rate = self.done / (time.monotonic() - self.t0)
        return (self.total - self.done - self.failed) / rate

    def line(self) -> str:
        now, batch_mean = time.monotonic(), self.mean()
        eta = self.eta()
        parts = [f"[{self.done + self.failed}/{self.total}]",
                 f"{100 * (self.done + self.failed) / max(1, self.total):5.1f}%",
                 f"ETA {_fmt(eta)}" if eta is not None else "ETA ?"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        for w in self.workers.values():
            mean = f"{w.busy_s / w.done:.1f}s/task" if w.done else "-"
            w_eta = w.eta(now, batch_mean)
            busy = f"{w.current} ETA {_fmt(w_eta)}" if w.current and w_eta is not None \
                else (w.current or "idle")
            parts.append(f"| {w.name}: {w.done} done, {mean}, {busy}")
        return " ".join(parts)

    def show(self, final: bool = False) -> None:
        if not final:
            self.record()
        if self.quiet:
            return
        text = self.line()
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + text[:200] + ("\n" if final else ""))
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _fmt(s: float | None) -> str:
    if s is None:
        return "?"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class LocalExecutor:
    """Tasks one at a time in this process, through the same job code as the engine."""

    def __init__(self) -> None:
        self.names = ["local"]
        self._task: Task | None = None

    def free(self, avoid: set[str] | None = None) -> str | None:
        return None if self._task is not None else "local"

    def busy(self) -> bool:
        return self._task is not None

    def submit(self, task: Task, worker: str) -> None:
        self._task = task

    def wait(self) -> list[Outcome]:
        from engine.batch.worker import execute

        task, self._task = self._task, None
        assert task is not None
        cancel = threading.Event()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["out"] = execute(task, cancel=cancel)
            except BaseException as e:  # noqa: BLE001 - re-raised below
                box["error"] = e

        t = threading.Thread(target=work, name=f"batch-{task.id}", daemon=True)
        t.start()
        try:
            while t.is_alive():
                t.join(0.2)
        except KeyboardInterrupt:  # Ctrl-C: stop the job at its next step, then stop
            cancel.set()
            t.join()
            raise
        if "error" in box:
            raise box["error"]
        out = box["out"]
        return [Outcome(task.id, "local", "ok" if out["ok"] else "error", out, out.get("error", ""))]

    def close(self, interrupted: bool = False) -> None:
        pass


@dataclass
class Summary:
    out: str
    total: int
    done: int
    skipped: int
    failed: int
    wall_s: float
    workers: int
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def _write_outputs(out: Path, task: Task, files: dict[str, bytes], manifest: Manifest) -> list[dict]:
    """Each file into <out>/<task id>/ atomically; files this task wrote before may be
    replaced, anything else there is never overwritten."""
    check_name(task.id, "id")
    folder = out / task.id
    previous = manifest.previous_files(task.id)
    written = []
    for rel, data in sorted(files.items()):
        parts = Path(rel).parts
        for part in parts:
            check_name(part, "files")
        sub = folder.joinpath(*parts[:-1])
        rel_out = str(Path(task.id, *parts))
        existing = sub / parts[-1]
        same = existing.is_file() and not existing.is_symlink() \
            and existing.stat().st_size == len(data) and existing.read_bytes() == data
        if not same:  # (the same bytes already there: a run stopped before its manifest)
            target = output_file(sub, parts[-1], overwrite=rel_out in previous, what="files",
                                 create_folder=True)
            atomic_write_bytes(target, data)
        written.append({"path": rel_out, "sha256": sha256(data), "bytes": len(data)})
    for old in previous - {w["path"] for w in written}:  # outputs of the task's older version
        try:
            (out / old).unlink()
        except OSError:
            pass
    return written


def run_plan(plan: Plan, out: str | Path, *, ray: str | None = None, workers: int | None = None,
             cpus_per_worker: float = 1.0, retries: int = RETRIES, quiet: bool = False,
             on_event: Callable[[Event, Any], None] | None = None,
             executor: Any = None, record: bool = False) -> Summary:
    """Run a plan into `out`. `ray`: None (this process), "auto" (the Ray cluster started
    on this machine, else a local one) or a cluster address. `record`: keep a run record
    the engine pushes to the TUI's job list (engine/batch/runs.py)."""
    out_dir = work_folder(Path(out).expanduser())
    manifest = Manifest(out_dir, plan=plan.path, name=plan.name)
    recorder = None
    if record:
        from engine.batch.runs import RunRecorder
        recorder = RunRecorder(out_dir, plan=plan.path, name=plan.name, ray=ray)
    hashes = {t.id: task_hash(t) for t in plan.tasks}
    todo = [t for t in plan.tasks if not manifest.finished(t.id, hashes[t.id])]
    skipped = len(plan.tasks) - len(todo)
    t0 = time.monotonic()
    if on_event is not None:
        for t in plan.tasks:
            if t not in todo:
                on_event(Event("skip", t.id), None)
    if recorder is not None:
        recorder.body.update(skipped=skipped, tasks=len(plan.tasks))
    if not todo:
        if recorder is not None:
            recorder.update({"total": 0, "done": 0, "failed": 0, "eta_s": 0.0}, "done")
        if not quiet:
            print(f"batch: all {len(plan.tasks)} tasks are finished in {out_dir} (manifest.json); "
                  "nothing to do", file=sys.stderr)
        return Summary(str(out_dir), len(plan.tasks), 0, skipped, 0, 0.0, 0)
    own = executor is None  # an executor handed in stays open (bench: warm actors)
    if executor is None:
        if ray is None:
            executor = LocalExecutor()
        else:
            from engine.batch.runner_ray import RayExecutor
            try:
                executor = RayExecutor(ray, workers=workers, cpus_per_worker=cpus_per_worker)
            except BaseException as e:  # no cluster: the job list says so too
                if recorder is not None:
                    recorder.update({}, "error", getattr(e, "message", None) or f"{type(e).__name__}: {e}")
                raise
    progress = Progress(len(todo), executor.names, quiet=quiet)
    if recorder is not None:
        progress.sink = recorder.update
    by_id = {t.id: t for t in todo}
    queue = deque(todo)
    attempts: dict[str, int] = {}
    avoid: dict[str, set[str]] = {}
    started: dict[str, float] = {}
    done = failed = 0
    failures: dict[str, str] = {}
    interrupted = False
    crashed = ""

    def emit(ev: Event) -> None:
        if on_event is not None:
            on_event(ev, executor)

    try:
        progress.show()
        while queue or executor.busy():
            while queue:
                # the first queued task an idle worker may take (a task waiting for a
                # worker it has not died on does not hold up the others)
                pick = next(((i, w) for i, t in enumerate(queue)
                             if (w := executor.free(avoid.get(t.id))) is not None), None)
                if pick is None:
                    break
                i, w = pick
                task = queue[i]
                del queue[i]
                executor.submit(task, w)
                started[task.id] = time.time()
                st = progress.workers[w]
                st.current, st.started = task.id, time.monotonic()
                emit(Event("start", task.id, w, attempts.get(task.id, 0) + 1))
                progress.record()
            for oc in executor.wait():
                task = by_id[oc.task_id]
                st = progress.workers[oc.worker]
                st.current = None
                elapsed = time.monotonic() - st.started
                if oc.kind == "ok":
                    try:
                        files = _write_outputs(out_dir, task, oc.payload["files"], manifest)
                    except EngineError as e:
                        oc = Outcome(oc.task_id, oc.worker, "error", error=f"writing outputs: {e.message}")
                    else:
                        st.done += 1
                        st.busy_s += elapsed
                        done += 1
                        progress.done += 1
                        manifest.record(task.id, _entry(task, hashes[task.id], "ok",
                                                        attempts.get(task.id, 0) + 1, files=files,
                                                        result=oc.payload["result"],
                                                        timings=_timings(oc, started[task.id])))
                        emit(Event("done", task.id, oc.worker))
                        progress.show()
                        continue
                n = attempts[task.id] = attempts.get(task.id, 0) + 1
                if oc.kind == "died":
                    st.deaths += 1
                    avoid.setdefault(task.id, set()).add(oc.worker)  # re-run elsewhere
                    emit(Event("died", task.id, oc.worker, n, oc.error))
                if n < retries:
                    queue.append(task)
                    emit(Event("retry", task.id, oc.worker, n, oc.error))
                else:
                    failed += 1
                    progress.failed += 1
                    failures[task.id] = oc.error
                    manifest.record(task.id, _entry(task, hashes[task.id], "failed", n,
                                                    error=oc.error,
                                                    timings=_timings(oc, started[task.id])))
                    emit(Event("failed", task.id, oc.worker, n, oc.error))
                progress.show()
    except KeyboardInterrupt:
        interrupted = True
        raise
    except BaseException as e:
        crashed = f"{type(e).__name__}: {e}"
        raise
    finally:
        if own or interrupted:
            executor.close(interrupted)
        if recorder is not None:
            state = "stopped" if interrupted else "error" if crashed else \
                "failed" if failed else "done"
            recorder.update(progress.snapshot(), state,
                            crashed or ("stopped by Ctrl-C (or batch.stop); run it again to go on"
                                        if interrupted else ""))
        if not quiet:
            progress.show(final=True)
            if interrupted:
                print(f"\nbatch: stopped; {done} tasks finished this run are in {out_dir}. "
                      "Run the same command again to go on.", file=sys.stderr)
    return Summary(str(out_dir), len(plan.tasks), done, skipped, failed,
                   time.monotonic() - t0, len(executor.names), failures)


def _timings(oc: Outcome, started: float) -> dict[str, Any]:
    p = oc.payload
    return {"worker": oc.worker, "host": p.get("host"), "pid": p.get("pid"),
            "run_s": round(p.get("run_s", 0.0), 4), "wall_s": round(time.time() - started, 4),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}


def _entry(task: Task, h: str, status: str, attempts: int, *, files: list | None = None,
           result: Any = None, error: str = "", timings: dict | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"method": task.method, "params": task.params,
                         "then": msgspec.to_builtins(task.then) if task.then else None,
                         "hash": h, "seed": task.params.get("seed"), "model": task.model(),
                         "status": status, "attempts": attempts, "timings": timings or {}}
    if status == "ok":
        e.update(files=files or [], result=result)
    else:
        e["error"] = error
    return e


def check_out_folder(out: str | Path | None, plan: Plan) -> Path:
    if out is None:
        if plan.output is None:
            raise BadRequest("say where the results go: --out FOLDER (or `output` in the plan's "
                             "[batch] table)", param="out")
        out = plan.output
    return Path(out).expanduser()
