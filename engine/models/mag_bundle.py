"""Magenta `.mag` generator bundles (melody_rnn.md §1): a `magenta.GeneratorBundle` proto
holding the generator id (= config name), a single-file V1 TF checkpoint and a metagraph.
The checkpoint is written to a file and read with `tf.train.load_checkpoint`, which falls
back to the V1 reader when there is no `.index` file. No TensorFlow at import time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import CheckpointError


@dataclass(frozen=True)
class MagBundle:
    path: Path
    generator_id: str  # the config name, e.g. "attention_rnn"
    description: str
    checkpoint: bytes


def read_bundle(path: str | Path) -> MagBundle:
    """Parse a .mag file. CheckpointError naming the file when it is not a bundle."""
    from note_seq.protobuf import generator_pb2

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{p}: cannot read the bundle ({e.strerror}); pull or import "
                              f"it again", file=str(p)) from None
    bundle = generator_pb2.GeneratorBundle()
    try:
        bundle.ParseFromString(data)
    except Exception as e:  # protobuf DecodeError and friends
        raise CheckpointError(f"{p}: not a readable .mag bundle ({e}); download it again",
                              file=str(p)) from None
    if not bundle.checkpoint_file or not bundle.checkpoint_file[0]:
        raise CheckpointError(f"{p}: the bundle holds no checkpoint; download it again",
                              file=str(p))
    return MagBundle(p, bundle.generator_details.id, bundle.bundle_details.description,
                     bundle.checkpoint_file[0])


def write_checkpoint(bundle: MagBundle, workdir: Path) -> Path:
    """Write the bundle's checkpoint to `workdir/model.ckpt` (a path for load_checkpoint)."""
    out = Path(workdir) / "model.ckpt"
    out.write_bytes(bundle.checkpoint)
    return out
