"""Synthesize magstation's drum kit: one one-shot per Magenta drum class.

    python sounds/kit/make_kit.py            # rewrites the WAVs next to this file
    python sounds/kit/make_kit.py OUT_DIR    # writes them somewhere else

Everything is computed from oscillators and seeded noise (no recordings), so the kit is
the project's own work and regenerates identically. Output: 16-bit PCM mono WAV at
44.1 kHz, named after the class (kick.wav, snare.wav, ...). Needs numpy, scipy, soundfile.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

RATE = 44100
SEED = 1234

# The 9 classes of Magenta's reduced drum map, in class-index order.
CLASSES = ("kick", "snare", "closed_hat", "open_hat", "low_tom", "mid_tom", "high_tom",
           "crash", "ride")

# The six detuned square waves of the TR-808 cymbal/hat voice (Hz).
METAL_FREQS = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


def _env(t: np.ndarray, decay: float, attack: float = 0.001) -> np.ndarray:
    """Linear attack then exponential decay (decay = time to fall by 1/e)."""
    return np.minimum(1.0, t / attack) * np.exp(-t / decay)


def _sweep(t: np.ndarray, f_start: float, f_end: float, sweep: float) -> np.ndarray:
    """Sine whose frequency glides exponentially from f_start towards f_end."""
    freq = f_end + (f_start - f_end) * np.exp(-t / sweep)
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE)


def _filter(x: np.ndarray, kind: str, freq, order: int = 2) -> np.ndarray:
    sos = butter(order, freq, btype=kind, fs=RATE, output="sos")
    return sosfilt(sos, x)


def _metal(t: np.ndarray) -> np.ndarray:
    return sum(np.sign(np.sin(2 * np.pi * f * t + i)) for i, f in enumerate(METAL_FREQS)) / 6


def _finish(x: np.ndarray, peak: float) -> np.ndarray:
    fade = int(0.005 * RATE)
    x = x.copy()
    x[-fade:] *= np.linspace(1.0, 0.0, fade)
    return (x / np.max(np.abs(x)) * peak).astype(np.float32)


def _tom(rng: np.random.Generator, f_start: float, f_end: float, length: float) -> np.ndarray:
    t = _t(length)
    body = _sweep(t, f_start, f_end, 0.08) * _env(t, 0.16)
    skin = _filter(rng.standard_normal(len(t)), "bandpass", (f_end * 2, f_end * 8)) * _env(t, 0.02)
    return body + 0.2 * skin


def make_kit() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    kit: dict[str, np.ndarray] = {}

    t = _t(0.45)
    click = _filter(rng.standard_normal(len(t)), "highpass", 2000) * _env(t, 0.003)
    kit["kick"] = _finish(_sweep(t, 160, 48, 0.035) * _env(t, 0.16, 0.002) + 0.15 * click, 0.95)

    t = _t(0.3)
    body = (np.sin(2 * np.pi * 185 * t) + 0.6 * np.sin(2 * np.pi * 330 * t)) * _env(t, 0.045)
    wires = _filter(rng.standard_normal(len(t)), "bandpass", (1500, 9000)) * _env(t, 0.07)
    kit["snare"] = _finish(0.6 * body + wires, 0.9)

    t = _t(0.1)
    hat = _filter(_metal(t) + 0.5 * rng.standard_normal(len(t)), "highpass", 7000, 4)
    kit["closed_hat"] = _finish(hat * _env(t, 0.018), 0.6)

    t = _t(0.5)
    hat = _filter(_metal(t) + 0.5 * rng.standard_normal(len(t)), "highpass", 6500, 4)
    kit["open_hat"] = _finish(hat * _env(t, 0.16), 0.55)

    kit["low_tom"] = _finish(_tom(rng, 130, 82, 0.45), 0.85)
    kit["mid_tom"] = _finish(_tom(rng, 190, 123, 0.4), 0.85)
    kit["high_tom"] = _finish(_tom(rng, 260, 175, 0.35), 0.85)

    t = _t(1.2)
    wash = _filter(0.6 * _metal(t) + rng.standard_normal(len(t)), "highpass", 4000, 4)
    kit["crash"] = _finish(wash * (_env(t, 0.45, 0.002) + 0.3 * _env(t, 0.03)), 0.6)

    t = _t(1.0)
    bell = _filter(_metal(t * 1.5), "bandpass", (2500, 9000), 2) * _env(t, 0.35)
    ping = np.sin(2 * np.pi * 2637 * t) * _env(t, 0.25)
    shimmer = _filter(rng.standard_normal(len(t)), "highpass", 7000, 2) * _env(t, 0.2)
    kit["ride"] = _finish(bell + 0.3 * ping + 0.25 * shimmer, 0.5)

    assert tuple(kit) == CLASSES
    return kit


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    for name, samples in make_kit().items():
        sf.write(out / f"{name}.wav", samples, RATE, subtype="PCM_16")
        print(f"{out / name}.wav  {len(samples) / RATE:.2f} s")


if __name__ == "__main__":
    main(sys.argv)
