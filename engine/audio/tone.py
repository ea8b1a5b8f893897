"""Test sounds for diagnostics: is the audio path working, at the right pitch and rate?"""

from __future__ import annotations

import numpy as np

from engine.errors import BadRequest


def sine(freq: float = 440.0, seconds: float = 1.0, rate: int = 16000, *,
         amplitude: float = 0.5, fade: float = 0.005) -> np.ndarray:
    """A float32 sine tone with short linear fades (no clicks at either end)."""
    if not 0 < freq < rate / 2:
        raise BadRequest(f"tone frequency {freq} Hz must be between 0 and {rate / 2:g} Hz "
                         f"(half the {rate} Hz sample rate)")
    if seconds <= 0 or rate <= 0:
        raise BadRequest("tone length and sample rate must be positive")
    n = int(round(seconds * rate))
    x = amplitude * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    k = min(int(fade * rate), n // 2)
    if k > 0:
        ramp = np.linspace(0.0, 1.0, k)
        x[:k] *= ramp
        x[n - k:] *= ramp[::-1]
    return x.astype(np.float32)
