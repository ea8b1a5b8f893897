"""Run one engine method in this process, with a progress bar on stderr.

The headless CLI uses this: the same job functions the engine server runs, without
a server. TensorFlow is imported only when a model job runs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from typing import Any

from engine import methods, model_pool
from engine.api.base import Params
from engine.context import JobContext


def progress_bar(done: float, total: float, message: str, eta: float | None) -> None:
    if not sys.stderr.isatty():
        return
    frac = 0.0 if total <= 0 else min(1.0, done / total)
    width = 30
    fill = int(frac * width)
    eta_s = f" ETA {eta:5.1f}s" if eta is not None else ""
    sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {frac * 100:5.1f}%{eta_s} {message[:40]:<40}")
    if frac >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run_method(name: str, params: Params | dict[str, Any] | None = None,
               work_dir: Path | None = None, quiet: bool = False) -> dict:
    """Validate params against the method's declaration, run it, check its result."""
    m = methods.get(name)
    typed = methods.with_seed(m, m.validate(params))
    if work_dir is None:
        work_dir = Path(tempfile.mkdtemp(prefix="magstation-"))
    ctx = JobContext(job_id=f"local-{name}", work_dir=work_dir, _sink=None if quiet else progress_bar)
    with model_pool.job_scope():
        return methods.check_result(name, m.func(typed, ctx))
