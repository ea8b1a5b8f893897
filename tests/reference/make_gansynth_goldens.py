"""Make the GANSynth parity fixtures with Magenta's own code.

    tests/reference/build_env.sh VENV
    VENV/bin/python tests/reference/make_gansynth_goldens.py

1. Builds the official `mel_prog_hires` architecture (the `acoustic_only` /
   `all_instruments` recipe) at a reduced width (fmap_base 512, fmap_max 16),
   initialises it randomly, perturbs the biases and EMA shadows (a fresh init has
   zero biases and EMA == raw weights, which would hide bugs), sets the image counter
   to 11,000,000 (progress 6: every resolution block is used, as in the released
   checkpoints) and saves it with the model's own Saver.
2. Loads it with `Model.load_from_path` exactly as gansynth_generate.py does and
   records the denormalised generator spectrograms and the audio for fixed z/pitches,
   and one spectrogram with the image counter set mid-transition (progress 5.5).
3. Renders a tiny MIDI arrangement with generate_util (load_midi, get_random_instruments,
   get_z_notes, combine_notes) and records the keyframes, per-note z and the clip.
4. Writes a pruned copy of the checkpoint (generator raw + EMA variables and the
   global step only, official names; the discriminator and Adam slots are dropped to
   keep the fixture small) to tests/fixtures/gansynth/tiny_ckpt/.
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import magenta_compat  # noqa: E402

magenta_compat.apply()

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()
magenta_compat.patch_gansynth_dataset()

import note_seq  # noqa: E402
from magenta.models.gansynth.configs import mel_prog_hires  # noqa: E402
from magenta.models.gansynth.lib import data_helpers  # noqa: E402
from magenta.models.gansynth.lib import flags as lib_flags  # noqa: E402
from magenta.models.gansynth.lib import generate_util as gu  # noqa: E402
from magenta.models.gansynth.lib import model as lib_model  # noqa: E402
from magenta.models.gansynth.lib import train_util  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "gansynth")
WORK = "/tmp/gansynth/ref_ckpt"
FINAL_STEP = 11000000
BLEND_STEP = 9200000
SPEC_FRAME_STRIDE = 8  # keep every 8th time frame of the spectrogram goldens (size)

# Capture the denormalised generator output that the model turns into waves.
_captured = {}
_orig_data_to_waves = data_helpers.DataMelHelper.data_to_waves


def _capturing_data_to_waves(self, data):
    _captured["specgrams"] = data
    return _orig_data_to_waves(self, data)


data_helpers.DataMelHelper.data_to_waves = _capturing_data_to_waves


def build_and_save() -> dict:
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    flags = lib_flags.Flags()
    flags.load(mel_prog_hires.hparams)
    flags["train_root_dir"] = WORK
    flags["fmap_base"] = 512
    flags["fmap_max"] = 16
    lib_model.set_flags(flags)
    with open(os.path.join(WORK, "experiment.json"), "w") as f:
        json.dump(flags, f)
    stage_id = train_util.get_total_num_stages(**flags) - 1
    batch_size = train_util.get_batch_size(stage_id, **flags)
    tf.reset_default_graph()
    tf.set_random_seed(1234)  # deterministic initial weights: reruns give the same fixtures
    model = lib_model.Model(stage_id, batch_size, dict(flags))
    model.sess.run(tf.global_variables_initializer())
    rng = np.random.RandomState(1234)
    gvars = model.gan_model.generator_variables
    evars = [model.generator_ema.average(v) for v in gvars]
    for v, e, r in zip(gvars, evars, model.sess.run(gvars)):
        ema = rng.normal(0.0, 0.05, r.shape).astype(r.dtype) if r.ndim == 1 else r
        raw = (ema + rng.normal(0.0, 0.5 * float(np.std(ema)) + 0.01, r.shape)).astype(r.dtype)
        e.load(ema, model.sess)
        v.load(raw, model.sess)
    model.current_image_id.load(FINAL_STEP, model.sess)
    stage_dir = train_util.make_train_sub_dir(stage_id, **flags)
    os.makedirs(stage_dir, exist_ok=True)
    model.saver.save(model.sess, os.path.join(stage_dir, "model.ckpt"), global_step=FINAL_STEP)
    model.sess.close()
    tf.reset_default_graph()
    return dict(flags)


def write_pruned_checkpoint(flags: dict) -> None:
    """Copy generator variables (raw + EMA) and the global step, official names."""
    src_dirs = sorted(d for d in os.listdir(WORK) if d.startswith("stage_"))
    src = tf.train.latest_checkpoint(os.path.join(WORK, src_dirs[-1]))
    reader = tf.train.load_checkpoint(src)
    keep = [n for n, _ in tf.train.list_variables(src)
            if n == "global_step" or (n.startswith("Generator/") and "Adam" not in n)]
    dst_root = os.path.join(OUT, "tiny_ckpt")
    shutil.rmtree(dst_root, ignore_errors=True)
    dst_stage = os.path.join(dst_root, src_dirs[-1])
    os.makedirs(dst_stage)
    g = tf.Graph()
    with g.as_default():
        vs = [tf.Variable(reader.get_tensor(n), name=n) for n in keep]
        saver = tf.train.Saver(vs, save_relative_paths=True)
        with tf.Session(graph=g) as sess:
            sess.run(tf.global_variables_initializer())
            saver.save(sess, os.path.join(dst_stage, "model.ckpt"), global_step=FINAL_STEP,
                       write_meta_graph=False)
    slim = {k: v for k, v in flags.items() if k != "train_root_dir"}
    with open(os.path.join(dst_root, "experiment.json"), "w") as f:
        json.dump(slim, f, indent=1, sort_keys=True)
    print("pruned checkpoint:", len(keep), "variables")


def arrangement_midi(path: str) -> None:
    ns = note_seq.NoteSequence()
    ns.ticks_per_quarter = 220
    ns.tempos.add(qpm=120)
    # (pitch, start, end, velocity): overlapping notes, one longer than MAX_NOTE_LENGTH.
    for p, s, e, v in [(60, 0.0, 0.5, 100), (64, 0.25, 0.75, 80), (67, 0.5, 4.0, 110),
                       (48, 1.0, 1.5, 60), (72, 1.5, 2.0, 127), (55, 2.0, 2.25, 90)]:
        ns.notes.add(pitch=p, start_time=s, end_time=e, velocity=v, instrument=0)
    ns.total_time = 4.0
    note_seq.sequence_proto_to_midi_file(ns, path)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    flags = build_and_save()

    load_flags = lib_flags.Flags({"batch_size_schedule": [8], "tfds_data_dir": "/nonexistent"})
    model = lib_model.Model.load_from_path(WORK, load_flags)
    spec_t = _captured["specgrams"]

    # Notes: fixed z and pitches at both ends and the middle of the range.
    z = np.random.RandomState(0).normal(size=[3, 256]).astype(np.float32)
    pitches = np.array([24, 60, 84])
    labels = model._pitches_to_labels(pitches) + [0] * 5
    zpad = np.concatenate([z, np.zeros([5, 256], np.float32)])
    specs, waves_run = model.sess.run(
        [spec_t, model.fake_waves_ph],
        feed_dict={model.labels_ph: labels, model.noises_ph: zpad})
    # The progressive blend: at image 9,200,000 progress is 5.5 (blocks 6 and 7 at 0.5).
    model.current_image_id.load(BLEND_STEP, model.sess)
    specs_blend = model.sess.run(spec_t, feed_dict={model.labels_ph: labels,
                                                     model.noises_ph: zpad})
    model.current_image_id.load(FINAL_STEP, model.sess)
    waves = model.generate_samples_from_z(z, pitches)
    waves = np.asarray(waves)[..., 0] if np.ndim(waves) == 3 else np.asarray(waves)
    assert np.allclose(waves, waves_run[:3, :64000, 0])
    print("specgrams", specs.shape, "waves", waves.shape, float(np.abs(waves).max()))

    # MIDI -> clip, exactly gansynth_generate.py's path (secs_per_instrument shortened).
    midi_path = os.path.join(OUT, "arrangement.mid")
    arrangement_midi(midi_path)
    _, notes = gu.load_midi(midi_path)
    np.random.seed(7)
    z_inst, t_inst = gu.get_random_instruments(model, notes["end_times"][-1],
                                               secs_per_instrument=0.75)
    z_notes = gu.get_z_notes(notes["start_times"], z_inst, t_inst)
    audio_notes = model.generate_samples_from_z(z_notes, notes["pitches"])
    clip = gu.combine_notes(audio_notes, notes["start_times"], notes["end_times"],
                            notes["velocities"])
    print("clip", clip.shape, "keyframes", z_inst.shape)

    np.savez(
        os.path.join(OUT, "goldens.npz"),
        z=z, pitches=pitches,
        specgrams=specs[:3, ::SPEC_FRAME_STRIDE].astype(np.float32),
        spec_frame_stride=SPEC_FRAME_STRIDE,
        blend_step=BLEND_STEP,
        specgrams_blend=specs_blend[:1, ::SPEC_FRAME_STRIDE].astype(np.float32),
        waves=np.asarray(waves, np.float32),
        midi_pitches=notes["pitches"], midi_velocities=notes["velocities"],
        midi_start_times=notes["start_times"], midi_end_times=notes["end_times"],
        z_instruments=z_inst, t_instruments=t_inst, z_notes=z_notes,
        clip=np.asarray(clip, np.float32))
    model.sess.close()
    write_pruned_checkpoint(flags)


if __name__ == "__main__":
    main()
