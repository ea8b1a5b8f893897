"""Random checkpoints at the official sizes written natively, for runs without the
reference env (names and shapes from the engine's own expected-variable tables).

    python -m bench.native_checkpoints musicvae CONFIG PREFIX
    python -m bench.native_checkpoints gansynth ROOT
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.common import quiet_tf

quiet_tf()


def musicvae(config: str, prefix: str) -> None:
    import numpy as np
    import tensorflow as tf

    from engine.models.musicvae_configs import expected_variables

    rng = np.random.RandomState(sum(map(ord, config)))
    names, tensors = [], []
    for name, shape in sorted(expected_variables(config).items()):
        scale = 1 / np.sqrt(shape[0]) if len(shape) > 1 else 0.1
        names.append(name)
        tensors.append((scale * rng.randn(*shape)).astype(np.float32))
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=tensors)


def gansynth(root: str) -> None:
    from bench.gansynth_bench import make_checkpoint
    make_checkpoint(Path(root))


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    {"musicvae": lambda: musicvae(rest[0], rest[1]), "gansynth": lambda: gansynth(rest[0])}[kind]()
