"""Magenta's TrainedModel timings on the same checkpoints as bench/native_musicvae.py.

    VENV/bin/python bench/reference/musicvae.py DRUMS_PREFIX GROOVE_PREFIX --repeats N
        [--hparams JSON]   (small widths, for --quick with the test fixtures)

TrainedModel is built with batch_size=4, as the MusicVAE colab does; calls return
NoteSequences (model + converter), as the native drum jobs return patterns.
"""
import _setup  # noqa: F401  (first: shims and paths)

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from bench.common import CALL_WARMUP, emit, measure, once  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("drums")
    ap.add_argument("groove")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--hparams", default="{}")
    args = ap.parse_args()

    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    import common  # tests/reference: synthetic drum NoteSequences
    import magenta
    from magenta.models.music_vae import TrainedModel, configs
    t_import = time.perf_counter()

    def config(name):
        c = copy.deepcopy(configs.CONFIG_MAP[name])
        for k, v in json.loads(args.hparams).items():
            setattr(c.hparams, k, v)
        return c

    load, drums = once(lambda: TrainedModel(config("cat-drums_2bar_small"), batch_size=4,
                                            checkpoint_dir_or_path=args.drums))
    first, _ = once(lambda: drums.sample(n=1, length=32, temperature=1.0))
    cold = time.perf_counter() - _setup.T_START
    r = {"tf_version": tf.__version__, "magenta_version": getattr(magenta, "__version__", "?"),
         "import_s": t_import - _setup.T_START,
         "mvae.load": load, "mvae.first_sample": first,
         "mvae.cold": {"median": cold, "min": cold, "max": cold, "n": 1}}
    r["mvae.sample1"] = measure(lambda: drums.sample(n=1, length=32, temperature=1.0),
                                args.repeats, CALL_WARMUP)
    r["mvae.sample1_idle"] = measure(lambda: drums.sample(n=1, length=32, temperature=1.0),
                                     args.repeats, CALL_WARMUP, idle=0.1)
    r["mvae.sample8"] = measure(lambda: drums.sample(n=8, length=32, temperature=1.0),
                                args.repeats, CALL_WARMUP)
    a, b = (common.random_drum_sequence(seed=100 + i, bars=2) for i in range(2))
    r["mvae.interp6"] = measure(lambda: drums.interpolate(a, b, num_steps=6, length=32,
                                                          temperature=0.5), args.repeats, CALL_WARMUP)
    groove = TrainedModel(config("groovae_2bar_humanize"), batch_size=4,
                          checkpoint_dir_or_path=args.groove)

    def humanize():  # the GrooVAE colab: encode, then decode the sampled z
        z, _, _ = groove.encode([a])
        return groove.decode(z, length=32, temperature=1.0)
    r["mvae.humanize"] = measure(humanize, args.repeats, CALL_WARMUP)
    emit(r)


if __name__ == "__main__":
    main()
