"""Training the starter drum models: data windows from the shipped Groove MIDI Dataset,
official-format checkpoints that the inference model loads, resume, Ctrl-C, the CLI.
Everything runs at the tiny width on a handful of files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from engine.cli import main as cli
from engine.errors import BadInput
from engine.models.musicvae import MusicVae, required_variables
from engine.models.musicvae_configs import get_config, variables_for
from engine.train.data import dataset_files, load_windows
from engine.train.trainer import (TrainOptions, Trainer, export, latest_checkpoint, train)
from tests.conftest import ROOT

GROOVE = ROOT / "midi" / "groove"
FILES = 3


@pytest.fixture(autouse=True)
def _home(mag_home):  # the window cache goes to a private MAGSTATION_HOME
    return mag_home


def opts(out: Path, config: str = "cat-drums_2bar_small", steps: int = 3, **kw) -> TrainOptions:
    return TrainOptions(data=GROOVE, config=config, steps=steps, out=out, width="tiny",
                        batch_size=8, limit_files=FILES, save_every=1000, **kw)


def checkpoint_names(prefix: Path) -> set[str]:
    return set(tf.train.load_checkpoint(str(prefix)).get_variable_to_shape_map())


def test_the_shipped_dataset_and_its_splits():
    import csv

    rows = list(csv.DictReader((GROOVE / "info.csv").open()))
    assert len(rows) == 1150 and all((GROOVE / r["midi_filename"]).is_file() for r in rows)
    assert (GROOVE / "LICENSE").is_file() and "CC BY 4.0" in (GROOVE / "README.md").read_text()
    train_files = dataset_files(GROOVE, "train")
    test_files = dataset_files(GROOVE, "test")
    assert not set(train_files) & set(test_files)
    assert all("4-4" in f.name for f in train_files + test_files)  # only 4/4 performances
    with pytest.raises(BadInput, match="info.csv"):
        dataset_files(ROOT / "midi", "train")


def test_windows_are_the_converters_tensors():
    d = load_windows(GROOVE, "cat-drums_2bar_small", "train", limit_files=FILES)
    assert d.inputs.shape[1:] == (32, 10) and d.outputs.shape[1:] == (32, 512)
    assert np.all(d.outputs.sum(-1) == 1)  # one-hot targets
    # the roll input and the one-hot target describe the same hits
    idx = d.outputs.argmax(-1)
    bits = (idx[..., None] >> np.arange(9)) & 1
    assert np.array_equal(bits.astype(bool), d.inputs[..., :9] > 0.5)
    g = load_windows(GROOVE, "groovae_2bar_humanize", "train", limit_files=FILES)
    assert g.inputs.shape[1:] == (32, 27)
    # humanize: the encoder sees hits only; the targets keep velocities and offsets
    assert np.array_equal(g.inputs[..., :9], g.outputs[..., :9])
    assert not g.inputs[..., 9:].any() and g.outputs[..., 9:18].any()


def test_train_saves_official_names_resumes_and_loads(tmp_path):
    out = tmp_path / "run"
    first = train(opts(out, steps=3))
    assert first.step == 3 and not first.interrupted
    assert first.checkpoint == out / "model.ckpt-3" == latest_checkpoint(out)
    cfg = get_config("cat-drums_2bar_small")
    names = checkpoint_names(first.checkpoint)
    model_names = set(variables_for(cfg))
    assert model_names <= names  # exactly the official graph's variable names ...
    extra = names - model_names  # ... plus TF1's training variables
    assert extra == ({f"{n}/Adam" for n in model_names} | {f"{n}/Adam_1" for n in model_names}
                     | {"global_step", "beta1_power", "beta2_power"})
    steps_seen = []
    second = train(opts(out, steps=5, free_bits=4.0), lambda s, total, m: steps_seen.append(s))
    assert steps_seen == [4, 5] and second.step == 5  # the step count continues
    settings = json.loads((out / "train.json").read_text())
    assert settings["hparams"]["free_bits"] == 4.0  # a new KL setting holds from step 3 on
    assert settings["changes"] == [{"from_step": 3, "free_bits": 4.0}]
    assert latest_checkpoint(out) == out / "model.ckpt-5"
    reader = tf.train.load_checkpoint(str(second.checkpoint))
    assert reader.get_tensor("global_step") == 5
    vae = MusicVae.load("cat-drums_2bar_small", str(out))
    outputs, z = vae.sample(2, temperature=1.0, seed=1)
    assert outputs.shape == (2, 32, 512) and z.shape == (2, 16)


def test_training_math_is_the_inference_math(tmp_path):
    """The trainable model's encoder and teacher-forced decoder give what the inference
    model computes from the saved checkpoint (one LSTM, one set of names)."""
    for config in ("cat-drums_2bar_small", "groovae_2bar_humanize"):
        out = tmp_path / config
        result = train(opts(out, config=config, steps=1))
        trainer = Trainer(opts(out, config=config, steps=1))  # restores the checkpoint
        d = load_windows(GROOVE, config, "train", limit_files=FILES)
        x, y = d.inputs[:4], d.outputs[:4]
        mu, sigma = (t.numpy() for t in trainer.model.encode(tf.constant(x)))
        logits = trainer.model.decode_logits(tf.constant(mu), tf.constant(y)).numpy()
        vae = MusicVae.load(config, str(result.checkpoint))
        _, mu2, sigma2 = vae.encode(x)
        np.testing.assert_allclose(mu, mu2, atol=1e-5)
        np.testing.assert_allclose(sigma, sigma2, atol=1e-5)
        np.testing.assert_allclose(logits, vae.decode_logits(mu, y), atol=1e-4)


def test_ctrl_c_saves_and_stops(tmp_path):
    out = tmp_path / "run"

    def stop_at_two(step, total, metrics):
        if step == 2:
            raise KeyboardInterrupt

    result = train(opts(out, config="groovae_2bar_humanize", steps=50), stop_at_two)
    assert result.interrupted and result.step == 2
    assert latest_checkpoint(out) == out / "model.ckpt-2"
    assert tf.train.load_checkpoint(str(out / "model.ckpt-2")).get_tensor("global_step") == 2
    # exported for inference: the model variables only, still loadable
    dest = export(out, tmp_path / "shipped")
    assert checkpoint_names(dest) == set(required_variables(get_config(
        "groovae_2bar_humanize"))) | {"global_step"}
    vae = MusicVae.load("groovae_2bar_humanize", str(tmp_path / "shipped"))
    assert vae.decode(np.zeros((1, vae.z_size), np.float32), 32).shape == (1, 32, 27)


def test_resume_refuses_another_config(tmp_path):
    out = tmp_path / "run"
    train(opts(out, steps=1))
    with pytest.raises(BadInput, match="another --out"):
        train(opts(out, config="groovae_2bar_humanize", steps=2))


def test_resume_names_the_tensor_that_does_not_fit(tmp_path):
    """A run folder whose checkpoint is not of the run asked for (its train.json edited or
    lost) is refused naming the tensor, before any step; the checkpoint is kept."""
    out = tmp_path / "run"
    first = train(opts(out, steps=1))
    settings = json.loads((out / "train.json").read_text())
    settings["widths"]["z"] *= 2
    (out / "train.json").write_text(json.dumps(settings))
    with pytest.raises(BadInput, match=r"`.*` is \(.*\), this run needs \(.*\); use another --out"):
        train(opts(out, steps=2))
    (out / "train.json").unlink()
    with pytest.raises(BadInput, match=r"model.ckpt-1: `.*` is \(.*\), this run needs"):
        train(opts(out, config="groovae_2bar_humanize", steps=2))
    assert latest_checkpoint(out) == first.checkpoint


def test_cli_train_drums(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "drums", "--data", str(GROOVE), "--config", "cat-drums_2bar_small",
            "--steps", "2", "--out", str(out), "--width", "tiny", "--batch-size", "4",
            "--limit-files", "2"]
    assert cli(args) == 0
    captured = capsys.readouterr()
    assert "step 2/2" in captured.err and "ETA" in captured.err
    assert f"checkpoint {out / 'model.ckpt-2'}" in captured.out
    assert cli([("4" if a == "2" else a) for a in args]) == 0  # more steps: resumes
    assert latest_checkpoint(out) == out / "model.ckpt-4"
    assert cli(["train", "drums", "--data", str(tmp_path), "--config", "cat-drums_2bar_small",
                "--steps", "1", "--out", str(tmp_path / "x")]) == 2  # no info.csv
    assert "info.csv" in capsys.readouterr().err
