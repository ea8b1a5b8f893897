"""Golden fixtures for the native MelodyRNN engine, made with magenta itself.

usage: VENV/bin/python tests/reference/make_melody_rnn_goldens.py [CONFIG ...]
       (CONFIG: basic_rnn, lookback_rnn, attention_rnn; default all)

For each config this
1. builds magenta's own generation graph (events_rnn_graph, mode 'generate') at SMALL
   widths (two layers of different sizes, so the native code must read the widths from
   the checkpoint), initialises it randomly, scales the kernels up, adds noise to every
   bias (so a dropped bias shows) and saves a checkpoint;
2. loads it with magenta's MelodyRnnSequenceGenerator and writes the official `.mag`
   bundle with the generator's own `create_bundle_file` into
   `tests/fixtures/melody_rnn/<config>.mag`;
3. records in `tests/fixtures/melody_rnn/<config>.npz`:
   - `primer`: the primer notes [start, end, pitch, velocity] (qpm 120; pitches partly out
     of the model range so magenta squashes/transposes them);
   - `tf_events`: the squashed primer melody events (magenta's Melody), `tf_softmax`: the
     model's softmax (temperature 1) for every step of that melody, teacher forced;
   - for temperature tags `t10` (1.0) and `t05` (0.5): `<tag>_softmax` (the distribution
     magenta sampled from at each generated step) and `<tag>_notes` (the generated
     NoteSequence, primer included) and `<tag>_chosen`, with sampling replaced by argmax (magenta's sampling
     RNG cannot be matched; the argmax path can);
   - `s10`: the same at temperature 1.0 with real sampling from a fixed numpy RNG, plus
     `s10_chosen` (the drawn classes): the native model replays these choices;
   - `start_time`, `end_time`: the generate section.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import magenta_compat  # noqa: E402

magenta_compat.apply()
import common  # noqa: E402,F401  (env, quiet logs)

import copy  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()
import note_seq  # noqa: E402
from note_seq.protobuf import generator_pb2  # noqa: E402
from magenta.models.melody_rnn import melody_rnn_model, melody_rnn_sequence_generator  # noqa: E402
from magenta.models.performance_rnn import (  # noqa: E402
    performance_model, performance_sequence_generator)
from magenta.models.shared import events_rnn_graph  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "melody_rnn")
SIZES = [24, 16]
KERNEL_SCALE = 2.5
CONFIGS = ["basic_rnn", "lookback_rnn", "attention_rnn", "performance_with_dynamics",
           "attention_rnn_stack", "attention_rnn_stack_scale1"]
# attention_rnn_stack: the older attention_rnn structure (the wrapper around the whole
# MultiRNNCell, as magenta built it before May 2017 and magenta-js expects), recorded with
# today's names, then saved as `attention_rnn_stack.mag` (generator id attention_rnn) with
# the variables renamed to the TF 0.x naming generation (melody_rnn.md §1).
STACK = "attention_rnn_stack"
# attention_rnn_stack_scale1: the same random weights and biases as attention_rnn_stack,
# kernels NOT scaled up (x1.0, the initializer's scale, like trained nets'). At x2.5 the
# stacked attention net is chaotic (a 1-ulp change of the weights grows ~1000x over the
# generated steps, tests/reference/float64_check.py); at x1.0 it is not, so a tight
# tolerance holds on it (docs/parity.md).
STACK_SCALE1 = "attention_rnn_stack_scale1"
KERNEL_SCALES = {STACK_SCALE1: 1.0}
PERF_SIZES = [20, 16, 12]
PERF_SECONDS = 1.0  # generate section length for PerformanceRNN (100 steps per second)
# PerformanceRNN primer: expressive timing and velocities, partly overlapping notes.
PERF_PRIMER = [(0.0, 0.41, 60, 40), (0.13, 0.62, 64, 75), (0.5, 0.9, 67, 110),
               (0.77, 1.2, 72, 90), (1.05, 1.33, 48, 60)]

# Primer: F major-ish line, partly above 84 (squash moves it down an octave), 2 bars.
PRIMER = [(0.0, 0.5, 89, 90), (0.5, 1.0, 91, 90), (1.0, 1.5, 93, 90), (1.5, 2.25, 96, 90),
          (2.5, 3.0, 93, 90), (3.0, 3.5, 89, 90), (3.5, 3.75, 88, 90)]


def primer_sequence(notes=PRIMER) -> note_seq.NoteSequence:
    ns = note_seq.NoteSequence()
    ns.tempos.add(qpm=120.0)
    ns.ticks_per_quarter = 220
    for s, e, p, v in notes:
        ns.notes.add(start_time=s, end_time=e, pitch=p, velocity=v)
    ns.total_time = max(n.end_time for n in ns.notes)
    return ns


def default_config(name: str):
    if name.startswith("performance"):
        return copy.deepcopy(performance_model.default_configs[name])
    return copy.deepcopy(melody_rnn_model.default_configs[name])


def make_checkpoint(name: str, work: str, kernel_scale: float = KERNEL_SCALE) -> None:
    config = default_config(name)
    config.hparams.rnn_layer_sizes = PERF_SIZES if name.startswith("performance") else SIZES
    config.hparams.batch_size = 1
    rng = np.random.RandomState(sum(map(ord, name)))
    with tf.Graph().as_default():
        tf.set_random_seed(sum(map(ord, name)))  # the same weights on every run
        events_rnn_graph.get_build_graph_fn("generate", config)()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.global_variables():
                val = sess.run(v)
                if "bias" in v.name:
                    val = val + rng.normal(0, 0.5, val.shape)
                else:
                    val = val * kernel_scale
                v.load(val.astype(np.float32), sess)
            print(name, [(v.name, v.shape.as_list()) for v in tf.global_variables()])
            tf.train.Saver().save(sess, os.path.join(work, "model.ckpt"))


class RecordingChoice:
    """Stands in for np.random.choice(n, p=...): records p and the choice, which is the
    argmax (greedy) or a draw from a fixed numpy RNG (sampled)."""

    def __init__(self, greedy: bool):
        self.record, self.chosen = [], []
        self.orig = np.random.choice
        self.rng = np.random.RandomState(1234)
        self.greedy = greedy

    def __call__(self, n, p=None, **kw):
        self.record.append(np.asarray(p, np.float64))
        c = int(np.argmax(p)) if self.greedy else int(self.rng.choice(n, p=p))
        self.chosen.append(c)
        return c


def notes_of(ns) -> np.ndarray:
    return np.array([[n.start_time, n.end_time, n.pitch, n.velocity] for n in ns.notes],
                    np.float64).reshape(-1, 4)


def _stack_cell(rnn_layer_sizes, dropout_keep_prob=1.0, attn_length=0, **_kw):
    from magenta.contrib import rnn as contrib_rnn
    cell = tf.nn.rnn_cell.MultiRNNCell(
        [tf.nn.rnn_cell.BasicLSTMCell(n) for n in rnn_layer_sizes])
    if attn_length:
        cell = contrib_rnn.AttentionCellWrapper(cell, attn_length, state_is_tuple=True)
    return cell


def _tf0_name(name: str) -> str:
    """Today's variable name -> the TF 0.x generation's (CamelCase scopes, Linear/Matrix)."""
    if name.startswith("fully_connected/"):
        return name
    for a, b in (("rnn/", "RNN/"), ("attention_cell_wrapper", "AttentionCellWrapper"),
                 ("multi_rnn_cell", "MultiRNNCell"), ("basic_lstm_cell", "BasicLSTMCell"),
                 ("attn_output_projection", "AttnOutputProjection"),
                 ("attention/attn_w", "Attention/AttnW"), ("attention/attn_v", "Attention/AttnV"),
                 ("attention/", "Attention/")):
        name = name.replace(a, b)
    name = re.sub(r"cell_(\d+)/", r"Cell\1/", name)
    name = re.sub(r"/kernel$", "/Linear/Matrix", name)
    return re.sub(r"/bias$", "/Linear/Bias", name)


def write_tf0_bundle(work: str, bundle_path: str, generator_id: str) -> None:
    """A .mag whose single-file V1 checkpoint uses TF 0.x variable names."""
    ckpt = tf.train.latest_checkpoint(work)
    with tf.Graph().as_default():
        vars_ = {_tf0_name(n): tf.Variable(tf.train.load_variable(ckpt, n), name="v%d" % i)
                 for i, (n, _) in enumerate(tf.train.list_variables(ckpt))}
        print("TF 0.x names:", sorted(vars_))
        saver = tf.train.Saver(vars_, sharded=False,
                               write_version=tf.train.SaverDef.V1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            os.makedirs(os.path.join(work, "tf0"), exist_ok=True)
            path = saver.save(sess, os.path.join(work, "tf0", "model.ckpt"),
                              write_meta_graph=False)
    bundle = generator_pb2.GeneratorBundle()
    bundle.generator_details.id = generator_id
    bundle.bundle_details.description = "magstation test bundle, TF 0.x names"
    bundle.checkpoint_file.append(open(path, "rb").read())
    with open(bundle_path, "wb") as f:
        f.write(bundle.SerializeToString())


def make(name: str) -> None:
    fixture = name
    stack = name in (STACK, STACK_SCALE1)
    make_rnn_cell = events_rnn_graph.make_rnn_cell
    if stack:
        events_rnn_graph.make_rnn_cell = _stack_cell
        name = "attention_rnn"
    work = tempfile.mkdtemp(prefix=f"melody_rnn_{name}_")
    make_checkpoint(name, work, KERNEL_SCALES.get(fixture, KERNEL_SCALE))
    config = copy.deepcopy(melody_rnn_model.default_configs[name])
    config.hparams.rnn_layer_sizes = SIZES
    config.hparams.batch_size = 1
    gen = melody_rnn_sequence_generator.MelodyRnnSequenceGenerator(
        model=melody_rnn_model.MelodyRnnModel(config), details=config.details,
        steps_per_quarter=config.steps_per_quarter, checkpoint=work)
    gen.initialize()
    os.makedirs(OUT, exist_ok=True)
    bundle = os.path.join(OUT, f"{name}.mag")
    if stack:
        bundle = os.path.join(work, "stack.mag")
        write_tf0_bundle(work, os.path.join(OUT, f"{fixture}.mag"), name)
    gen.create_bundle_file(bundle, "magstation test bundle (random weights)")

    # Reload from the bundle, as users would, and record everything from that generator.
    from magenta.models.shared import sequence_generator_bundle
    b = sequence_generator_bundle.read_bundle_file(bundle)
    config2 = copy.deepcopy(melody_rnn_model.default_configs[name])
    config2.hparams.batch_size = 1
    gen = melody_rnn_sequence_generator.MelodyRnnSequenceGenerator(
        model=melody_rnn_model.MelodyRnnModel(config2), details=config2.details,
        steps_per_quarter=config2.steps_per_quarter, checkpoint=None, bundle=b)
    gen.initialize()

    primer = primer_sequence()
    start, end = primer.total_time, primer.total_time + 8.0  # 4 bars at 120 qpm
    out = {"primer": notes_of(primer), "start_time": start, "end_time": end}

    # Teacher-forced softmax over the squashed primer melody.
    q = note_seq.quantize_note_sequence(primer, 4)
    mel = note_seq.Melody()
    mel.from_quantized_sequence(q, gap_bars=float("inf"), ignore_polyphonic_notes=True)
    mel.squash(config.min_note, config.max_note, config.transpose_to_key)
    sess = gen._model._session
    graph = sess.graph
    inputs = config.encoder_decoder.get_inputs_batch([mel], full_length=True)
    feed = {graph.get_collection("inputs")[0]: inputs,
            graph.get_collection("temperature")[0]: 1.0}
    out["tf_events"] = np.array(list(mel), np.int64)
    out["tf_softmax"] = sess.run(graph.get_collection("softmax")[0], feed)[0]

    for tag, temp, greedy in (("t10", 1.0, True), ("t05", 0.5, True), ("s10", 1.0, False)):
        opts = generator_pb2.GeneratorOptions()
        opts.args["temperature"].float_value = temp
        opts.generate_sections.add(start_time=start, end_time=end)
        chooser = RecordingChoice(greedy)
        np.random.choice = chooser
        try:
            res = gen.generate(primer, opts)
        finally:
            np.random.choice = chooser.orig
        out[f"{tag}_softmax"] = np.stack(chooser.record)
        out[f"{tag}_chosen"] = np.array(chooser.chosen, np.int64)
        out[f"{tag}_notes"] = notes_of(res)
        print(name, tag, len(chooser.record), "steps;", len(res.notes), "notes")
    np.savez_compressed(os.path.join(OUT, f"{fixture}.npz"), **out)
    shutil.rmtree(work, ignore_errors=True)
    events_rnn_graph.make_rnn_cell = make_rnn_cell


def make_performance(name: str) -> None:
    """The same records for PerformanceRNN: `tf_events` are the primer performance's class
    indices, the generate section is PERF_SECONDS long; magenta's generator is built as
    its get_generator_map does (fill_generate_section=False)."""
    work = tempfile.mkdtemp(prefix=f"perf_rnn_{name}_")
    make_checkpoint(name, work)
    config = default_config(name)
    config.hparams.rnn_layer_sizes = PERF_SIZES
    config.hparams.batch_size = 1
    gen = performance_sequence_generator.get_generator_map()[name](checkpoint=work)
    gen._model._config.hparams.rnn_layer_sizes = PERF_SIZES
    gen._model._config.hparams.batch_size = 1
    gen.initialize()
    os.makedirs(OUT, exist_ok=True)
    bundle = os.path.join(OUT, f"{name}.mag")
    gen.create_bundle_file(bundle, "magstation test bundle (random weights)")

    from magenta.models.shared import sequence_generator_bundle
    b = sequence_generator_bundle.read_bundle_file(bundle)
    gen = performance_sequence_generator.get_generator_map()[name](checkpoint=None, bundle=b)
    gen._model._config.hparams.batch_size = 1
    gen.initialize()

    primer = primer_sequence(PERF_PRIMER)
    start, end = primer.total_time, primer.total_time + PERF_SECONDS
    out = {"primer": notes_of(primer), "start_time": start, "end_time": end}
    q = note_seq.quantize_note_sequence_absolute(primer, config.steps_per_second)
    perf = note_seq.Performance(q, start_step=0, num_velocity_bins=config.num_velocity_bins)
    enc = config.encoder_decoder
    sess = gen._model._session
    graph = sess.graph
    inputs = enc.get_inputs_batch([perf], full_length=True)
    feed = {graph.get_collection("inputs")[0]: inputs,
            graph.get_collection("temperature")[0]: 1.0}
    out["tf_events"] = np.array([enc.events_to_label(perf, i) for i in range(len(perf))],
                                np.int64)
    out["tf_softmax"] = sess.run(graph.get_collection("softmax")[0], feed)[0]
    for tag, temp, greedy in (("t10", 1.0, True), ("s10", 1.0, False)):
        opts = generator_pb2.GeneratorOptions()
        opts.args["temperature"].float_value = temp
        opts.generate_sections.add(start_time=start, end_time=end)
        chooser = RecordingChoice(greedy)
        np.random.choice = chooser
        try:
            res = gen.generate(primer, opts)
        finally:
            np.random.choice = chooser.orig
        out[f"{tag}_softmax"] = np.stack(chooser.record)
        out[f"{tag}_chosen"] = np.array(chooser.chosen, np.int64)
        out[f"{tag}_notes"] = notes_of(res)
        print(name, tag, len(chooser.record), "steps;", len(res.notes), "notes")
    np.savez_compressed(os.path.join(OUT, f"{name}.npz"), **out)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for n in sys.argv[1:] or CONFIGS:
        (make_performance if n.startswith("performance") else make)(n)
