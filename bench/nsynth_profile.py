"""Where one NSynth fast-generation step goes, at batch 1, 4 and 16 (issue #22).

    python -m bench.nsynth_profile [--batches 1,4,16] [--steps 256] [--repeats 3]

Random weights at the official h512_bo16 size. For each batch size, interleaved and
repeated (the machine is shared, so compare ratios within a run):

- `step`: the engine's XLA-compiled chunk (`NSynth._chunk_fn`), per step;
- `step_graph`: the same chunk as a plain graph (oneDNN kernels; the engine's path from
  batch `GRAPH_MIN_BATCH` up);
- `mm_xla`: only the per-step matmuls of a step (30 present-tap [W, 2W], 29 residual
  [W, W], the fused skip [31W, S], out1, logits), chained the same way, in one
  XLA-compiled while loop: the floor for those products as XLA runs them;
- `mm_graph`: the same chain in a plain (oneDNN) tf.function while loop.

step - mm_xla is what the rest costs (gathers, gates, ring updates, sampling, the
past-tap blocks, loop overhead). Prints one JSON line per batch size: min and median ms
per step of each (on a shared machine the min is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import tensorflow as tf

from engine.models.nsynth import BLOCK, H512_BO16, NSynth, variable_shapes_for


def random_model() -> NSynth:
    rng = np.random.RandomState(0)
    w = {}
    for name, shape in variable_shapes_for(H512_BO16).items():
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        w[name] = ((1 / np.sqrt(fan_in) if len(shape) > 1 else 0.05)
                   * rng.randn(*shape)).astype(np.float32)
    return NSynth(w)


def step_timer(model: NSynth, batch: int, steps: int, path: str = "xla"):
    blocks = steps // BLOCK
    _, ring = model._ring_for(path, batch)
    fn = model._chunk_fn(blocks, path)
    _, sh, prev = model._initial_state(batch)
    u = tf.constant(np.random.RandomState(1).rand(blocks * BLOCK, batch))
    k = blocks * BLOCK // 512 + 2
    frames = tf.constant(np.random.RandomState(2).randn(batch, k, 16).astype(np.float32))

    def run():
        out = fn(ring, sh, prev, tf.constant(0), tf.constant(blocks), u, frames, tf.constant(0))
        out[3].numpy()
    return run


def matmul_chain(model: NSynth, batch: int, steps: int, xla: bool):
    L, W = model.sizes.num_layers, model.sizes.width

    def body(j, l):
        x = l
        gates = []
        for i in range(L):
            d = tf.matmul(x, model._now_w[i])
            z = d[:, :W] * 1e-3
            gates.append(z)
            if i + 1 < L:
                x = x + tf.matmul(z, model._res_w[i])
        s = tf.matmul(tf.concat([l] + gates, axis=1), model._skip_w)
        s = tf.matmul(s, model._out1_w)
        logits = tf.matmul(s, model._logits_w)
        return j + 1, l + logits[:, :1] * 1e-6

    @tf.function(jit_compile=xla)
    def chain(l):
        return tf.while_loop(lambda j, _: j < steps, body, (tf.constant(0), l),
                             parallel_iterations=1)[1]

    l0 = tf.zeros([batch, W])
    return lambda: chain(l0).numpy()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batches", default="1,4,16")
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    model = random_model()
    out = {}
    for b in (int(x) for x in args.batches.split(",")):
        variants = {"step": step_timer(model, b, args.steps),
                    "step_graph": step_timer(model, b, args.steps, "graph"),
                    "mm_xla": matmul_chain(model, b, args.steps, True),
                    "mm_graph": matmul_chain(model, b, args.steps, False)}
        for f in variants.values():
            f()  # compile
        times = {k: [] for k in variants}
        for _ in range(args.repeats):
            for k, f in variants.items():
                t0 = time.perf_counter()
                f()
                times[k].append((time.perf_counter() - t0) / args.steps * 1e3)
        out[f"b{b}"] = {k: {"min": round(min(v), 2), "median": round(float(np.median(v)), 2)}
                        for k, v in times.items()}
        print(json.dumps({f"b{b}": out[f"b{b}"]}), flush=True)


if __name__ == "__main__":
    main()
