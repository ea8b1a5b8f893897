"""Native GANSynth timings and memory (one process: load time and peak RSS are its own).

    python -m bench.native_gansynth CKPT_DIR MIDI --repeats N [--big-repeats N]

Notes are rendered with use_cache=False in batches of 8 (the engine's default, and
gansynth_generate.py's); the 64 notes run as 8 batches (a single batch of 64 was slower
on a 2-core CPU and needs ~5 GB).  the arrangement runs the engine's own
`gansynth.render` job (note cache on, but every note of it is new).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import emit, gansynth_arg_parser, measure, once, peak_rss_mb, quiet_tf

quiet_tf()


def main() -> None:
    ap = gansynth_arg_parser()
    ap.add_argument("--precision", default="float32",
                    help="bfloat16: the opt-in bf16 convs (the orchestrator measures float32)")
    args = ap.parse_args()

    from engine.memory import tune_heap

    tune_heap()  # as the engine process does at start (engine/cli.py), before TF loads
    import numpy as np
    import tensorflow as tf

    from engine.handlers.gansynth import load_model
    from engine.local import run_method

    rss0 = peak_rss_mb()
    load, model = once(lambda: load_model(Path(args.ckpt), args.precision))
    r = {"tf_version": tf.__version__, "gs.load": load, "rss_after_import_mb": rss0,
         "gs.load_mem": peak_rss_mb()}

    def notes(n: int, seed: int):
        z = model.random_instruments(n, seed)
        p = np.random.RandomState(seed).randint(36, 84, n)
        return lambda: model.generate(z, p, batch_size=min(n, 8), use_cache=False)
    # One trace serves every batch size (the batch dimension is dynamic).
    r["gs.note1"] = measure(notes(1, 1), args.repeats)
    r["gs.b8"] = measure(notes(8, 8), args.repeats, warmup=0)
    r["gs.b64"] = measure(notes(64, 64), args.big_repeats, warmup=0)  # 8 batches of 8
    r["gs.arrangement"], out = once(lambda: run_method(
        "gansynth.render", {"midi": args.midi, "checkpoint": args.ckpt, "seed": 0,
                             "secs_per_instrument": args.secs, "precision": args.precision},
        work_dir=Path(tempfile.mkdtemp(prefix="bench-gs-")), quiet=True))
    r["gs.arrangement_notes"] = out["notes"]
    r["gs.peak_mem"] = peak_rss_mb()
    emit(r)


if __name__ == "__main__":
    main()
