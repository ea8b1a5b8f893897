"""MusicVAE makes its graphs at load (MusicVae.warm) and keeps them in
$MAGSTATION_HOME/cache/graphs, so a later engine start imports them instead of tracing.
No timing here: the speed is the bench's ("MusicVAE load + first sample", bench/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from engine.models import graph_cache  # noqa: E402
from engine.models.musicvae import MusicVae  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CKPT = ROOT / "tests" / "fixtures" / "musicvae" / "cat-drums_2bar_small" / "model.ckpt"
CONFIG = "cat-drums_2bar_small"
WARMED = ("musicvae_decode", "musicvae_encode_full")
PATTERN = (np.random.RandomState(3).rand(1, 32, 9) < 0.3).astype(np.float32)

# A fresh process (an engine restart): load, then print where the graphs came from and
# what a seeded sample and an encode give.
RESTART = """
import json, sys
import numpy as np
from engine.models.musicvae import MusicVae
m = MusicVae.load(sys.argv[1], sys.argv[2])
out, _ = m.sample(2, temperature=0.7, seed=11)
_, mu, _ = m.encode(np.array(json.loads(sys.argv[3]), np.float32))
print("RESULT " + json.dumps({"warmed": m.warmed, "sample": out.tolist(), "mu": mu.tolist()}))
"""


def _fresh_load() -> MusicVae:
    MusicVae.clear_cache()
    return MusicVae.load(CONFIG, str(CKPT))


def _encoder_input(model: MusicVae) -> np.ndarray:
    x = np.zeros([1, 32, model.input_depth], np.float32)
    x[..., :9] = PATTERN
    return x


@pytest.fixture(autouse=True)
def _no_loaded_models():
    MusicVae.clear_cache()
    yield
    MusicVae.clear_cache()


def test_load_makes_the_graphs_and_a_restart_imports_them(mag_home):
    model = _fresh_load()
    assert model.warmed == {name: "traced" for name in WARMED}  # nothing cached yet
    for fn in (model._decode_fn, model._encode_full_fn):
        assert fn.path.is_file() and fn.path.parent == mag_home / "cache" / "graphs"
    sample, _ = model.sample(2, temperature=0.7, seed=11)
    x = _encoder_input(model)
    _, mu, _ = model.encode(x)

    env = {**os.environ, "MAGSTATION_HOME": str(mag_home), "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", RESTART, CONFIG, str(CKPT), json.dumps(x.tolist())],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT "))
    restarted = json.loads(line[len("RESULT "):])
    assert restarted["warmed"] == {name: "cache" for name in WARMED}
    # the imported graphs are the traced ones: same numbers, bit for bit
    np.testing.assert_array_equal(np.array(restarted["sample"], np.float32), sample)
    np.testing.assert_array_equal(np.array(restarted["mu"], np.float32), mu)


def test_a_damaged_cache_file_is_traced_again_and_replaced(mag_home):
    first = _fresh_load()
    expected, _ = first.sample(1, temperature=0.5, seed=4)
    path = first._decode_fn.path
    path.write_bytes(b"not a graph")

    again = _fresh_load()
    assert again.warmed["musicvae_decode"] == "traced"
    assert again.warmed["musicvae_encode_full"] == "cache"
    assert path.read_bytes() != b"not a graph"
    np.testing.assert_array_equal(again.sample(1, temperature=0.5, seed=4)[0], expected)
    third = _fresh_load()
    assert third.warmed["musicvae_decode"] == "cache"


def test_the_graphs_not_warmed_at_load_are_made_on_first_use(mag_home):
    model = _fresh_load()
    assert model._encode_fn.source is None and model._logits_fn.source is None
    x = _encoder_input(model)
    z, mu, _ = model.encode(np.concatenate([x, x]), lengths=np.array([32, 16], np.int32))
    assert model._encode_fn.source == "traced" and model._encode_fn.path.is_file()
    assert mu.shape == (2, model.z_size)
    logits = model.decode_logits(z, np.zeros([2, 32, model.output_depth], np.float32))
    assert logits.shape[:2] == (2, 32) and np.all(np.isfinite(logits))
    assert model._logits_fn.source == "traced" and model._logits_fn.path.is_file()


def test_the_key_changes_with_what_the_graph_is_made_from():
    w = [tf.zeros([3, 4]), tf.zeros([4])]
    key = graph_cache.graph_key("f", ["config", "src"], w, tf_version="2.21.0")
    assert key == graph_cache.graph_key("f", ["config", "src"], w, tf_version="2.21.0")
    assert key != graph_cache.graph_key("f", ["config", "src"], w, tf_version="2.22.0")
    assert key != graph_cache.graph_key("f", ["config", "src2"], w, tf_version="2.21.0")
    assert key != graph_cache.graph_key("f", ["config", "src"], [tf.zeros([3, 5]), w[1]],
                                        tf_version="2.21.0")
    assert key != graph_cache.graph_key("g", ["config", "src"], w, tf_version="2.21.0")
