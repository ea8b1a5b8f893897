"""`magstation train melody`: melodies extracted from MIDI as magenta does, a tiny
attention_rnn trained a few steps on six public-domain folk tunes (tests/fixtures/folk_midi,
O'Neill's 1850), the `.mag` it writes loaded by the real loader and by magenta's own route
(import the bundle's metagraph, restore, feed the collections), resume and Ctrl-C."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from engine.cli import main as cli
from engine.errors import BadInput
from engine.models.mag_bundle import read_bundle, write_checkpoint
from engine.models.melody_rnn import MelodyRnn
from engine.music import melody_rnn as mr
from engine.train.melody_data import encode, file_melodies, key_melody_inputs, load_examples
from engine.train.melody_trainer import MelodyTrainer, MelodyTrainOptions, train_melody
from engine.train.trainer import latest_checkpoint
from tests.conftest import ROOT

FOLK = ROOT / "tests" / "fixtures" / "folk_midi"


def opts(out: Path, steps: int = 3, config: str = "attention_rnn") -> MelodyTrainOptions:
    return MelodyTrainOptions(data=FOLK, config=config, steps=steps, out=out, layers=(16, 16),
                              batch_size=4, max_len=48, save_every=1000)


def first_melody():
    return file_melodies(sorted(FOLK.glob("*.mid"))[0])[0]


def test_melodies_are_extracted_and_encoded_as_note_seq_does():
    melodies = [m for f in sorted(FOLK.glob("*.mid")) for m in file_melodies(f)]
    assert len(melodies) >= 6
    for m in melodies:
        assert len(m) >= 7 * 16 and len(m) <= 512  # MelodyExtractor's bounds
        pitches = [e for e in m if e >= 0]
        assert min(pitches) >= mr.MIN_NOTE and max(pitches) < mr.MAX_NOTE  # squashed
    enc = mr.encoder_decoder("attention_rnn")
    m = melodies[0]
    expected = np.array([enc.events_to_input(m, i) for i in range(len(m))], np.float32)
    np.testing.assert_array_equal(key_melody_inputs(list(m), enc), expected)
    x, y = encode(m, "basic_rnn")
    enc = mr.encoder_decoder("basic_rnn")
    assert x.shape == (len(m) - 1, enc.input_size)
    assert list(y) == [enc.events_to_label(m, i) for i in range(1, len(m))]


def test_train_writes_a_bundle_the_loader_reads_and_resumes(tmp_path):
    out = tmp_path / "run"
    first = train_melody(opts(out, steps=2))
    assert first.step == 2 and first.bundle == out / "attention_rnn.mag"
    assert read_bundle(first.bundle).generator_id == "attention_rnn"
    seen: list[int] = []
    second = train_melody(opts(out, steps=4), lambda s, total, m: seen.append(s))
    assert seen == [3, 4] and latest_checkpoint(out) == out / "model.ckpt-4"
    model = MelodyRnn.load(second.bundle)  # the engine's loader, config from the bundle
    assert model.config == "attention_rnn" and model.weights.units == [16, 16]
    # the trainer's math is the loader's math
    trainer = MelodyTrainer(opts(out, steps=4))
    melody = first_melody()
    melody.set_length(40)
    x, _ = encode(melody, "attention_rnn")
    logits = trainer.model.logits(tf.constant(x[None]), 1.0, tf.constant([0, 0])).numpy()[0]
    p = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(p, model.softmax_of(melody)[:len(p)], atol=1e-5)
    # and it continues a melody
    primer = mr.melody_sequence(melody, 0, mr.DEFAULT_QPM)
    result = model.continue_sequence(primer, 32, seed=3)
    assert result.notes and all(n.start_time >= result.start_time - 1e-6 for n in result.notes)


def test_ctrl_c_saves_the_step_and_the_bundle(tmp_path):
    out = tmp_path / "run"

    def stop_at_two(step, total, metrics):
        if step == 2:
            raise KeyboardInterrupt

    result = train_melody(opts(out, steps=50, config="basic_rnn"), stop_at_two)
    assert result.interrupted and result.step == 2
    assert latest_checkpoint(out) == out / "model.ckpt-2"
    assert MelodyRnn.load(result.bundle).config == "basic_rnn"
    with pytest.raises(BadInput, match="another --out"):
        train_melody(opts(out, steps=3, config="lookback_rnn"))


def magenta_softmax(bundle_path: Path, x: np.ndarray) -> np.ndarray:
    """magenta's EventsRnnModel: import the bundle's metagraph, restore, feed `inputs`,
    `initial_state`, `temperature`; read `softmax` and `final_state`, a few steps at a time
    (magenta feeds the primer at once, then steps). x: [T, input_size]."""
    bundle = read_bundle(bundle_path)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = write_checkpoint(bundle, Path(tmp))
        meta = Path(tmp) / "model.ckpt.meta"
        meta.write_bytes(__import__("note_seq").protobuf.generator_pb2.GeneratorBundle
                         .FromString(Path(bundle_path).read_bytes()).metagraph_file)
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
            saver = tf.compat.v1.train.import_meta_graph(str(meta))
            saver.restore(sess, str(prefix))
            inputs = graph.get_collection("inputs")[0]
            assert inputs.shape[0] == 1
            initial = graph.get_collection("initial_state")
            final = graph.get_collection("final_state")
            softmax = graph.get_collection("softmax")[0]
            temperature = graph.get_collection("temperature")[0]
            state = sess.run(initial)
            probs = []
            for t in range(0, len(x), 5):
                feed = {inputs: x[None, t:t + 5], temperature: 1.0}
                feed.update(zip(initial, state))
                state, p = sess.run([final, softmax], feed)
                probs.append(p[0])
    return np.concatenate(probs)


def test_magentas_generator_route_gives_the_same_softmax(tmp_path):
    result = train_melody(opts(tmp_path / "run", steps=1))
    melody = first_melody()
    melody.set_length(24)
    x, _ = encode(melody, "attention_rnn")
    got = magenta_softmax(result.bundle, x)
    want = MelodyRnn.load(result.bundle).softmax_of(melody)[:len(got)]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_cli_train_melody(tmp_path, capsys, mag_home):
    out = tmp_path / "cli"
    args = ["train", "melody", "--data", str(FOLK), "--config", "attention_rnn", "--steps",
            "2", "--out", str(out), "--layers", "8", "--batch-size", "2", "--max-len", "32"]
    assert cli(args) == 0
    captured = capsys.readouterr()
    assert "step 2/2" in captured.err and "ETA" in captured.err
    assert f"bundle {out / 'attention_rnn.mag'}" in captured.out
    assert cli(["train", "melody", "--data", str(tmp_path / "none"), "--steps", "1",
                "--out", str(tmp_path / "x")]) == 2
    assert "--data" in capsys.readouterr().err
    # both runs left a record the TUI's job list shows (engine/batch/runs.py)
    from engine.batch.runs import read_runs
    recs = {Path(r["out"]).name: r for r in read_runs() if r["kind"] == "train"}
    assert recs["cli"]["state"] == "done" and recs["cli"]["done"] == recs["cli"]["total"] == 2
    assert recs["cli"]["bundle"] == str(out / "attention_rnn.mag")
    assert recs["x"]["state"] == "error" and "--data" in recs["x"]["error"]


def test_the_held_out_split_is_stable_and_disjoint():
    train = load_examples(FOLK, "basic_rnn", "train")
    held = load_examples(FOLK, "basic_rnn", "eval")
    assert train.files + held.files == len(list(FOLK.glob("*.mid")))
    assert load_examples(FOLK, "basic_rnn", "train").files == train.files


def test_sigterm_stops_a_background_run_with_its_checkpoint_and_bundle(tmp_path, mag_home):
    """A run in the background ignores Ctrl-C's SIGINT; SIGTERM saves and writes the
    bundle the same way, and the command says how to resume."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "bg"
    cmd = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))",
           "train", "melody", "--data", str(FOLK), "--steps", "100000", "--out", str(out),
           "--layers", "8", "--batch-size", "2", "--max-len", "32", "--save-every", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 300
        while latest_checkpoint(out) is None:  # training has started
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Run the same command again to resume" in err
    step = int(latest_checkpoint(out).name.split("-")[-1])
    assert MelodyRnn.load(out / "attention_rnn.mag").config == "attention_rnn"
    assert step >= 1
    from engine.batch.runs import read_runs
    rec = read_runs()[0]  # what the TUI's job list shows: stopped, resumable, at that step
    assert rec["kind"] == "train" and rec["state"] == "stopped" and rec["done"] == step
    assert "resume" in rec["error"]
