"""Background runs others can watch: every `magstation batch` run and every `magstation
train melody` run keeps a small JSON record in $MAGSTATION_HOME/batches/<key>.json (key:
the run's kind and output folder), rewritten atomically on every event (a training run:
at most twice a second). The engine watches that folder (RunWatcher) and pushes the records to
subscribers of `batches`, so the TUI's job list shows a run started anywhere on this
machine (the CLI, a script, the TUI itself) without polling, importing TensorFlow or
holding the run in the engine: the run is its own process and outlives the engine.
`launch` starts one that way (the engine's `batch.start` and `train.start`), `running`
finds one by folder to stop it.

Every record: key, kind (batch | train; a record without one is a batch), out, name, pid,
host, started, updated, state (running | done | failed | stopped | error), total, done,
eta_s, elapsed_s, error. ETAs are as of `updated`.
A batch's: plan, ray, tasks (the plan's), total/done/failed (this run's: the plan's less
skipped, those finished before), skipped, and workers: [{name, done, mean_s, current,
eta_s, deaths}].
A training run's (engine/train/run_record.py): data, config, done/total (steps), start_step
(where this process resumed), loss, accuracy, bundle (the `.mag`, once written).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from engine import paths
from engine.fsutil import atomic_write_text

RUNNING, DONE, FAILED, STOPPED, ERROR = "running", "done", "failed", "stopped", "error"
BATCH, TRAIN = "batch", "train"
KIND_FIELDS: dict[str, dict[str, Any]] = {  # each kind's fields, before its first event
    BATCH: {"plan": None, "ray": None, "failed": 0, "skipped": 0, "workers": []},
    TRAIN: {"data": "", "config": "", "start_step": 0, "loss": None, "accuracy": None,
            "bundle": None}}
KEEP = 20  # records shown (newest first); older ones stay on disk until their folder runs again
WATCH_S = 0.5


def runs_dir() -> Path:
    return paths.home() / "batches"


def run_key(out: str | Path, kind: str = BATCH) -> str:
    """A batch's key is its folder's (as before kinds); another kind's adds the kind, so a
    batch and a training run into one folder keep two records."""
    folder = str(Path(out).expanduser().resolve())
    text = folder if kind == BATCH else f"{kind}:{folder}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_path(out: str | Path, kind: str = BATCH) -> Path:
    return runs_dir() / f"{run_key(out, kind)}.json"


def log_path(out: str | Path, kind: str = BATCH) -> Path:
    return runs_dir() / f"{run_key(out, kind)}.log"


class RunRecorder:
    """Writes one run's record: `update(snapshot, state)` on each event and at the end.
    `fields`: the kind's own (a batch's plan and ray, a training run's data and config)."""

    def __init__(self, out: Path, *, name: str, kind: str = BATCH, **fields: Any) -> None:
        self.path = record_path(out, kind)
        self.body: dict[str, Any] = {
            "key": run_key(out, kind), "kind": kind, "out": str(Path(out).resolve()),
            "name": name, "pid": os.getpid(), "host": socket.gethostname(),
            "started": time.time(), "state": RUNNING, "error": "", "total": 0, "done": 0,
            "eta_s": None, "elapsed_s": 0.0, **KIND_FIELDS.get(kind, {}), **fields}
        paths.ensure_dir(self.path.parent)

    def update(self, snapshot: dict[str, Any], state: str = RUNNING, error: str = "") -> None:
        self.body.update(snapshot, state=state, error=error, updated=time.time())
        try:
            atomic_write_text(self.path, json.dumps(self.body) + "\n")
        except OSError:
            pass  # the record is for watchers; the run itself must not stop over it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(out: str | Path, kind: str) -> dict[str, Any] | None:
    """The record of a run of `kind` into `out` still running, if any."""
    key = run_key(out, kind)
    return next((r for r in read_runs(limit=10_000)
                 if r.get("key") == key and r.get("state") == RUNNING), None)


_CHILDREN: dict[int, subprocess.Popen] = {}  # reaped by a thread each, so a dead one is not a zombie


def launch(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start `python ARGV` as a process of its own session (it outlives the engine, and a
    Ctrl-C in the engine's terminal does not reach it), its output into `log`."""
    from engine.paths import PRIVATE_FILE_MODE, PROJECT_ROOT

    paths.ensure_dir(log.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.DEVNULL, stdout=fh,
                                stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                start_new_session=True)
    _CHILDREN[proc.pid] = proc
    threading.Thread(target=lambda: (proc.wait(), _CHILDREN.pop(proc.pid, None)),
                     name=f"magstation-run-{proc.pid}", daemon=True).start()
    return proc


def signal_run(rec: dict[str, Any], sig: int = signal.SIGINT) -> bool:
    """Send `sig` to a running run's process (on this host); False if it is already gone."""
    try:
        os.kill(int(rec["pid"]), sig)
    except ProcessLookupError:
        return False
    return True


def stop_run(out: Path, kind: str, what: str, sig: int = signal.SIGINT) -> dict[str, Any]:
    """Stop the run of `kind` going into `out` as Ctrl-C would (`sig`); BadRequest naming
    `what` ("batch", "training run") when none runs there or it runs on another host."""
    from engine.errors import BadRequest

    rec = running(out, kind)
    if rec is None:
        raise BadRequest(f"no {what} is running into {out}", param="out")
    if rec.get("host") != socket.gethostname():
        raise BadRequest(f"the {what} into {out} runs on {rec.get('host')}; stop it there "
                         "(Ctrl-C)", param="out")
    return {"out": str(out), "stopping": signal_run(rec, sig), "pid": rec["pid"]}


def read_runs(limit: int = KEEP) -> list[dict[str, Any]]:
    """The newest records first. A record still `running` whose process (on this host) is
    gone is shown `stopped`: the run was killed before it could say so."""
    out = []
    try:
        files = list(runs_dir().glob("*.json"))
    except OSError:
        return []
    here = socket.gethostname()
    for f in files:
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being replaced, or not ours
        if not isinstance(rec, dict) or "out" not in rec:
            continue
        if rec.get("state") == RUNNING and rec.get("host") == here \
                and not _alive(int(rec.get("pid") or 0)):
            rec["state"] = STOPPED
            rec["error"] = (rec.get("error")
                            or f"the {rec.get('kind', BATCH)} process ended without finishing")
        out.append(rec)
    out.sort(key=lambda r: r.get("started", 0.0), reverse=True)
    return out[:limit]


class RunWatcher:
    """Calls `on_change(records)` (from its own thread) whenever the records change: a
    record rewritten (every write renames into the folder, so the folder's mtime moves) or
    a running run's process gone."""

    def __init__(self, on_change: Callable[[list[dict[str, Any]]], None],
                 interval: float = WATCH_S) -> None:
        self.on_change = on_change
        self.interval = interval
        self.runs: list[dict[str, Any]] = read_runs()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="magstation-batch-watch",
                                        daemon=True)

    def start(self) -> "RunWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _stamp(self) -> int:
        try:
            return runs_dir().stat().st_mtime_ns
        except OSError:
            return 0

    def _loop(self) -> None:
        seen = self._stamp()
        while not self._stop.wait(self.interval):
            stamp = self._stamp()
            running = any(r.get("state") == RUNNING for r in self.runs)
            if stamp == seen and not running:
                continue
            seen = stamp
            runs = read_runs()
            if runs != self.runs:
                self.runs = runs
                try:
                    self.on_change(runs)
                except Exception:  # noqa: BLE001 - a closing server; the watcher goes on
                    pass
