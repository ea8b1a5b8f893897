"""`magstation train performance`: performances extracted from MIDI as magenta's
performance_rnn pipeline does (sustain, stretch, 30 s chunks, 100 steps/s, +-3 semitones,
32 velocity bins), a tiny performance_with_dynamics trained a few steps on the folk
fixtures, the `.mag` continued through the engine's real loader and CLI, resume, Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import note_seq
import numpy as np
import pytest
import tensorflow as tf

from engine.cli import main as cli
from engine.models.mag_bundle import read_bundle
from engine.models.melody_rnn import MelodyRnn
from engine.music import performance_rnn as pr
from engine.train import performance_data as pdata
from engine.train.melody_data import batches
from engine.train.melody_evaluate import heldout_nats
from engine.train.melody_evaluate import main as melody_evaluate_main
from engine.train.melody_trainer import MelodyTrainer, performance_options, train_melody
from engine.train.trainer import latest_checkpoint
from tests.conftest import ROOT
from tests.test_train_melody import magenta_softmax

FOLK = ROOT / "tests" / "fixtures" / "folk_midi"
CONFIG = "performance_with_dynamics"


def opts(out: Path, steps: int):
    o = performance_options(FOLK, steps, out)
    o.layers, o.batch_size, o.max_len, o.save_every = (16, 16), 4, 48, 1000
    return o


def pitches(perf) -> set[int]:
    return {e.event_value for e in perf if e.event_type == note_seq.PerformanceEvent.NOTE_ON}


def tenth_onset(perf) -> int:
    """The time step of the performance's tenth note-on."""
    t, ons = 0, []
    for e in perf:
        if e.event_type == note_seq.PerformanceEvent.TIME_SHIFT:
            t += e.event_value
        elif e.event_type == note_seq.PerformanceEvent.NOTE_ON:
            ons.append(t)
    return ons[9]


def test_performances_are_extracted_augmented_and_encoded_as_magenta_does():
    f = sorted(FOLK.glob("*.mid"))[0]
    (plain,) = pdata.file_performances(f, CONFIG, augment=False)
    assert pdata.MIN_EVENTS <= len(plain) <= pdata.MAX_EVENTS
    assert plain.steps_per_second == pr.STEPS_PER_SECOND
    kinds = {e.event_type for e in plain}
    ev = note_seq.PerformanceEvent
    assert {ev.NOTE_ON, ev.NOTE_OFF, ev.TIME_SHIFT, ev.VELOCITY} <= kinds
    bins = {e.event_value for e in plain if e.event_type == note_seq.PerformanceEvent.VELOCITY}
    assert bins and max(bins) <= 32  # velocity bins, not raw velocities
    augmented = pdata.file_performances(f, CONFIG, augment=True)
    shifts = {min(pitches(p)) - min(pitches(plain)) for p in augmented}
    assert shifts == set(range(-3, 4))  # every transposition of magenta's range
    tenth = {tenth_onset(p) for p in augmented}  # time-stretched by 0.95..1.05
    for factor in pdata.STRETCH_FACTORS:  # each stretch's first chunk, within a step
        assert min(abs(t - factor * tenth_onset(plain)) for t in tenth) <= 1, factor
    enc = pr.encoder_decoder(CONFIG)
    x, y = pdata.encode(plain, enc)
    one_hot = np.eye(enc.input_size, dtype=np.float32)[x]
    want_x = np.array([enc.events_to_input(plain, i) for i in range(len(plain) - 1)], np.float32)
    np.testing.assert_array_equal(one_hot, want_x)
    assert list(y) == [enc.events_to_label(plain, i) for i in range(1, len(plain))]
    ex = pdata.load_examples(FOLK, CONFIG, "train")
    bx, by, bm = next(batches(ex, 3, 40, seed=0))
    assert bx.shape == (3, 40, enc.input_size) and bx.sum(-1).max() == 1
    np.testing.assert_array_equal(bx.sum(-1), bm)  # one hot bit per unmasked step
    held = pdata.load_examples(FOLK, CONFIG, "eval")
    assert held.files + ex.files == len(list(FOLK.glob("*.mid")))


def test_train_resume_and_continue_through_the_engine(tmp_path, capsys):
    out = tmp_path / "run"
    first = train_melody(opts(out, 2))
    assert first.step == 2 and first.bundle == out / f"{CONFIG}.mag"
    assert read_bundle(first.bundle).generator_id == CONFIG
    seen: list[int] = []
    second = train_melody(opts(out, 3), lambda s, total, m: seen.append(s))
    assert seen == [3] and latest_checkpoint(out) == out / "model.ckpt-3"
    settings = json.loads((out / "train.json").read_text())  # magenta's performance hparams
    assert settings["family"] == "performance_rnn" and settings["clip_norm"] == 3.0
    assert settings["lr_decay"] == 1.0 and settings["dropout_keep"] == 1.0
    model = MelodyRnn.load(second.bundle)  # the engine's loader, config from the bundle
    assert model.config == CONFIG and model.weights.units == [16, 16]
    perf = pdata.file_performances(sorted(FOLK.glob("*.mid"))[0], CONFIG, augment=False)[0]
    perf.truncate(40)
    x, _ = pdata.encode(perf, model.enc)
    trainer = MelodyTrainer(opts(out, 3))
    inputs = np.eye(model.enc.input_size, dtype=np.float32)[x]
    logits = trainer.model.logits(tf.constant(inputs[None]), 1.0, tf.constant([0, 0])).numpy()[0]
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), model.softmax_of(perf)[:len(x)],
                               atol=1e-5)
    # the CLI's continuation with the bundle, through the engine's melody.continue
    primer = tmp_path / "primer.mid"
    note_seq.sequence_proto_to_midi_file(perf.to_sequence(), str(primer))
    made = tmp_path / "cont.mid"
    assert cli(["melody", "continue", str(primer), "--checkpoint", str(second.bundle),
                "--steps", "8", "--seed", "1", "-o", str(made)]) == 0
    printed = capsys.readouterr().out
    assert f"model: {CONFIG}" in printed and str(made) in printed  # the bundle made it
    got = note_seq.midi_file_to_note_sequence(str(made))
    assert got.total_time > perf.to_sequence().total_time  # primer + continuation


def test_magentas_generator_route_gives_the_same_softmax(tmp_path):
    """PerformanceRnnSequenceGenerator drives the bundle's metagraph as MelodyRNN's does."""
    result = train_melody(opts(tmp_path / "run", 1))
    model = MelodyRnn.load(result.bundle)
    perf = pdata.file_performances(sorted(FOLK.glob("*.mid"))[1], CONFIG, augment=False)[0]
    perf.truncate(30)
    x, _ = pdata.encode(perf, model.enc)
    got = magenta_softmax(result.bundle, np.eye(model.enc.input_size, dtype=np.float32)[x])
    np.testing.assert_allclose(got, model.softmax_of(perf)[:len(got)], atol=1e-5)


def test_held_out_log_likelihood_of_a_performance_bundle(tmp_path, capsys):
    result = train_melody(opts(tmp_path / "run", 1))
    model = MelodyRnn.load(result.bundle)
    perf = pdata.file_performances(sorted(FOLK.glob("*.mid"))[2], CONFIG, augment=False)[0]
    x, y = pdata.encode(perf, model.enc)
    nats = heldout_nats(result.bundle, [x], [y], (16, 16), CONFIG)
    p = model.softmax_of(perf)[:len(y)]
    assert nats == pytest.approx(-np.log(p[np.arange(len(y)), y]).mean(), abs=1e-4)
    assert melody_evaluate_main([str(result.bundle), "--data", str(FOLK)]) == 0
    out = capsys.readouterr().out
    assert "performances" in out and "log-likelihood per event" in out and "unigram" in out


def test_ctrl_c_saves_the_step_and_the_bundle(tmp_path):
    out = tmp_path / "run"

    def stop_at_two(step, total, metrics):
        if step == 2:
            raise KeyboardInterrupt

    result = train_melody(opts(out, 50), stop_at_two)
    assert result.interrupted and result.step == 2
    assert latest_checkpoint(out) == out / "model.ckpt-2"
    assert MelodyRnn.load(result.bundle).config == CONFIG


def test_cli_train_performance(tmp_path, capsys, mag_home):
    out = tmp_path / "cli"
    args = ["train", "performance", "--data", str(FOLK), "--steps", "2", "--out", str(out),
            "--layers", "8", "--batch-size", "2", "--max-len", "32"]
    assert cli(args) == 0
    captured = capsys.readouterr()
    assert "step 2/2" in captured.err and "ETA" in captured.err
    assert "performances" in captured.err
    assert f"bundle {out / (CONFIG + '.mag')}" in captured.out
    assert cli(["train", "performance", "--data", str(tmp_path / "none"), "--steps", "1",
                "--out", str(tmp_path / "x")]) == 2
    assert "--data" in capsys.readouterr().err
    # like melody runs, both left a record the TUI's job list shows (engine/batch/runs.py)
    from engine.batch.runs import read_runs
    recs = {Path(r["out"]).name: r for r in read_runs() if r["kind"] == "train"}
    assert recs["cli"]["state"] == "done" and recs["cli"]["done"] == recs["cli"]["total"] == 2
    assert recs["cli"]["config"] == CONFIG
    assert recs["x"]["state"] == "error" and "--data" in recs["x"]["error"]
