"""Native MusicVAE/GrooVAE timings through the engine's own drum jobs (model + converters,
as the TUI gets them). Run by `python -m bench`; prints one BENCH_JSON line.

    python -m bench.native_musicvae DRUMS_PREFIX GROOVE_PREFIX --repeats N
"""

from __future__ import annotations

import argparse
import time

T_START = time.perf_counter()

from bench.common import CALL_WARMUP, emit, measure, once, quiet_tf  # noqa: E402

quiet_tf()


def random_pattern(seed: int, steps: int = 32) -> dict:
    import numpy as np
    rng = np.random.RandomState(seed)
    hits = rng.rand(9, steps) < np.array([0.35, 0.3, 0.4, 0.1, 0.08, 0.05, 0.05, 0.04, 0.05])[:, None]
    return {"velocities": np.where(hits, 80, 0).tolist(), "qpm": 120.0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("drums")
    ap.add_argument("groove")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()

    import tensorflow as tf

    import tempfile
    from functools import partial
    from pathlib import Path

    from engine.local import run_method as _run
    from engine.models.musicvae import MusicVae
    run_method = partial(_run, work_dir=Path(tempfile.mkdtemp(prefix="bench-mvae-")))
    t_import = time.perf_counter()

    drums = {"checkpoint": args.drums, "config": "cat-drums_2bar_small"}
    groove = {"checkpoint": args.groove, "config": "groovae_2bar_humanize"}
    load, _ = once(lambda: MusicVae.load(drums["config"], args.drums))
    first, _ = once(lambda: run_method("drums.sample", {**drums, "n": 1, "seed": 0}, quiet=True))
    cold = {"median": time.perf_counter() - T_START}
    cold.update(min=cold["median"], max=cold["median"], n=1)

    seeds = iter(range(1, 10 ** 6))  # a new seed per call: nothing may come from a cache
    r = {"tf_version": tf.__version__, "import_s": t_import - T_START,
         "mvae.load": load, "mvae.first_sample": first, "mvae.cold": cold}

    def sample(n: int):
        return lambda: run_method("drums.sample", {**drums, "n": n, "seed": next(seeds)},
                                  quiet=True)
    r["mvae.sample1"] = measure(sample(1), args.repeats, CALL_WARMUP)
    r["mvae.sample1_idle"] = measure(sample(1), args.repeats, CALL_WARMUP, idle=0.1)
    model = MusicVae.load(drums["config"], args.drums)
    r["mvae.sample1_model"] = measure(
        lambda: model.sample(1, temperature=1.0, seed=next(seeds)), args.repeats, CALL_WARMUP)
    r["mvae.sample8"] = measure(sample(8), args.repeats, CALL_WARMUP)
    a, b = random_pattern(1), random_pattern(2)
    r["mvae.interp6"] = measure(lambda: run_method(
        "drums.interpolate", {**drums, "a": a, "b": b, "steps": 6, "seed": next(seeds)},
        quiet=True), args.repeats, CALL_WARMUP)
    r["mvae.humanize"] = measure(lambda: run_method(
        "drums.humanize", {**groove, "pattern": a, "seed": next(seeds)}, quiet=True),
        args.repeats, CALL_WARMUP)
    emit(r)


if __name__ == "__main__":
    main()
