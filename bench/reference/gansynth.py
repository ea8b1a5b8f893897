"""Magenta's GANSynth timings and memory on the same checkpoint as bench/native_gansynth.py.

    VENV/bin/python bench/reference/gansynth.py CKPT_DIR MIDI --repeats N [--big-repeats N]

Loaded as gansynth_generate.py does (batch_size_schedule [8], its default batch size):
every call runs padded batches of 8. The arrangement is gansynth_generate.py's MIDI path
(load_midi, get_random_instruments every 6 s, get_z_notes, generate, combine_notes).
"""
import _setup  # noqa: F401


from bench.common import emit, gansynth_arg_parser, measure, once, peak_rss_mb  # noqa: E402


def main() -> None:
    args = gansynth_arg_parser().parse_args()

    import numpy as np
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    _setup.magenta_compat.patch_gansynth_dataset()
    from magenta.models.gansynth.lib import flags as lib_flags
    from magenta.models.gansynth.lib import generate_util as gu
    from magenta.models.gansynth.lib import model as lib_model

    rss0 = peak_rss_mb()
    flags = lib_flags.Flags({"batch_size_schedule": [8], "tfds_data_dir": "/nonexistent"})
    load, model = once(lambda: lib_model.Model.load_from_path(args.ckpt, flags))
    r = {"tf_version": tf.__version__, "gs.load": load, "rss_after_import_mb": rss0,
         "gs.load_mem": peak_rss_mb()}

    def notes(n: int, seed: int):
        rng = np.random.RandomState(seed)
        z = rng.normal(size=[n, 256]).astype(np.float32)
        p = rng.randint(36, 84, n)
        return lambda: model.generate_samples_from_z(z, p)
    r["gs.note1"] = measure(notes(1, 1), args.repeats)
    r["gs.b8"] = measure(notes(8, 8), args.repeats, warmup=0)  # same padded batch as above
    r["gs.b64"] = measure(notes(64, 64), args.big_repeats, warmup=0)

    def arrangement():
        _, n = gu.load_midi(args.midi)
        z_i, t_i = gu.get_random_instruments(model, n["end_times"][-1], secs_per_instrument=args.secs)
        z_notes = gu.get_z_notes(n["start_times"], z_i, t_i)
        audio = model.generate_samples_from_z(z_notes, n["pitches"])
        gu.combine_notes(audio, n["start_times"], n["end_times"], n["velocities"])
        return len(n["pitches"])
    np.random.seed(0)
    r["gs.arrangement"], r["gs.arrangement_notes"] = once(arrangement)
    r["gs.peak_mem"] = peak_rss_mb()
    emit(r)


if __name__ == "__main__":
    main()
