"""NSynth synthesis speed on full-size (h512_bo16) random weights.

    python bench/nsynth_speed.py [BATCH ...]

Prints ms per step and per voice-sample after the first (compiling) chunk. Compare with
magenta's fastgen: tests/reference nsynth_test.py N B in the reference env.
"""
import sys
import time

import numpy as np

from engine.models.nsynth import NSynth


def random_full_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    w: dict[str, np.ndarray] = {}

    def conv(name, k, cin, cout):
        w[f"{name}/W"] = (rng.randn(1, k, cin, cout) / np.sqrt(k * cin)).astype(np.float32)
        w[f"{name}/biases"] = (0.05 * rng.randn(cout)).astype(np.float32)

    conv("ae_startconv", 3, 1, 128)
    for i in range(1, 31):
        conv(f"ae_dilatedconv_{i}", 3, 128, 128)
        conv(f"ae_res_{i}", 1, 128, 128)
    conv("ae_bottleneck", 1, 128, 16)
    conv("startconv", 3, 1, 512)
    conv("skip_start", 1, 512, 256)
    for i in range(1, 31):
        conv(f"dilatedconv_{i}", 3, 512, 1024)
        conv(f"cond_map_{i}", 1, 16, 1024)
        conv(f"res_{i}", 1, 512, 512)
        conv(f"skip_{i}", 1, 512, 256)
    conv("out1", 1, 256, 256)
    conv("cond_map_out1", 1, 16, 256)
    conv("logits", 1, 256, 256)
    return w


def main() -> None:
    batches = [int(b) for b in sys.argv[1:]] or [1, 16]
    model = NSynth(random_full_weights())
    for batch in batches:
        enc = np.random.RandomState(1).randn(batch, 4, 16).astype(np.float32)
        marks: list[tuple[int, float]] = []
        model.synthesize(enc, seed=0, progress=lambda d, t: marks.append((d, time.perf_counter())),
                         chunk_seconds=2.0)
        (d0, t0), (d1, t1) = marks[0], marks[-1]
        step_ms = (t1 - t0) / (d1 - d0) * 1000
        print(f"batch {batch}: {step_ms:.2f} ms/step, {step_ms / batch:.2f} ms per voice-sample "
              f"({d1 - d0} steps timed)", flush=True)


if __name__ == "__main__":
    main()
