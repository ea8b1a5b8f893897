"""Time native GANSynth generation at the official size (random weights).

    python bench/gansynth_bench.py [--ckpt DIR] [--batches 1,8,64] [--repeat 2]

Without --ckpt, writes a random checkpoint with the official shapes (EMA generator
variables only, 7.3 M parameters) to /tmp/gansynth/bench_ckpt first. Reference:
Magenta 2.1.4 takes ~1.35-1.56 s per (padded) batch of 8 on a 2-core CPU
(shared/tools/magenta-reference/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FLAGS = {"data_type": "mel", "fmap_base": 4096, "fmap_max": 256, "latent_vector_size": 256,
         "start_height": 2, "start_width": 16, "num_resolutions": 7, "scale_base": 2,
         "scale_mode": "ALL", "stable_stage_num_images": 800000,
         "transition_stage_num_images": 800000, "total_num_images": 11000000,
         "to_rgb_activation": "tanh", "train_progressive": True}


def make_checkpoint(root: Path) -> Path:
    import tensorflow as tf

    from engine.models.gansynth import BLOCK, EMA

    if (root / "experiment.json").exists():
        return root
    stage = root / "stage_00012"
    stage.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    f = [min(4096 // 2 ** b, 256) for b in range(1, 8)]
    names, tensors = ["global_step"], [np.int64(11000000)]
    for b in range(1, 8):
        shapes = {"conv0": [2, 16, 317, f[0]] if b == 1 else [3, 3, f[b - 2], f[b - 1]],
                  "conv1": [3, 3, f[b - 1], f[b - 1]], "to_rgb": [1, 1, f[b - 1], 2]}
        for layer, shape in shapes.items():
            names += [BLOCK.format(b) + layer + "/conv2d/kernel" + EMA,
                      BLOCK.format(b) + layer + "/bias" + EMA]
            tensors += [rng.normal(size=shape).astype(np.float32),
                        rng.normal(0, 0.05, shape[-1:]).astype(np.float32)]
    tf.raw_ops.SaveV2(prefix=str(stage / "model.ckpt-11000000"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)
    (root / "experiment.json").write_text(json.dumps(FLAGS))
    return root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", type=Path, default=None)
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--xla", action="store_true", help="jit_compile the generator")
    args = ap.parse_args()
    import tensorflow as tf

    from engine.models.gansynth import GANSynth, NoteCache

    ckpt = args.ckpt or make_checkpoint(Path("/tmp/gansynth/bench_ckpt"))
    t0 = time.perf_counter()
    model = GANSynth.load(ckpt, cache=NoteCache(), jit_compile=args.xla)
    print(f"load: {time.perf_counter() - t0:.2f} s  devices: "
          f"{[d.name for d in tf.config.list_logical_devices()]}")
    for n in (int(x) for x in args.batches.split(",")):
        z = model.random_instruments(n, n)
        pitches = np.full(n, 60)
        model.generate(z, pitches, batch_size=n, use_cache=False)  # trace + warm up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            model.generate(z, pitches, batch_size=n, use_cache=False)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(f"batch {n:3d}: {best:.3f} s per batch, {best / n * 1000:.1f} ms per note")


if __name__ == "__main__":
    main()
