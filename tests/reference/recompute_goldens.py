"""Magenta's own graph, reloaded from the COMMITTED fixtures, against the goldens.

usage (reference env, from the repository root):
    VENV/bin/python tests/reference/recompute_goldens.py [FAMILY ...] > out.json
    FAMILY: melody_rnn gansynth musicvae nsynth (default all)

Prints one JSON object {quantity: max abs error vs the golden} with the same quantity
names as measure_native.py (GANSynth relative to the golden's peak). The goldens were
recorded on one machine; run under other kernel settings (measure_spread.py magenta ...)
this is how far Magenta itself moves from them: the reference's own spread, the basis of
the parity tolerances. Generation replays the golden's chosen classes, so the paths stay
the same and only rounding differs. Nothing is written to tests/fixtures.
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import magenta_compat  # noqa: E402

magenta_compat.apply()
import common  # noqa: E402,F401

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()

FIX = os.path.join(HERE, "..", "fixtures")


def _err(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def _rel(a, b) -> float:
    return _err(a, b) / float(np.abs(np.asarray(b)).max())


class Replay:
    """np.random.choice stand-in: records p, returns the golden's choice."""

    def __init__(self, chosen):
        self.chosen, self.record = chosen, []

    def __call__(self, n, p=None, **kw):
        self.record.append(np.asarray(p, np.float64))
        return int(self.chosen[len(self.record) - 1])


def _generate_all(gen, g, tags, name, out, primer):
    from note_seq.protobuf import generator_pb2

    orig = np.random.choice
    for tag, temp in tags:
        opts = generator_pb2.GeneratorOptions()
        opts.args["temperature"].float_value = temp
        opts.generate_sections.add(start_time=float(g["start_time"]),
                                   end_time=float(g["end_time"]))
        rep = Replay(g[f"{tag}_chosen"])
        np.random.choice = rep
        try:
            gen.generate(primer, opts)
        finally:
            np.random.choice = orig
        out[f"melody_rnn/{name}/{tag}_softmax"] = _err(np.stack(rep.record),
                                                       g[f"{tag}_softmax"])


def _stack_checkpoint(bundle, work: str) -> None:
    """The TF 0.x-named stack bundle -> a checkpoint of today's graph (wrapper around the
    stack), so magenta's generator can load it."""
    import make_melody_rnn_goldens as mk
    from magenta.models.shared import events_rnn_graph

    v1 = os.path.join(work, "tf0.ckpt")
    with open(v1, "wb") as f:
        f.write(bundle.checkpoint_file[0])
    reader = tf.train.NewCheckpointReader(v1)
    config = mk.default_config("attention_rnn")
    config.hparams.rnn_layer_sizes = mk.SIZES
    config.hparams.batch_size = 1
    with tf.Graph().as_default():
        events_rnn_graph.get_build_graph_fn("generate", config)()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.global_variables():
                v.load(reader.get_tensor(mk._tf0_name(v.op.name)), sess)
            tf.train.Saver().save(sess, os.path.join(work, "model.ckpt"))


def melody_rnn() -> dict:
    import copy

    import note_seq
    from magenta.models.melody_rnn import melody_rnn_model, melody_rnn_sequence_generator
    from magenta.models.performance_rnn import performance_sequence_generator
    from magenta.models.shared import events_rnn_graph, sequence_generator_bundle

    import make_melody_rnn_goldens as mk

    d = os.path.join(FIX, "melody_rnn")
    out = {}
    for name in ["basic_rnn", "lookback_rnn", "attention_rnn", "attention_rnn_stack",
                 "attention_rnn_stack_scale1", "performance_with_dynamics"]:
        g = dict(np.load(os.path.join(d, f"{name}.npz")))
        bundle = sequence_generator_bundle.read_bundle_file(os.path.join(d, f"{name}.mag"))
        primer = mk.primer_sequence([(s, e, int(p), int(v))
                                     for s, e, p, v in g["primer"].tolist()])
        make_cell = events_rnn_graph.make_rnn_cell
        work = tempfile.mkdtemp(prefix="recompute_")
        if name.startswith("performance"):
            gen = performance_sequence_generator.get_generator_map()[name](
                checkpoint=None, bundle=bundle)
            gen._model._config.hparams.batch_size = 1
            config = gen._model._config
        else:
            stack = name in (mk.STACK, mk.STACK_SCALE1)
            cname = "attention_rnn" if stack else name
            config = copy.deepcopy(melody_rnn_model.default_configs[cname])
            config.hparams.batch_size = 1
            kw = {"checkpoint": None, "bundle": bundle}
            if stack:
                events_rnn_graph.make_rnn_cell = mk._stack_cell
                config.hparams.rnn_layer_sizes = mk.SIZES
                _stack_checkpoint(bundle, work)
                kw = {"checkpoint": work}
            gen = melody_rnn_sequence_generator.MelodyRnnSequenceGenerator(
                model=melody_rnn_model.MelodyRnnModel(config), details=config.details,
                steps_per_quarter=config.steps_per_quarter, **kw)
        gen.initialize()
        sess = gen._model._session
        graph = sess.graph
        enc = config.encoder_decoder
        if name.startswith("performance"):
            q = note_seq.quantize_note_sequence_absolute(primer, config.steps_per_second)
            ev = note_seq.Performance(q, start_step=0,
                                      num_velocity_bins=config.num_velocity_bins)
            tags = [("t10", 1.0), ("s10", 1.0)]
        else:
            ev = note_seq.Melody(list(g["tf_events"]))
            tags = [("t10", 1.0), ("t05", 0.5), ("s10", 1.0)]
        feed = {graph.get_collection("inputs")[0]: enc.get_inputs_batch([ev], full_length=True),
                graph.get_collection("temperature")[0]: 1.0}
        sm = sess.run(graph.get_collection("softmax")[0], feed)[0]
        out[f"melody_rnn/{name}/tf_softmax"] = _err(sm, g["tf_softmax"])
        _generate_all(gen, g, tags, name, out, primer)
        events_rnn_graph.make_rnn_cell = make_cell
        sess.close()
    return out


def gansynth() -> dict:
    magenta_compat.patch_gansynth_dataset()
    from magenta.models.gansynth.lib import data_helpers
    from magenta.models.gansynth.lib import flags as lib_flags
    from magenta.models.gansynth.lib import model as lib_model

    captured = {}
    orig = data_helpers.DataMelHelper.data_to_waves

    def capture(self, data):
        captured["spec"] = data
        return orig(self, data)

    data_helpers.DataMelHelper.data_to_waves = capture
    # The fixture keeps the generator's variables only: restore those.
    saver_restore = tf.train.Saver.restore

    def restore(self, sess, path):
        have = {n for n, _ in tf.train.list_variables(path)}
        keep = [v for v in tf.global_variables() if v.op.name in have]
        sess.run(tf.variables_initializer(
            [v for v in tf.global_variables() if v.op.name not in have]))
        saver_restore(tf.train.Saver(keep), sess, path)

    tf.train.Saver.restore = restore
    g = dict(np.load(os.path.join(FIX, "gansynth", "goldens.npz")))
    flags = lib_flags.Flags({"batch_size_schedule": [8], "tfds_data_dir": "/nonexistent"})
    model = lib_model.Model.load_from_path(os.path.join(FIX, "gansynth", "tiny_ckpt"), flags)
    z, pitches = g["z"], g["pitches"]
    labels = model._pitches_to_labels(pitches) + [0] * 5
    zpad = np.concatenate([z, np.zeros([5, 256], np.float32)])
    spec, waves8 = model.sess.run([captured["spec"], model.fake_waves_ph],
                                  {model.labels_ph: labels, model.noises_ph: zpad})
    stride = int(g["spec_frame_stride"])
    spec = spec[:3, ::stride]
    out = {"gansynth/specgrams_mag": _rel(spec[..., 0], g["specgrams"][..., 0]),
           "gansynth/specgrams_if": _rel(spec[..., 1], g["specgrams"][..., 1]),
           "gansynth/waves": _rel(waves8[:3, :64000, 0], g["waves"])}
    # The same notes one at a time (the rest of Magenta's batch of 8 padded with zeros):
    # how far batch composition moves Magenta's own output.
    ones = []
    for i in range(3):
        zi = np.concatenate([z[i:i + 1], np.zeros([7, 256], np.float32)])
        li = model._pitches_to_labels(pitches[i:i + 1]) + [0] * 7
        ones.append(model.sess.run(model.fake_waves_ph,
                                   {model.labels_ph: li, model.noises_ph: zi})[0, :64000, 0])
    out["gansynth/batch1_vs_golden"] = _rel(np.stack(ones), g["waves"])
    out["gansynth/batch1_vs_batch3"] = _rel(np.stack(ones), waves8[:3, :64000, 0])
    model.sess.close()
    return out


def musicvae() -> dict:
    """Encoder posterior and the greedy decodes' logits (temperature 1e-4, as recorded).
    A greedy path can take the other branch at a near-tie under other kernels; logits are
    compared up to the first step where the samples leave the golden's. The t10/humanize
    goldens are draws from TF's unseeded sampler, so they cannot be re-run."""
    import make_musicvae_goldens as mk
    from magenta.models.music_vae import TrainedModel

    out = {}
    root = os.path.join(FIX, "musicvae")
    for name in sorted(os.listdir(root)):
        if not os.path.isdir(os.path.join(root, name)):
            continue
        with np.load(os.path.join(root, name, "goldens.npz")) as f:
            g = {k: f[k] for k in f.files}
        config = mk.small_config(name, mk.SMALL[name])
        if name.startswith("hierdec-trio"):
            mk.allow_split_logits_in_hierarchy()
        tm = TrainedModel(config, batch_size=mk.BATCH,
                          checkpoint_dir_or_path=os.path.join(root, name, "model.ckpt"))
        _, mu, sigma = tm.encode_tensors(list(g["inputs"]), list(g["lengths"]))
        out[f"musicvae/{name}/enc_mu"] = _err(mu, g["enc_mu"])
        out[f"musicvae/{name}/enc_sigma"] = _err(sigma, g["enc_sigma"])
        L = config.hparams.max_seq_len
        for tag, z in (("greedy", g["dec_z"]), ("interp", g["interp_z"])):
            samples, logits = mk.run_decode(tm, z, L, mk.GREEDY_T)
            ref = g[f"{tag}_logits"]
            worst, diverged = 0.0, 0
            for row in range(len(z)):
                a, b = samples[row], g[f"{tag}_samples"][row]
                if name.startswith("groovae"):  # hits decide the path; velocities, offsets
                    a, b = a[..., :a.shape[-1] // 3], b[..., :b.shape[-1] // 3]  # are floats
                same = (a == b).all(-1)
                first = int(np.argmin(same)) if not same.all() else len(same)
                diverged += first < len(same)
                n = min(first + 1, ref.shape[1])  # the step that chose differently counts
                worst = max(worst, _err(logits[row, :n], ref[row, :n]))
            out[f"musicvae/{name}/{tag}_logits"] = worst
            out[f"musicvae/{name}/{tag}_rows_diverged"] = float(diverged)
        tm._sess.close()
    return out


def nsynth() -> dict:
    import make_nsynth_goldens as mk
    from magenta.models.nsynth.wavenet import fastgen

    g = dict(np.load(os.path.join(FIX, "nsynth", "goldens.npz")))
    audio = g["encode_audio"]
    enc = fastgen.encode(audio, mk.CKPT, sample_length=audio.shape[1])
    probs = mk.teacher_forced_probs(g["tf_inputs"], g["tf_encodings"])
    return {"nsynth/encodings": _err(enc, g["encodings"]),
            "nsynth/tf_probs": _err(probs[g["tf_steps"]], g["tf_probs"]),
            "nsynth/tf_argmax_changed": float((probs.argmax(-1) != g["tf_argmax"]).sum())}


FAMILIES = {"melody_rnn": melody_rnn, "gansynth": gansynth, "musicvae": musicvae,
            "nsynth": nsynth}

if __name__ == "__main__":
    res = {}
    for fam in sys.argv[1:] or list(FAMILIES):
        res.update(FAMILIES[fam]())
    print(json.dumps(res))
