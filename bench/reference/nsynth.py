"""Magenta's NSynth fastgen speed and encoding time on the same checkpoint.

    VENV/bin/python bench/reference/nsynth.py CKPT_PREFIX --steps N --batches 1,4,16

fastgen.synthesize is run as users call it on one frame of encodings; each generation
step is timestamped (a wrapper around fastgen.generate_audio_sample), the time per step
is taken over N steps after the first 32 (so the graph build and checkpoint restore
inside each call are left out), and the call is then stopped (every step costs the same).
Encoding: load_nsynth + restore once, then the encoder's sess.run on 1 s of audio.
"""
import _setup  # noqa: F401

import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.common import (NSYNTH_ENC_LEN, emit, measure, nsynth_arg_parser,  # noqa: E402
                          nsynth_test_tone, stats)

SKIP = 32

def main() -> None:
    args = nsynth_arg_parser().parse_args()

    import numpy as np
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    from magenta.models.nsynth.wavenet import fastgen

    r = {"tf_version": tf.__version__, "steps": args.steps}
    audio = nsynth_test_tone()
    soft = tf.ConfigProto(allow_soft_placement=True)  # load_nsynth pins /gpu:0, as fastgen does
    with tf.Graph().as_default(), tf.Session(config=soft) as sess:
        net = fastgen.load_nsynth(batch_size=1, sample_length=NSYNTH_ENC_LEN)
        tf.train.Saver().restore(sess, args.ckpt)
        r["ns.encode"] = measure(lambda: sess.run(net["encoding"], {net["X"]: audio[None]}),
                                 max(3, args.repeats))

    frames = -(-(args.steps + SKIP + 1) // 512)

    class Enough(Exception):
        pass
    out = tempfile.mkdtemp(prefix="bench-nsynth-")
    original = fastgen.generate_audio_sample
    for b in (int(x) for x in args.batches.split(",")):
        enc = np.random.RandomState(b).randn(b, frames, 16).astype(np.float32)
        per_step = []
        for i in range(args.repeats):
            stamps = []

            def timed(*a, **k):
                res = original(*a, **k)
                stamps.append(time.perf_counter())
                if len(stamps) > SKIP + args.steps:
                    raise Enough
                return res
            fastgen.generate_audio_sample = timed
            np.random.seed(i)
            try:
                fastgen.synthesize(enc, save_paths=[os.path.join(out, f"{b}_{j}.wav")
                                                    for j in range(b)],
                                   checkpoint_path=args.ckpt, samples_per_save=10 ** 9)
            except Enough:
                pass
            finally:
                fastgen.generate_audio_sample = original
            s = np.array(stamps[SKIP:])
            per_step.append(float((s[-1] - s[0]) / (len(s) - 1)))
        r[f"ns.step_b{b}"] = stats(per_step)
    emit(r)


if __name__ == "__main__":
    main()
