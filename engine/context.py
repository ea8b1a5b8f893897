"""What a running job sees: progress reporting, cancellation, its seed, a place for files."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from engine.errors import JobCancelled

ProgressSink = Callable[[float, float, str, float | None], None]


@dataclass
class JobContext:
    """Handed to every job function.

    Long loops call `ctx.progress(done, total, message)` and `ctx.check_cancelled()`
    every step (cheap); cancellation raises `JobCancelled` there. Jobs that can keep
    partial results (NSynth synthesis) check `ctx.cancelled` instead and return early
    with `partial=True` in their result.
    """

    job_id: str = "local"
    work_dir: Path | None = None  # a folder this job may write result files into
    _sink: ProgressSink | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)
    _started: float = field(default_factory=time.monotonic)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def progress(self, done: float, total: float, message: str = "",
                 eta_s: float | None = None) -> None:
        """Report progress; the ETA is extrapolated from the time since the job began,
        unless the job knows better (`eta_s`: a resumed download's rate)."""
        eta: float | None = eta_s
        if eta is None and total > 0 and done > 0:
            elapsed = time.monotonic() - self._started
            eta = max(0.0, elapsed * (total - done) / done)
        if self._sink is not None:
            self._sink(done, total, message, eta)
        self.check_cancelled()
