"""Magenta's TrainedModel load + first sample in a fresh process, as
bench/native_musicvae_load.py measures the engine's.

    VENV/bin/python bench/reference/musicvae_load.py DRUMS_PREFIX [--hparams JSON]
        [--prior SMALL_PREFIX --prior-hparams JSON]

With --prior, a TrainedModel on another (small) checkpoint is loaded and sampled once
before the clock, as the native side runs a drum job first.
"""
import _setup  # noqa: F401  (first: shims and paths)

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402

from bench.common import emit, once, stats  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("drums")
    ap.add_argument("--hparams", default="{}")
    ap.add_argument("--prior")
    ap.add_argument("--prior-hparams", default="{}")
    args = ap.parse_args()

    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    from magenta.models.music_vae import TrainedModel, configs

    def config_with(hparams: str):
        config = copy.deepcopy(configs.CONFIG_MAP["cat-drums_2bar_small"])
        for k, v in json.loads(hparams).items():
            setattr(config.hparams, k, v)
        return config

    if args.prior:
        TrainedModel(config_with(args.prior_hparams), batch_size=4,
                     checkpoint_dir_or_path=args.prior).sample(n=1, length=32, temperature=1.0)
    config = config_with(args.hparams)
    load, drums = once(lambda: TrainedModel(config, batch_size=4,
                                            checkpoint_dir_or_path=args.drums))
    first, _ = once(lambda: drums.sample(n=1, length=32, temperature=1.0))
    emit({"tf_version": tf.__version__, "mvae.load": load, "mvae.first_sample": first,
          "mvae.load_first": stats([load["median"] + first["median"]])})


if __name__ == "__main__":
    main()
