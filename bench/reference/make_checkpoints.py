"""Random checkpoints at the OFFICIAL sizes, written by magenta's own graphs, so that
both sides of the benchmark read the same files (reference env only).

    VENV/bin/python bench/reference/make_checkpoints.py musicvae CONFIG PREFIX
    VENV/bin/python bench/reference/make_checkpoints.py gansynth ROOT [--tiny]
    VENV/bin/python bench/reference/make_checkpoints.py nsynth PREFIX

- MusicVAE: the inference graph TrainedModel builds, randomly initialised, biases
  perturbed, saved with its Saver (tests/reference/make_musicvae_goldens.make_checkpoint).
- GANSynth: the mel_prog_hires training graph (acoustic_only / all_instruments recipe) at
  its last stage, EMA shadows and biases perturbed, image counter 11,000,000 (every
  resolution block used), saved with the model's Saver plus experiment.json; --tiny
  shrinks fmap_base/fmap_max (for --quick).
- NSynth: the h512_bo16 graph with raw + EMA weights, global step 200000.
"""
import _setup  # noqa: F401

import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402


def musicvae(name: str, prefix: str) -> None:
    import make_musicvae_goldens as g  # tests/reference
    config = copy.deepcopy(g.configs.CONFIG_MAP[name])
    config.hparams.batch_size = g.BATCH
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    g.make_checkpoint(config, prefix, seed=sum(map(ord, name)), kernel_scale=1.0)


def gansynth(root: str, tiny: bool) -> None:
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    _setup.magenta_compat.patch_gansynth_dataset()
    from magenta.models.gansynth.configs import mel_prog_hires
    from magenta.models.gansynth.lib import flags as lib_flags
    from magenta.models.gansynth.lib import model as lib_model
    from magenta.models.gansynth.lib import train_util

    os.makedirs(root, exist_ok=True)
    flags = lib_flags.Flags()
    flags.load(mel_prog_hires.hparams)
    flags["train_root_dir"] = root
    if tiny:
        flags["fmap_base"], flags["fmap_max"] = 512, 16
    lib_model.set_flags(flags)
    stage_id = train_util.get_total_num_stages(**flags) - 1
    tf.reset_default_graph()
    tf.set_random_seed(1234)
    model = lib_model.Model(stage_id, train_util.get_batch_size(stage_id, **flags), dict(flags))
    model.sess.run(tf.global_variables_initializer())
    rng = np.random.RandomState(1234)
    gvars = model.gan_model.generator_variables
    for v, r in zip(gvars, model.sess.run(gvars)):
        ema = rng.normal(0.0, 0.05, r.shape).astype(r.dtype) if r.ndim == 1 else r
        model.generator_ema.average(v).load(ema, model.sess)
        v.load((ema + rng.normal(0.0, 0.5 * float(np.std(ema)) + 0.01, r.shape)).astype(r.dtype),
               model.sess)
    step = 11000000
    model.current_image_id.load(step, model.sess)
    stage_dir = train_util.make_train_sub_dir(stage_id, **flags)
    os.makedirs(stage_dir, exist_ok=True)
    model.saver.save(model.sess, os.path.join(stage_dir, "model.ckpt"), global_step=step)
    model.sess.close()
    with open(os.path.join(root, "experiment.json"), "w") as f:  # last: marks it complete
        json.dump(dict(flags), f)


def nsynth(prefix: str) -> None:
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    from magenta.models.nsynth.wavenet.h512_bo16 import Config

    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    with tf.Graph().as_default():
        step = tf.get_variable("global_step", [], tf.int32,
                               initializer=tf.constant_initializer(200000), trainable=False)
        Config().build({"wav": tf.placeholder(tf.float32, [1, 6144])}, is_training=True)
        ema = tf.train.ExponentialMovingAverage(decay=0.9999, num_updates=step)
        ema.apply(tf.trainable_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            rng = np.random.RandomState(1234)
            for v in tf.trainable_variables():
                raw = sess.run(v)
                if raw.ndim == 1:
                    raw = rng.normal(0.0, 0.05, raw.shape).astype(raw.dtype)
                    v.load(raw, sess)
                ema.average(v).load(raw + np.float32(0.01), sess)
            tf.train.Saver(tf.global_variables()).save(sess, prefix, write_meta_graph=False)


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    if kind == "musicvae":
        musicvae(rest[0], rest[1])
    elif kind == "gansynth":
        gansynth(rest[0], "--tiny" in rest)
    elif kind == "nsynth":
        nsynth(rest[0])
    else:
        sys.exit(f"unknown kind {kind!r}")
