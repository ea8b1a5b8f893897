"""The plain NSynth decoder (engine/models/nsynth_reference.py) against Magenta's fastgen
goldens, and the fast generator against the plain decoder on random weights of another
size, on both of its paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.models import tf_checkpoint
from engine.models.nsynth import NSynth, NSynthSizes, variable_shapes_for
from engine.models.nsynth_reference import decoder_logits

FIX = Path(__file__).parent / "fixtures" / "nsynth"
PROBS_ATOL = 2e-6  # test_nsynth_parity.py's, whose basis is written there


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_the_plain_decoder_is_magentas():
    golden = dict(np.load(FIX / "goldens.npz"))
    prefix = tf_checkpoint.resolve_prefix(FIX / "ckpt")
    weights = tf_checkpoint.read_variables(prefix, list(tf_checkpoint.variable_shapes(prefix)))
    probs = softmax(decoder_logits(weights, golden["tf_inputs"], golden["tf_encodings"]))
    np.testing.assert_allclose(probs[:, golden["tf_steps"]].transpose(1, 0, 2),
                               golden["tf_probs"], atol=PROBS_ATOL)
    assert np.array_equal(probs.argmax(-1).T, golden["tf_argmax"])


@pytest.mark.parametrize("path", ["xla", "graph"])
def test_the_fast_generator_gives_the_plain_decoders_logits(path):
    # 12 layers: dilations 1..512 then 1, 2 (two rings of each of those sizes); 1100
    # steps cover three encoding frames and the dilation-512 taps
    sizes = NSynthSizes(num_layers=12, width=8, skip_width=6, ae_num_layers=2, ae_width=4,
                        bottleneck=16)
    rng = np.random.default_rng(7)
    weights = {name: (rng.standard_normal(shape) * (0.6 if name.endswith("/W") else 0.1))
               .astype(np.float32) for name, shape in variable_shapes_for(sizes).items()}
    audio = (rng.uniform(-0.8, 0.8, (2, 1100))).astype(np.float32)
    encodings = rng.standard_normal((2, 3, 16)).astype(np.float32)

    fast = NSynth(weights).teacher_forced_logits(audio, encodings, path=path)  # [T, B, 256]
    plain = decoder_logits(weights, audio, encodings)  # [B, T, 256]
    scale = np.abs(plain).max()
    assert scale > 1.0  # not a network that says nothing
    # float32 against float64 through 12 layers: measured 4.7e-6 of the logits' range on
    # both paths (AVX-512 EPYC); a frame off by one moves them by ~0.9 of it
    assert np.abs(fast.transpose(1, 0, 2) - plain).max() <= 5e-5 * scale
