"""Native NSynth synthesis speed and encoding time (engine.models.nsynth).

    python -m bench.native_nsynth CKPT_PREFIX|random --steps N --batches 1,4,16 --repeats R

Generation is autoregressive: every step costs the same, so each batch size is run once
to compile, then timed over about N steps of one frame of encodings (synthesis is
cancelled once N steps are done) and extrapolated to 1 s of audio (16,000 steps).
"random" uses random weights at the official h512_bo16 size (no shared checkpoint).
"""

from __future__ import annotations


from bench.common import (emit, measure, nsynth_arg_parser, nsynth_test_tone, once, quiet_tf,
                          stats)

quiet_tf()

def main() -> None:
    args = nsynth_arg_parser().parse_args()

    import numpy as np
    import tensorflow as tf
    try:
        from engine.models.nsynth import H512_BO16, NSynth, variable_shapes_for
    except ImportError as e:
        emit({"unavailable": f"engine.models.nsynth is not available here ({e})"})
        return

    if args.ckpt == "random":
        rng = np.random.RandomState(0)
        w = {}
        for name, shape in variable_shapes_for(H512_BO16).items():
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            w[name] = ((1 / np.sqrt(fan_in) if len(shape) > 1 else 0.05)
                       * rng.randn(*shape)).astype(np.float32)
        load, model = once(lambda: NSynth(w))
    else:
        load, model = once(lambda: NSynth.load(args.ckpt))
    r = {"tf_version": tf.__version__, "ns.load": load, "steps": args.steps}
    audio = nsynth_test_tone()
    r["ns.encode"] = measure(lambda: model.encode(audio), max(3, args.repeats))
    frames = -(-args.steps // 512)

    def run(enc, seed, steps):
        done = [0]
        return model.synthesize(enc, seed=seed, progress=lambda d, t: done.__setitem__(0, d),
                                cancelled=lambda: done[0] >= steps)
    for b in (int(x) for x in args.batches.split(",")):
        enc = np.random.RandomState(b).randn(b, frames, 16).astype(np.float32)
        run(enc, 0, 1)  # compiles for this batch size
        per_step = []
        for i in range(args.repeats):
            res = run(enc, i + 1, args.steps)
            per_step.append(res.seconds / res.samples_done)
        r[f"ns.step_b{b}"] = stats(per_step)
    if "ns.step_b16" in r:
        flops = 2 * 16 * decoder_weights_per_step(variable_shapes_for(H512_BO16))
        r["ns.b16_flops_per_step"] = flops
        r["ns.b16_gflops"] = flops / r["ns.step_b16"]["median"] / 1e9
        r["ns.matmul_peak_gflops"] = matmul_peak_gflops(tf)
        r["ns.b16_of_peak"] = r["ns.b16_gflops"] / r["ns.matmul_peak_gflops"]
    emit(r)


def decoder_weights_per_step(shapes: dict) -> int:
    """Weights one generation step multiplies by, per voice: every decoder matrix but the
    conditioning maps (cond_map_*: once per encoding frame of 512 steps, ~1k multiply-adds
    a step) and the last layer's residual map (its output feeds nothing, so the engine
    skips it). The past taps of the dilated convolutions are multiplied a block of steps
    at a time, the same count per step. Each weight is one multiply-add per voice, so a
    step is 2 x this x batch FLOPs (h512_bo16: 58.98 M weights, 1.887 GFLOP at batch 16)."""
    import numpy as np
    layers = sum(1 for name in shapes if name.startswith("res_") and name.endswith("/W"))
    return sum(int(np.prod(shape)) for name, shape in shapes.items()
               if name.endswith("/W") and not name.startswith(("ae_", "cond_map"))
               and name != f"res_{layers}/W")


def matmul_peak_gflops(tf, n: int = 2048, repeats: int = 5) -> float:
    """This process's float32 matmul speed on a large square product, best of `repeats`
    (the same threads and library the model runs on)."""
    import time

    a = tf.random.stateless_normal([n, n], seed=[1, 2])
    b = tf.random.stateless_normal([n, n], seed=[3, 4])
    best = float("inf")
    for _ in range(repeats + 1):  # the first call sets up oneDNN's primitive
        t0 = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


if __name__ == "__main__":
    main()
