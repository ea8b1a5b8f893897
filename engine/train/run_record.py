"""The job list's record of a training run (a run record of kind `train`,
engine/batch/runs.py): every `magstation train melody` writes step/total, loss, accuracy
and ETA into it while it trains (at most twice a second), then its end: done with the
bundle, stopped (Ctrl-C or SIGTERM: resumable), or error with the message."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from engine.batch import runs

WRITE_EVERY_S = 0.5


class TrainRecord:
    """Call it as the trainer's progress callback; `finish(...)` at the end."""

    def __init__(self, out: Path, *, name: str, data: Path, config: str, steps: int) -> None:
        self.rec = runs.RunRecorder(Path(out), name=name, kind=runs.TRAIN,
                                    data=str(Path(data).expanduser().resolve()),
                                    config=config)
        self.rec.update({"total": steps, "done": 0})
        self._t0: float | None = None
        self._step0 = 0
        self._written = 0.0
        self._started = time.monotonic()

    def __call__(self, step: int, total: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        if self._t0 is None:  # the first step includes graph building: time from after it
            self._t0, self._step0 = now, step
            self.rec.body["start_step"] = step - 1
        done = step - self._step0
        rate = done / (now - self._t0) if now > self._t0 and done else 0.0
        snap: dict[str, Any] = {
            "done": step, "total": total, "loss": metrics.get("loss"),
            "accuracy": metrics.get("accuracy"), "elapsed_s": now - self._started,
            "eta_s": (total - step) / rate if rate else None}
        self.rec.body.update(snap)
        if now - self._written >= WRITE_EVERY_S or step >= total or step == self._step0:
            self._written = now
            self.rec.update(snap)

    def finish(self, state: str, *, step: int | None = None, bundle: Path | None = None,
               error: str = "") -> None:
        snap: dict[str, Any] = {"eta_s": None, "elapsed_s": time.monotonic() - self._started}
        if step is not None:
            snap["done"] = step
        if bundle is not None:
            snap["bundle"] = str(bundle)
        self.rec.update(snap, state, error)
