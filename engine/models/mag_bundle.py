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


def write_bundle(path: str | Path, generator_id: str, variables: dict, shape=None,
                 description: str = "") -> Path:
    """Write a `.mag` bundle as magenta's `--save_generator_bundle` does: the variables
    as a single-file V1 checkpoint (`Saver(sharded=False, write_version=V1)`) and the
    graph's MetaGraphDef (with magenta's generate-mode collections when `shape`, an
    engine.train.event_rnn.RnnShape, is given: see engine.train.generate_graph).
    Written atomically. Needs TensorFlow."""
    import tempfile

    import tensorflow as tf
    from note_seq.protobuf import generator_pb2

    from engine.fsutil import atomic_write_bytes

    graph = tf.Graph()
    with graph.as_default():
        if shape is not None:
            from engine.train.generate_graph import build_generate_graph

            tf_vars = build_generate_graph(shape, variables)
        else:
            tf_vars = {n: tf.compat.v1.Variable(tf.zeros(v.shape, v.dtype), name=n)
                       for n, v in variables.items()}
        step = tf.compat.v1.Variable(0, dtype=tf.int64, name="global_step", trainable=False)
        saver = tf.compat.v1.train.Saver(tf_vars | {"global_step": step}, sharded=False,
                                         write_version=tf.compat.v1.train.SaverDef.V1)
        with tf.compat.v1.Session(graph=graph) as sess, \
                tempfile.TemporaryDirectory(prefix="magstation-mag-") as tmp:
            sess.run(tf.compat.v1.global_variables_initializer())
            for n, v in variables.items():
                tf_vars[n].load(v, sess)
            prefix = str(Path(tmp) / "model.ckpt")
            saver.save(sess, prefix, write_meta_graph=False)
            meta = saver.export_meta_graph().SerializeToString()
            ckpt = Path(prefix).read_bytes()
    bundle = generator_pb2.GeneratorBundle()
    bundle.generator_details.id = generator_id
    bundle.generator_details.description = description
    bundle.checkpoint_file.append(ckpt)
    bundle.metagraph_file = meta
    bundle.bundle_details.description = description
    return atomic_write_bytes(path, bundle.SerializeToString())
