"""NSynth synthesis speed of the native model on full-size (h512_bo16) weights.

    python bench/nsynth_speed.py [--checkpoint PREFIX] [--samples N] [BATCH ...]

With --checkpoint /tmp/magref/work/nsynth_full (made by bench/nsynth_magenta_speed.py in
the reference env) it also checks the audio against magenta's for the same seed and
encodings. Without, it uses random full-size weights. Prints ms per step and per
voice-sample, timed after the first (compiling) chunk.
"""
import argparse
import os
import time

import numpy as np

from engine.models.nsynth import H512_BO16, NSynth, variable_shapes_for


def random_full_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    w = {}
    for name, shape in variable_shapes_for(H512_BO16).items():
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        scale = 1 / np.sqrt(fan_in) if len(shape) > 1 else 0.05
        w[name] = (scale * rng.randn(*shape)).astype(np.float32)
    return w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("batches", nargs="*", type=int, default=[1, 16])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--no-jit", action="store_true")
    ap.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    args = ap.parse_args()
    jit = not args.no_jit
    model = (NSynth.load(args.checkpoint, jit_compile=jit, precision=args.precision)
             if args.checkpoint else
             NSynth(random_full_weights(), jit_compile=jit, precision=args.precision))
    for batch in args.batches:
        if args.checkpoint:
            enc = np.load(os.path.join(args.checkpoint, "enc.npy"))[:batch, : args.samples // 512]
        else:
            enc = np.random.RandomState(1).randn(batch, args.samples // 512, 16).astype(np.float32)
        marks: list[tuple[int, float]] = []
        result = model.synthesize(enc, seed=0, chunk_seconds=1.0,
                                  progress=lambda d, t: marks.append((d, time.perf_counter(), time.process_time())))
        (d0, t0, c0), (d1, t1, c1) = marks[0], marks[-1]
        step_ms = (t1 - t0) / (d1 - d0) * 1000
        cpu_ms = (c1 - c0) / (d1 - d0) * 1000
        line = (f"native batch {batch}: {step_ms:.2f} ms/step wall ({cpu_ms:.2f} ms CPU), "
                f"{step_ms / batch:.2f} ms per voice-sample ({d1 - d0} steps timed, jit={model.jit_compile}, {model.precision}, "
                f"load {os.getloadavg()[0]:.1f})")
        ref = os.path.join(args.checkpoint or "", f"magenta_b{batch}.npy")
        if args.checkpoint and os.path.exists(ref):
            want = np.load(ref)
            n = min(want.shape[1], result.audio.shape[1])
            same = np.mean(result.audio[:, :n] == want[:, :n])
            line += f"; same audio as magenta: {same * 100:.2f}% of samples"
        print(line, flush=True)


if __name__ == "__main__":
    main()
