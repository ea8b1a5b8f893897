"""The one model pool (engine/model_pool.py) with the four families' real fixture models:
sizes measured from the loaded arrays, LRU eviction of idle models under a small budget,
models in use by a running job never evicted, sharing between jobs, the budget setting."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine import model_pool
from engine.errors import BadInput
from engine.model_pool import POOL
from engine.models import pooled

FIX = Path(__file__).resolve().parent / "fixtures"
MEL = ("cat-mel_2bar_big", FIX / "musicvae" / "cat-mel_2bar_big" / "model.ckpt")
DRUMS = ("cat-drums_2bar_small", FIX / "musicvae" / "cat-drums_2bar_small" / "model.ckpt")
GROOVE = ("groovae_2bar_humanize", FIX / "musicvae" / "groovae_2bar_humanize" / "model.ckpt")
RNN = FIX / "melody_rnn" / "attention_rnn.mag"
GANSYNTH = FIX / "gansynth" / "tiny_ckpt"
NSYNTH = FIX / "nsynth" / "ckpt"


def _checkpoint_bytes(prefix: Path) -> int:
    """float32 bytes of every variable in a checkpoint but global_step (no Adam slots in
    these fixtures): what a loaded model should hold."""
    import numpy as np
    import tensorflow as tf

    shapes = tf.train.load_checkpoint(str(prefix)).get_variable_to_shape_map()
    return sum(4 * int(np.prod(s)) for n, s in shapes.items() if n != "global_step")


@pytest.fixture
def pool():
    """The engine's pool, emptied, with its budget restored afterwards."""
    POOL.clear()
    POOL.evicted.clear()
    yield POOL
    POOL.clear()
    POOL.set_budget(None)


def _labels(p) -> list[str]:
    return [m["model"] for m in p.status()["models"]]


def test_sizes_are_measured_from_the_loaded_models(pool):
    mel = pooled.musicvae(*MEL)
    assert model_pool.model_bytes(mel) == _checkpoint_bytes(MEL[1])
    ns = pooled.nsynth(NSYNTH)
    # NSynth reads the variables its config uses: all but a few small ones
    assert model_pool.model_bytes(ns) == pytest.approx(_checkpoint_bytes(NSYNTH / "model.ckpt-200000"),
                                                       rel=0.01)
    rnn, gs = pooled.melody_rnn(RNN, None, "attention_rnn"), pooled.gansynth(GANSYNTH)
    used = {m["model"]: m["bytes"] for m in pool.status()["models"]}
    assert all(b > 10_000 for b in used.values()) and len(used) == 4
    assert pool.status()["used"] == sum(model_pool.model_bytes(m) for m in (mel, ns, rnn, gs))


def test_idle_models_are_evicted_least_recently_used_first(pool):
    from engine.models.musicvae import MusicVae

    mel, drums = pooled.musicvae(*MEL), pooled.musicvae(*DRUMS)
    three = _checkpoint_bytes(MEL[1]) + _checkpoint_bytes(DRUMS[1]) + _checkpoint_bytes(GROOVE[1])
    pool.set_budget(three - 1)  # any two fit, not all three
    assert pooled.musicvae(*MEL) is mel  # shared, and now more recently used than drums
    pooled.musicvae(*GROOVE)
    assert pool.evicted == ["musicvae cat-drums_2bar_small model.ckpt"]  # the least recently used
    assert sorted(_labels(pool)) == ["musicvae cat-mel_2bar_big model.ckpt",
                                     "musicvae groovae_2bar_humanize model.ckpt"]
    assert pool.status()["used"] <= pool.budget
    # the evicted model is really gone (MusicVae keeps no copy of its own) and loads again,
    # pushing out the model now least recently used
    assert not MusicVae._cache
    again = pooled.musicvae(*DRUMS)
    assert again is not drums and again.config.name == "cat-drums_2bar_small"
    assert pool.evicted[-1] == "musicvae cat-mel_2bar_big model.ckpt"
    assert pool.status()["used"] <= pool.budget


def test_a_model_in_use_by_a_running_job_is_never_evicted(pool):
    pool.set_budget(1)  # smaller than any model: everything idle goes at once
    with pool.job_scope():
        mel = pooled.musicvae(*MEL)
        gs = pooled.gansynth(GANSYNTH)
        ns = pooled.nsynth(NSYNTH)
        rnn = pooled.melody_rnn(RNN, None, "attention_rnn")
        status = pool.status()
        # all four in use: kept, over budget rather than failing the job
        assert len(status["models"]) == 4 and all(m["in_use"] == 1 for m in status["models"])
        assert pool.evicted == []
        assert pooled.musicvae(*MEL) is mel
    # the job ended: idle now, and evicted to fit the budget
    assert pool.status()["models"] == []
    assert sorted(pool.evicted) == sorted([f"musicvae cat-mel_2bar_big model.ckpt",
                                          "gansynth tiny_ckpt float32", "nsynth ckpt",
                                          "melody_rnn attention_rnn"])
    assert all(m is not None for m in (gs, ns, rnn))


def test_a_job_running_beside_keeps_its_model_while_another_loads(pool):
    """Two jobs in two threads: the one still running keeps its model through the other's
    loads; the other's idle model goes first."""
    pool.set_budget(_checkpoint_bytes(MEL[1]) + _checkpoint_bytes(DRUMS[1]) + 1)
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def long_job():
        try:
            with pool.job_scope():
                pooled.musicvae(*MEL)
                holding.set()
                release.wait()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
            holding.set()

    t = threading.Thread(target=long_job)
    t.start()
    assert holding.wait(120)
    with pool.job_scope():
        pooled.musicvae(*DRUMS)
        pooled.musicvae(*GROOVE)  # over budget: drums is in use too, nothing can go yet
        assert len(pool.status()["models"]) == 3
    # this job ended: its two models are idle; the mel model (still in use) stays
    labels = _labels(pool)
    assert any("cat-mel" in n for n in labels)
    assert pool.status()["used"] <= pool.budget
    release.set()
    t.join()
    assert not errors
    in_use = [m for m in pool.status()["models"] if m["in_use"]]
    assert in_use == []


def test_jobs_share_the_loaded_model(pool, tmp_path):
    from engine.local import run_method

    for seed in (1, 2):
        res = run_method("melody.sample", {"checkpoint": str(MEL[1]), "config": MEL[0], "n": 1,
                                           "seed": seed, "folder": str(tmp_path)}, quiet=True)
        assert len(res["files"]) == 1
    status = run_method("engine.models_loaded", {}, quiet=True)  # what a client asks
    assert [m["model"] for m in status["models"]] == ["musicvae cat-mel_2bar_big model.ckpt"]
    assert status["models"][0]["in_use"] == 0  # the jobs ended
    assert status["used"] == status["models"][0]["bytes"] > 0 and status["budget"] == pool.budget


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAGSTATION_MODEL_BUDGET_MB", "256")
    assert model_pool.default_budget_bytes() == 256 * 1024 * 1024
    monkeypatch.setenv("MAGSTATION_MODEL_BUDGET_MB", "lots")
    with pytest.raises(BadInput, match="MAGSTATION_MODEL_BUDGET_MB"):
        model_pool.default_budget_bytes()
    monkeypatch.delenv("MAGSTATION_MODEL_BUDGET_MB")
    assert model_pool.default_budget_bytes() >= 1024 * 1024 * 1024


def test_budget_from_config_toml(tmp_path, monkeypatch):
    monkeypatch.delenv("MAGSTATION_MODEL_BUDGET_MB", raising=False)
    monkeypatch.setenv("MAGSTATION_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text("[engine]\nmodel_budget_mb = 300\n")
    assert model_pool.default_budget_bytes() == 300 * 1024 * 1024


def test_a_failed_load_leaves_nothing_behind(pool, tmp_path):
    from engine.errors import CheckpointError

    with pytest.raises(CheckpointError):
        pooled.musicvae("cat-mel_2bar_big", DRUMS[1])  # drum weights for a melody config
    assert pool.status()["models"] == []
    assert pooled.musicvae(*MEL) is not None  # and the pool still works


def test_an_evicted_model_is_freed(pool):
    """Nothing else keeps an evicted model alive (no family cache, no traced function),
    so eviction gives its memory back."""
    import gc
    import weakref

    refs = {}
    with pool.job_scope():
        mv = pooled.musicvae(*DRUMS)
        mv.sample(1, temperature=1.0, seed=0)  # traces its sampling function
        refs["musicvae"] = weakref.ref(mv)
        refs["melody_rnn"] = weakref.ref(pooled.melody_rnn(RNN, None, "attention_rnn"))
        refs["gansynth"] = weakref.ref(pooled.gansynth(GANSYNTH))
        refs["nsynth"] = weakref.ref(pooled.nsynth(NSYNTH))
        del mv
    pool.set_budget(1)
    gc.collect()
    assert pool.status()["models"] == []
    assert {k: r() is None for k, r in refs.items()} == {k: True for k in refs}
