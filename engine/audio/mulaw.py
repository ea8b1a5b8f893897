"""8-bit μ-law companding as Magenta's NSynth uses it (μ = 255, codes −128…127).

The one place for μ-law: the NSynth encoder input, the WaveNet decoder input and the
decoding of generated samples all go through these functions.
"""

from __future__ import annotations

import numpy as np

MU = 255
NUM_CLASSES = 256  # softmax classes; class index = code + 128


def mu_law_encode(x: np.ndarray) -> np.ndarray:
    """Float audio in [−1, 1] -> integer codes (as float32, like magenta's `mu_law`).

    floor(128 · sign(x) · ln(1 + μ|x|) / ln(1 + μ)); x = 1.0 exactly gives 128, as in magenta.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.sign(x) * np.log1p(np.float32(MU) * np.abs(x)) / np.float32(np.log(1.0 + MU))
    return np.floor(y * np.float32(128)).astype(np.float32)


def mu_law_decode(codes: np.ndarray) -> np.ndarray:
    """Integer codes −128…127 -> float32 audio; code 0 decodes to exactly 0 (magenta quirk)."""
    c = np.asarray(codes).astype(np.float32)
    y = (c + np.float32(0.5)) * np.float32(2.0 / (MU + 1))
    out = np.sign(y) / np.float32(MU) * (np.float32(MU + 1) ** np.abs(y) - np.float32(1))
    return np.where(c == 0, np.float32(0), out).astype(np.float32)


def network_input(x: np.ndarray) -> np.ndarray:
    """What both NSynth networks see for audio `x`: the μ-law code scaled by 1/128."""
    return mu_law_encode(x) / np.float32(128)


def class_to_audio_table() -> np.ndarray:
    """[256] float32: the audio value of each softmax class (index − 128 decoded)."""
    return mu_law_decode(np.arange(NUM_CLASSES) - 128)
