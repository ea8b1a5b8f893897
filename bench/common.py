"""Shared by the orchestrator and the measuring subprocesses: timing with warm-up and
repeats, the JSON line a measuring process prints, and where benchmark files live.

No TensorFlow here: the orchestrator stays light and every model is measured in a
process of its own (cold load times and peak memory are per process).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH_JSON "


def die_with_parent() -> None:
    """preexec_fn for a helper process (engine, sshd, ssh): SIGTERM it when the
    measuring process dies, even by SIGKILL (a timeout), so nothing is left running (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def cache_dir() -> Path:
    """Random checkpoints at the official sizes are made once and kept here:
    $MAGSTATION_BENCH_CACHE, else $MAGSTATION_HOME/bench, else ~/.cache/magstation-bench."""
    env = os.environ.get("MAGSTATION_BENCH_CACHE")
    if env:
        return Path(env).expanduser()
    home = os.environ.get("MAGSTATION_HOME")
    if home:
        return Path(home).expanduser() / "bench"
    return Path.home() / ".cache" / "magstation-bench"


def stats(samples: list[float]) -> dict[str, Any]:
    """Median, min, max and count of a list of seconds (or any unit)."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "n": len(samples)}


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(samples)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


# Warm-up calls for the small, fast per-call measurements (MusicVAE): TF's and oneDNN's
# thread pools and caches take a few calls to settle on both sides.
CALL_WARMUP = 5


def measure(fn: Callable[[], object], repeats: int, warmup: int = 1,
            idle: float = 0.0) -> dict[str, Any]:
    """Call fn `warmup` times untimed, then `repeats` times timed (seconds). `idle`:
    seconds of sleep before each timed call (a user's click after a pause, when worker
    threads have gone to sleep), not counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if idle:
            time.sleep(idle)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return stats(times)


def once(fn: Callable[[], object]) -> tuple[dict[str, Any], object]:
    t0 = time.perf_counter()
    out = fn()
    return stats([time.perf_counter() - t0]), out


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(results: dict[str, Any]) -> None:
    """The one line the orchestrator reads from a measuring process."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(results) + "\n")
    sys.stdout.flush()


def parse_output(text: str) -> dict[str, Any] | None:
    for line in reversed(text.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    return None


def quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings
    warnings.filterwarnings("ignore")


# ----------------------------------------------------------------- the measuring scripts
# Each model's native and Magenta scripts take the same command line (the orchestrator
# calls both with one argument list) and encode the same test tone.

NSYNTH_ENC_LEN = 31 * 512  # ~1 s: magenta's encoder graph needs a multiple of 512


def nsynth_arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--repeats", type=int, default=1)
    return ap


def nsynth_test_tone():
    """NSYNTH_ENC_LEN samples of a 220 Hz sine at 16 kHz, float32 (what both sides encode)."""
    import numpy as np

    t = np.arange(NSYNTH_ENC_LEN) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def gansynth_arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("midi")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--big-repeats", type=int, default=1)
    ap.add_argument("--secs", type=float, default=6.0, help="seconds per random instrument")
    return ap
