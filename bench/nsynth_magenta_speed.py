"""Magenta's fastgen speed on a FULL-size h512_bo16 checkpoint (reference env only).

    VENV/bin/python bench/nsynth_magenta_speed.py [SAMPLES=1024] [BATCH ...]

Builds a random full-size checkpoint once (raw weights + perturbed EMA shadows, like
tests/reference/make_nsynth_goldens.py) in /tmp/magref/work/nsynth_full, runs
fastgen.synthesize with np.random.seed(0) and times each generation step after the
first 32 (wall and process CPU time). Saves the audio to /tmp/magref/work/nsynth_full/magenta_b<B>.npy so that
bench/nsynth_speed.py --checkpoint can check full-size parity on the same weights.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
import magenta_compat  # noqa: E402

magenta_compat.apply()

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()
from magenta.models.nsynth.wavenet import fastgen  # noqa: E402
from magenta.models.nsynth.wavenet.h512_bo16 import Config  # noqa: E402

WORK = "/tmp/magref/work/nsynth_full"
CKPT = os.path.join(WORK, "model.ckpt-200000")


def make_checkpoint() -> None:
    os.makedirs(WORK, exist_ok=True)
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
            tf.train.Saver(tf.global_variables()).save(sess, CKPT, write_meta_graph=False)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    batches = [int(b) for b in sys.argv[2:]] or [1, 16]
    if not os.path.exists(CKPT + ".index"):
        make_checkpoint()
    enc = np.random.RandomState(1).randn(max(batches), n // 512, 16).astype(np.float32)
    np.save(os.path.join(WORK, "enc.npy"), enc)
    for batch in batches:
        stamps = []
        original = fastgen.generate_audio_sample

        def timed(*a, **k):
            out = original(*a, **k)
            stamps.append((time.perf_counter(), time.process_time()))
            return out

        fastgen.generate_audio_sample = timed
        np.random.seed(0)
        paths = [os.path.join(WORK, f"magenta_{i}.wav") for i in range(batch)]
        fastgen.synthesize(enc[:batch], save_paths=paths, checkpoint_path=CKPT,
                           samples_per_save=10 ** 9)
        fastgen.generate_audio_sample = original
        from scipy.io import wavfile
        audio = np.stack([wavfile.read(p)[1] for p in paths])
        np.save(os.path.join(WORK, f"magenta_b{batch}.npy"), audio)
        s = np.array(stamps[32:])
        wall, cpu = (s[-1] - s[0]) / (len(s) - 1) * 1000
        print(f"magenta fastgen batch {batch}: {wall:.2f} ms/step wall ({cpu:.2f} ms CPU), "
              f"{wall / batch:.2f} ms per voice-sample ({len(s) - 1} steps timed, "
              f"load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
