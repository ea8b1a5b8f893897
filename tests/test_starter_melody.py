"""The starter melody model shipped in checkpoints/starter/starter-attention_rnn: it loads
through the loader official bundles use, continuations stay in the primer's key (fixed
seeds; MELODY_MODEL_CARD.md has the held-out numbers), and `melody continue` falls back
to it, naming it, when no official MelodyRNN bundle is installed."""

from __future__ import annotations

import numpy as np
import pytest

from engine import checkpoints as ck
from engine.cli import main as cli
from engine.local import run_method
from engine.models.mag_bundle import read_bundle
from engine.models.melody_rnn import MelodyRnn, sequence_from_notes
from engine.train.melody_evaluate import major_scale
from tests.conftest import ROOT

NAME = "starter-attention_rnn"
BUNDLE = ROOT / "checkpoints" / "starter" / NAME / "attention_rnn.mag"
EIGHTH = 0.25  # seconds at 120 qpm

# Folk-like 2-bar primers (8th notes) in four major keys: (tonic pitch class, pitches)
PRIMERS = {
    7: [67, 71, 74, 71, 72, 71, 69, 67, 66, 67, 69, 71, 69, 67, 66, 62],  # G major
    2: [62, 66, 69, 66, 64, 62, 61, 62, 64, 66, 67, 69, 71, 69, 66, 64],  # D major
    5: [65, 69, 72, 69, 70, 69, 67, 65, 64, 65, 67, 69, 67, 65, 64, 60],  # F major
    0: [60, 64, 67, 64, 65, 64, 62, 60, 59, 60, 62, 64, 62, 60, 59, 55],  # C major
}


@pytest.fixture
def no_checkpoints(tmp_path, monkeypatch, mag_home):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "empty"))
    return tmp_path / "empty"


def primer(pitches: list[int]):
    return sequence_from_notes([[i * EIGHTH, (i + 1) * EIGHTH, p, 100]
                                for i, p in enumerate(pitches)])


def test_the_starter_is_a_small_official_format_bundle():
    assert BUNDLE.stat().st_size < 5_000_000
    assert read_bundle(BUNDLE).generator_id == "attention_rnn"
    assert ck.resolve(NAME) == BUNDLE
    model = MelodyRnn.load(ck.resolve(NAME), name=NAME)  # the loader official bundles use
    assert model.config == "attention_rnn" and model.weights.attention is not None
    assert ck.verify(NAME).ok


def test_continuations_stay_in_the_primers_key():
    """4-bar continuations of primers in G, D, F and C major, 3 fixed seeds each: most
    notes are in the primer's key (chance for a uniform choice of 12 pitch classes: 7/12)."""
    model = MelodyRnn.load(BUNDLE, name=NAME)
    shares = []
    for tonic, pitches in PRIMERS.items():
        scale = major_scale(tonic)
        for seed in (1, 2, 3):
            result = model.continue_sequence(primer(pitches), 64, temperature=1.0, seed=seed)
            notes = [n.pitch for n in result.notes]
            assert len(notes) >= 4, (tonic, seed)  # it plays, not rests
            shares.append(np.mean([p % 12 in scale for p in notes]))
    assert np.mean(shares) > 0.85
    assert min(shares) > 0.6
    again = model.continue_sequence(primer(PRIMERS[7]), 64, temperature=1.0, seed=1)
    first = model.continue_sequence(primer(PRIMERS[7]), 64, temperature=1.0, seed=1)
    assert again.note_rows() == first.note_rows()  # same seed, same notes


def test_melody_continue_falls_back_to_the_starter(no_checkpoints, tmp_path, capsys):
    notes = [[i * EIGHTH, (i + 1) * EIGHTH, p, 100] for i, p in enumerate(PRIMERS[2])]
    out = run_method("melody.continue", {"primer": notes, "bars": 2, "seed": 5,
                                         "folder": str(tmp_path)}, quiet=True)
    assert out["model"] == NAME and out["config"] == "attention_rnn" and out["notes"]
    assert cli(["melody", "continue", out["file"], "--bars", "1", "--seed", "2",
                "-o", str(tmp_path / "again.mid")]) == 0
    assert f"model: {NAME}" in capsys.readouterr().out


# -- the 2-bar melody MusicVAE starter (melody sample / interpolate)

VAE_NAME = "starter-cat-mel_2bar"
VAE_DIR = ROOT / "checkpoints" / "starter" / VAE_NAME


def test_the_vae_starter_is_a_small_official_format_checkpoint():
    import tensorflow as tf

    from engine.models.musicvae import MusicVae, required_variables
    from engine.models.musicvae_configs import get_config

    assert sum(f.stat().st_size for f in VAE_DIR.iterdir()) < 8_000_000
    vae = MusicVae.load("cat-mel_2bar_big", str(VAE_DIR))  # the loader official ones use
    assert vae.config.name == "cat-mel_2bar_big" and vae.z_size == 64
    names = set(tf.train.load_checkpoint(str(ck.resolve(VAE_NAME))).get_variable_to_shape_map())
    assert names == set(required_variables(get_config("cat-mel_2bar_big"))) | {"global_step"}
    assert ck.verify(VAE_NAME).ok


def test_vae_samples_are_tonal_melodies():
    """32 samples at T=0.5 (fixed seed): melodies, not silence, mostly in one major key and
    moving mostly by step, as the folk tunes do (MELODY_MODEL_CARD.md has the numbers;
    the thresholds sit between chance and the held-out data)."""
    from engine.models.musicvae import MusicVae
    from engine.music.melody import onehot_to_events
    from engine.train.mel_vae_evaluate import stats

    vae = MusicVae.load("cat-mel_2bar_big", str(VAE_DIR))
    out, _ = vae.sample(32, temperature=0.5, seed=7)
    s = stats(out)
    assert s["empty"] < 0.1
    assert 2.0 < s["notes_per_bar"] < 12.0
    assert s["best_key_share"] > 0.9
    assert s["steps_vs_leaps"] > 0.4
    again, _ = vae.sample(32, temperature=0.5, seed=7)
    assert [onehot_to_events(o) for o in out] == [onehot_to_events(o) for o in again]


def test_melody_sample_and_interpolate_fall_back_to_the_vae_starter(no_checkpoints, tmp_path,
                                                                    capsys):
    out = run_method("melody.sample", {"n": 2, "seed": 3, "folder": str(tmp_path)}, quiet=True)
    assert out["model"] == VAE_NAME and len(out["files"]) == 2
    a, b = (f["path"] for f in out["files"])
    chain = run_method("melody.interpolate", {"a": a, "b": b,
                                              "steps": 3, "seed": 1,
                                              "folder": str(tmp_path / "chain")}, quiet=True)
    assert chain["model"] == VAE_NAME and len(chain["files"]) == 3
    assert cli(["melody", "sample", "-n", "1", "--seed", "5", "-o", str(tmp_path / "cli")]) == 0
    assert f"model: {VAE_NAME}" in capsys.readouterr().out
