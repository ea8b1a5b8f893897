"""Native MusicVAE load + first sample, in a fresh process as after an engine (re)start,
and that first sample against warm ones. Run several times by `python -m bench`; prints
one BENCH_JSON line.

    python -m bench.native_musicvae_load DRUMS_PREFIX [--prior SMALL_PREFIX] [--warm N]

This is a model (re)load in a running engine. Before the clock starts the job handlers
are imported (the engine does at start, engine/server.py) and, with --prior, one
drums.sample job runs on another (small) checkpoint, as the engine's start-up
`engine.warm` job or any earlier drum job has: process-wide first-use costs (imports,
msgspec's type set-up, TF's first eager calls) are not the model's. "load" is `MusicVae.load`, which
also makes the model's graphs (from $MAGSTATION_HOME/cache/graphs when they are there)
and runs each once; "first sample" is the `drums.sample` job right after it.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import emit, once, quiet_tf, stats

quiet_tf()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("drums")
    ap.add_argument("--prior", help="a small checkpoint to run one drums.sample job on first")
    ap.add_argument("--warm", type=int, default=10, help="warm samples after the first")
    args = ap.parse_args()

    import tempfile
    from pathlib import Path

    import tensorflow as tf

    from engine import methods
    from engine.local import run_method
    from engine.models.musicvae import MusicVae

    methods.load_handlers()
    work = Path(tempfile.mkdtemp(prefix="bench-mvae-load-"))
    drums = {"checkpoint": args.drums, "config": "cat-drums_2bar_small"}
    if args.prior:
        run_method("drums.sample", {"checkpoint": args.prior, "config": drums["config"],
                                    "n": 1, "seed": 0}, work_dir=work, quiet=True)

    def sample(seed: int) -> object:
        return run_method("drums.sample", {**drums, "n": 1, "seed": seed}, work_dir=work,
                          quiet=True)

    load, model = once(lambda: MusicVae.load(drums["config"], args.drums))
    first, _ = once(lambda: sample(0))
    warm = []
    for seed in range(1, args.warm + 1):
        t0 = time.perf_counter()
        sample(seed)
        warm.append(time.perf_counter() - t0)
    lf = load["median"] + first["median"]
    emit({"tf_version": tf.__version__, "mvae.load": load, "mvae.first_sample": first,
          "mvae.load_first": stats([lf]), "mvae.warm_sample": stats(warm),
          "mvae.first_over_warm": first["median"] / statistics.median(warm),
          "mvae.graphs": dict(model.warmed)})


if __name__ == "__main__":
    main()
