"""Batch runs others can watch: every `magstation batch` run keeps a small JSON record in
$MAGSTATION_HOME/batches/<key>.json (key: the output folder), rewritten atomically on
every task event. The engine watches that folder (RunWatcher) and pushes the records to
subscribers of `batches`, so the TUI's job list shows a batch started anywhere on this
machine (the CLI, a script, the TUI itself) without polling, importing TensorFlow or
holding the batch in the engine: the batch is its own process and outlives the engine.

A record: out, plan, name, pid, host, started, updated, state (running | done | failed |
stopped | error), tasks (the plan's), total/done/failed (this run's: the plan's less
skipped, those finished before), skipped, eta_s, elapsed_s, error,
and workers: [{name, done, mean_s, current, eta_s, deaths}]. ETAs are as of `updated`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

from engine import paths
from engine.fsutil import atomic_write_text

RUNNING, DONE, FAILED, STOPPED, ERROR = "running", "done", "failed", "stopped", "error"
KEEP = 20  # records shown (newest first); older ones stay on disk until their folder runs again
WATCH_S = 0.5


def runs_dir() -> Path:
    return paths.home() / "batches"


def run_key(out: str | Path) -> str:
    return hashlib.sha256(str(Path(out).expanduser().resolve()).encode()).hexdigest()[:16]


def record_path(out: str | Path) -> Path:
    return runs_dir() / f"{run_key(out)}.json"


def log_path(out: str | Path) -> Path:
    return runs_dir() / f"{run_key(out)}.log"


class RunRecorder:
    """Writes one run's record: `update(snapshot)` on each event, `finish(state)` at the end."""

    def __init__(self, out: Path, *, plan: str | None, name: str, ray: str | None) -> None:
        self.path = record_path(out)
        self.body: dict[str, Any] = {
            "key": run_key(out), "out": str(Path(out).resolve()), "plan": plan, "name": name,
            "ray": ray, "pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
            "state": RUNNING, "error": "", "total": 0, "done": 0, "failed": 0, "skipped": 0,
            "eta_s": None, "elapsed_s": 0.0, "workers": []}
        paths.ensure_dir(self.path.parent)

    def update(self, snapshot: dict[str, Any], state: str = RUNNING, error: str = "") -> None:
        self.body.update(snapshot, state=state, error=error, updated=time.time())
        try:
            atomic_write_text(self.path, json.dumps(self.body) + "\n")
        except OSError:
            pass  # the record is for watchers; the batch itself must not stop over it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            rec["error"] = rec.get("error") or "the batch process ended without finishing"
        out.append(rec)
    out.sort(key=lambda r: r.get("started", 0.0), reverse=True)
    return out[:limit]


class RunWatcher:
    """Calls `on_change(records)` (from its own thread) whenever the records change: a
    record rewritten (every write renames into the folder, so the folder's mtime moves) or
    a running batch's process gone."""

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
