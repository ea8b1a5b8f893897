"""The nsynth.* engine jobs and `magstation nsynth` on the small fixture checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine import methods, paths
from engine.context import JobContext
from engine.handlers import nsynth as handler
from engine.local import run_method
from engine.models.nsynth import NSynth
from engine.models.nsynth_cache import EncodingCache

FIX = Path(__file__).parent / "fixtures" / "nsynth"
CKPT = str(FIX / "ckpt")


@pytest.fixture
def sounds(tmp_path, mag_home, monkeypatch):
    monkeypatch.setattr(handler, "_cache", None)  # the cache lives in this test's home
    g = np.load(FIX / "goldens.npz")
    out = []
    for i, name in enumerate(["pluck", "buzz"]):
        p = tmp_path / f"{name}.wav"
        sf.write(p, g["encode_audio"][i], 16000, subtype="FLOAT")
        out.append(p)
    return out, g


def test_jobs_are_registered():
    reg = methods.load_handlers()
    assert {"nsynth.encode", "nsynth.mix", "nsynth.synth"} <= set(reg)
    assert reg["nsynth.synth"].seeded


def test_encode_job_matches_magenta_and_caches_by_content(sounds, tmp_path):
    (pluck, buzz), g = sounds
    r1 = run_method("nsynth.encode", {"sounds": [str(pluck), str(buzz)], "checkpoint": CKPT},
                    work_dir=tmp_path / "job1", quiet=True)
    assert [e["cached"] for e in r1["encodings"]] == [False, False]
    npy = np.load(r1["encodings"][0]["npy_path"])
    np.testing.assert_allclose(npy, g["encodings"][0], atol=2e-5)
    assert Path(r1["encodings"][1]["npy_path"]).name == "buzz_embeddings.npy"
    # the same sound under another name is a cache hit
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(pluck.read_bytes())
    r2 = run_method("nsynth.encode", {"sounds": [str(copy)], "checkpoint": CKPT},
                    work_dir=tmp_path / "job2", quiet=True)
    assert r2["encodings"][0]["cached"] is True
    np.testing.assert_array_equal(np.load(r2["encodings"][0]["npy_path"]), npy)
    # ... also for a fresh process: the .npy in the cache folder is used
    files = list((paths.cache_dir() / "nsynth").glob("*.npy"))
    assert len(files) == 2
    fresh = EncodingCache()
    model = handler.get_model({"checkpoint": CKPT})
    enc, hit = fresh.encode(model, sf.read(pluck, dtype="float32")[0])
    assert hit and fresh.misses == 0
    np.testing.assert_array_equal(enc, npy)


def test_cache_is_per_model(sounds):
    (pluck, _), _ = sounds
    audio = sf.read(pluck, dtype="float32")[0]
    cache = EncodingCache()
    a = NSynth.load(CKPT)
    b = NSynth(a._w, source="other", key="another-model")
    assert cache.encode(a, audio)[1] is False
    assert cache.encode(a, audio)[1] is True
    assert cache.encode(b, audio)[1] is False


def test_mix_job_blends_sounds_and_encodings(sounds, tmp_path):
    (pluck, buzz), g = sounds
    enc_b = tmp_path / "b.npy"
    np.save(enc_b, g["encodings"][1])
    r = run_method("nsynth.mix", {"sources": [str(pluck), str(enc_b)], "weights": [1, 3],
                                  "stretch": 2.0, "checkpoint": CKPT, "name": "blend"},
                   work_dir=tmp_path / "job", quiet=True)
    out = np.load(r["npy_path"])
    assert Path(r["npy_path"]).name == "blend.npy" and out.shape == (8, 16)
    blend = 0.25 * g["encodings"][0] + 0.75 * g["encodings"][1]
    np.testing.assert_allclose(out[0], blend[0], atol=1e-4)
    np.testing.assert_allclose(out[-1], blend[-1], atol=1e-4)


def test_synth_job_writes_one_wav_per_mix(sounds, tmp_path):
    (pluck, buzz), g = sounds
    enc = tmp_path / "e.npy"
    np.save(enc, g["synth_encodings"][0])  # 2 frames
    params = {"mixes": [str(enc), {"sources": [str(enc), str(enc)], "weights": [1, 1],
                                   "stretch": 0.5}],
              "names": ["first", "second"], "seed": int(g["synth_seed"]), "checkpoint": CKPT}
    r = run_method("nsynth.synth", params, work_dir=tmp_path / "job", quiet=True)
    assert not r["partial"] and r["seed"] == 2024
    first, second = (sf.read(w["wav_path"], dtype="float32")[0] for w in r["wavs"])
    assert first.shape == (1024,) and second.shape == (512,)
    # voice 0 depends only on its own encoding and the seed, not on its batch neighbour
    solo = handler.get_model({"checkpoint": CKPT}).synthesize(
        np.stack([g["synth_encodings"][0]] * 2), seed=2024).audio
    assert np.abs(first).max() > 0
    np.testing.assert_allclose(first, solo[0], atol=1 / 32768)


def test_cancelled_synth_job_keeps_partial_audio(sounds, tmp_path):
    _, g = sounds
    enc = tmp_path / "e.npy"
    np.save(enc, g["synth_encodings"][0])
    events = []
    ctx = JobContext(job_id="t", work_dir=tmp_path / "job",
                     _sink=lambda d, t, m, eta: events.append(d))
    original = handler.get_model({"checkpoint": CKPT}).synthesize

    def cancel_after_first_chunk(*a, **k):
        inner = k["progress"]

        def progress(done, total):
            inner(done, total)
            ctx.cancel()
        return original(*a, **{**k, "progress": progress})

    model = handler.get_model({"checkpoint": CKPT})
    model.synthesize = cancel_after_first_chunk
    try:
        r = methods.get("nsynth.synth").func({"mixes": [str(enc)], "seed": 1,
                                              "checkpoint": CKPT}, ctx)
    finally:
        del model.synthesize
    assert r["partial"] and 0 < r["samples_done"] < r["total_samples"] == 1024
    audio = sf.read(r["wavs"][0]["wav_path"], dtype="float32")[0]
    assert audio.shape == (r["samples_done"],) and events == [r["samples_done"]]


def test_cli_encode_mix_synth(sounds, tmp_path, capsys):
    from engine.cli import main

    (pluck, buzz), _ = sounds
    out = tmp_path / "out"
    assert main(["nsynth", "encode", str(pluck), str(buzz), "--out", str(out),
                 "--checkpoint", CKPT]) == 0
    assert (out / "pluck_embeddings.npy").is_file()
    assert main(["nsynth", "mix", str(pluck), str(buzz), str(pluck), str(buzz),
                 "--xy", "0.5", "0.5", "--out", str(out / "center.npy"),
                 "--checkpoint", CKPT]) == 0
    center = np.load(out / "center.npy")
    np.testing.assert_allclose(center, 0.5 * (np.load(out / "pluck_embeddings.npy")
                                              + np.load(out / "buzz_embeddings.npy")), atol=1e-5)
    assert main(["nsynth", "synth", str(out / "center.npy"), "--out", str(out),
                 "--stretch", "0.25", "--checkpoint", CKPT, "--seed", "4"]) == 0
    wav, rate = sf.read(out / "gen_center.wav")
    assert rate == 16000 and wav.shape == (512,)
    assert main(["nsynth", "synth", str(pluck), "--checkpoint", str(tmp_path / "nope")]) == 1
    assert "nope.index is missing" in capsys.readouterr().err
