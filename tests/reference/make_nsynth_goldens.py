"""Build the NSynth parity fixtures with magenta's own code (reference env only).

    tests/reference/build_env.sh VENV
    VENV/bin/python tests/reference/make_nsynth_goldens.py

Writes tests/fixtures/nsynth/:
- ckpt/model.ckpt-200000.*  a REDUCED-width h512_bo16 checkpoint with the official
  variable names: raw `<layer>/W`, `<layer>/biases`, their `/ExponentialMovingAverage`
  shadows and `global_step` (Adam slots are left out to keep the fixture small; the
  native loader ignores extra variables anyway).
- goldens.npz: magenta fastgen encodings of fixed audio, the fast generator's per-step
  softmax for teacher-forced inputs, and fastgen.synthesize output for a fixed
  np.random seed.

Magenta's configs hard-code their widths as locals of `build()`; this script re-executes
magenta's own `build()` source with only those constants replaced (see `_reduced`).
Random init, then biases are set non-zero and the EMA shadows are moved away from the
raw weights: fastgen restores the RAW weights, so reading the shadows or dropping a bias
changes every golden.
"""
import inspect
import os
import shutil
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import magenta_compat  # noqa: E402

magenta_compat.apply()

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()

from magenta.models.nsynth import utils as nsynth_utils  # noqa: E402
from magenta.models.nsynth.wavenet import fastgen  # noqa: E402
from magenta.models.nsynth.wavenet import h512_bo16  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "nsynth")
CKPT_DIR = os.path.join(OUT, "ckpt")
CKPT = os.path.join(CKPT_DIR, "model.ckpt-200000")

# Reduced sizes (official: 30 layers, width 512, skip 256, ae width 128, 30 ae layers).
# 12 layers keeps the full dilation cycle 1..512 and wraps around once (11 -> 1, 12 -> 2).
SIZES = {
    "num_layers = 30": "num_layers = 12",
    "width = 512": "width = 32",
    "skip_width = 256": "skip_width = 24",
    "ae_num_layers = 30": "ae_num_layers = 12",
    "ae_width = 128": "ae_width = 20",
}


def _reduced(cls):
    """A subclass of `cls` whose build() is magenta's source with SIZES substituted."""
    src = textwrap.dedent(inspect.getsource(cls.build))
    for old, new in SIZES.items():
        if old in src:
            src = src.replace(old, new)
    ns = dict(vars(h512_bo16))
    exec(compile(src, inspect.getsourcefile(cls), "exec"), ns)
    return type("Reduced" + cls.__name__, (cls,), {"build": ns["build"]})


Config = _reduced(h512_bo16.Config)
FastGenerationConfig = _reduced(h512_bo16.FastGenerationConfig)
# fastgen builds its graphs through these module globals.
fastgen.Config = Config
fastgen.FastGenerationConfig = FastGenerationConfig


def make_checkpoint():
    shutil.rmtree(CKPT_DIR, ignore_errors=True)
    os.makedirs(CKPT_DIR)
    with tf.Graph().as_default():
        tf.set_random_seed(0)  # the weights (and so every golden) are reproducible
        global_step = tf.get_variable("global_step", [], tf.int32,
                                      initializer=tf.constant_initializer(200000),
                                      trainable=False)
        wav = tf.placeholder(tf.float32, [1, 6144])
        Config().build({"wav": wav}, is_training=True)
        ema = tf.train.ExponentialMovingAverage(decay=0.9999, num_updates=global_step)
        ema.apply(tf.trainable_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            rng = np.random.RandomState(1234)
            for v in tf.trainable_variables():
                raw = sess.run(v)
                if raw.ndim == 1:
                    raw = rng.normal(0.0, 0.05, raw.shape).astype(raw.dtype)
                v.load(raw, sess)
                shadow = ema.average(v)
                noise = rng.normal(0.0, 0.5 * float(np.std(raw)) + 0.01, raw.shape)
                shadow.load((raw + noise).astype(raw.dtype), sess)
            saver = tf.train.Saver(tf.global_variables())
            saver.save(sess, CKPT, write_meta_graph=False)
    # Saver writes `checkpoint` with absolute paths; make it relative.
    with open(os.path.join(CKPT_DIR, "checkpoint"), "w") as fh:
        fh.write('model_checkpoint_path: "model.ckpt-200000"\n'
                 'all_model_checkpoint_paths: "model.ckpt-200000"\n')


def fixed_audio():
    n = 4 * 512 + 300  # not a multiple of 512: encode trims it to 2048
    t = np.arange(n) / 16000.0
    rng = np.random.RandomState(7)
    a = 0.6 * np.sin(2 * np.pi * 330 * t) * np.exp(-3 * t) + 0.05 * rng.randn(n)
    b = 0.4 * np.sign(np.sin(2 * np.pi * 110 * t)) + 0.02 * rng.randn(n)
    return np.stack([a, b]).astype(np.float32)


def teacher_forced_probs(inputs, encodings):
    """Per-step softmax of the fast generator fed `inputs[:, t-1]` at step t."""
    batch, n = inputs.shape
    config = tf.ConfigProto(allow_soft_placement=True)  # fastgen pins /gpu:0
    with tf.Graph().as_default(), tf.Session(config=config) as sess:
        net = fastgen.load_fastgen_nsynth(batch_size=batch)
        tf.train.Saver().restore(sess, CKPT)
        sess.run(net["init_ops"])
        probs = np.zeros([n, batch, 256], np.float32)
        prev = np.zeros([batch, 1], np.float32)
        for t in range(n):
            p = sess.run([net["predictions"], net["push_ops"]],
                         feed_dict={net["X"]: prev, net["encoding"]: encodings[:, t // 512]})[0]
            probs[t] = p
            prev = inputs[:, t:t + 1]
    return probs


def main():
    make_checkpoint()
    audio = fixed_audio()
    enc = fastgen.encode(audio, CKPT, sample_length=audio.shape[1])  # trims to 2048
    print("encodings", enc.shape)

    # Teacher forcing over 1400 steps exercises both queues of the dilation-512 layer.
    n_tf = 1400
    rng = np.random.RandomState(11)
    tf_inputs = (0.5 * np.sin(2 * np.pi * 220 * np.arange(n_tf) / 16000.0)[None]
                 + 0.1 * rng.randn(2, n_tf)).astype(np.float32)
    tf_enc = np.stack([enc[0, :3], 0.5 * (enc[0, :3] + enc[1, :3])]).astype(np.float32)
    probs = teacher_forced_probs(tf_inputs, tf_enc)
    keep = np.r_[0:8, 511:516, 1023:1028, 1380:1400, np.arange(8, n_tf, 37)]
    keep = np.unique(keep)

    # fastgen.synthesize draws u = np.random.rand(batch) per step; seed the global RNG.
    synth_enc = np.stack([enc[1, :2], enc[0, 1:3]]).astype(np.float32)
    paths = [os.path.join("/tmp/magref/work", f"nsynth_golden_{i}.wav") for i in range(2)]
    os.makedirs("/tmp/magref/work", exist_ok=True)
    np.random.seed(2024)
    synth = _synthesize_capture(synth_enc, paths)

    mu_table = _tf_mu_law_table()
    np.savez_compressed(
        os.path.join(OUT, "goldens.npz"),
        encode_audio=audio, encodings=enc.astype(np.float32),
        tf_inputs=tf_inputs, tf_encodings=tf_enc, tf_steps=keep.astype(np.int32),
        tf_probs=probs[keep], tf_argmax=probs.argmax(-1).astype(np.int16),
        synth_encodings=synth_enc, synth_seed=np.int64(2024), synth_audio=synth,
        mu_law_table=mu_table)
    size = sum(os.path.getsize(os.path.join(dp, f))
               for dp, _, fs in os.walk(OUT) for f in fs)
    print("fixtures written to", OUT, "total bytes", size)


def _synthesize_capture(encodings, paths):
    """Run fastgen.synthesize and return the audio it saved (read back from its WAVs)."""
    from scipy.io import wavfile
    fastgen.synthesize(encodings, save_paths=paths, checkpoint_path=CKPT,
                       samples_per_save=10 ** 9)
    return np.stack([wavfile.read(p)[1] for p in paths]).astype(np.float32)


def _tf_mu_law_table():
    """mu_law(inv_mu_law_numpy(code)) for every code, as magenta's graph computes it."""
    codes = np.arange(-128, 128)
    dec = nsynth_utils.inv_mu_law_numpy(codes)
    with tf.Graph().as_default(), tf.Session() as sess:
        q = sess.run(nsynth_utils.mu_law(tf.constant(dec[:, None], tf.float32)))
    return np.stack([codes, q[:, 0]]).astype(np.int16)


if __name__ == "__main__":
    main()
