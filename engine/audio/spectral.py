"""Mel / instantaneous-frequency spectrograms to audio, as GANSynth defines them.

The one place for the GANSynth mel matrix and its pseudo-inverse. The matrix is
not a standard mel filterbank: it reproduces Magenta's `linear_to_mel_weight_matrix`
quirks (linspace frequency grid, zero first row, minimum band width), which a
librosa filterbank does not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0
_EPS = 1.0e-6


def hertz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return _MEL_HIGH_Q * np.log(1.0 + np.asarray(hz, np.float64) / _MEL_BREAK_HZ)


def mel_to_hertz(mel: np.ndarray | float) -> np.ndarray:
    return _MEL_BREAK_HZ * (np.exp(np.asarray(mel, np.float64) / _MEL_HIGH_Q) - 1.0)


@functools.lru_cache(maxsize=4)
def mel_matrix(num_bins: int = 1024, sample_rate: int = 16000) -> np.ndarray:
    """Linear -> mel weights, float64 `[num_bins (linear), num_bins (mel)]`.

    Band edges equally spaced in HTK mel from 0 Hz to Nyquist; bands narrower than
    1.5 linear bins are widened symmetrically in mel; row 0 (the lowest kept bin) is zero.
    """
    nyquist = sample_rate / 2.0
    lin_hz = np.linspace(0.0, nyquist, num_bins)[1:, None]
    edges = np.linspace(hertz_to_mel(0.0), hertz_to_mel(nyquist), num_bins + 2)
    min_width = 1.5 * nyquist / num_bins
    # Magenta widens the bands in place on *views* of one edge array, so widening
    # band i also moves the centre of band i+1 and the lower edge of band i+2; the
    # released models were trained with that matrix, so the loop is kept as is.
    for i in range(num_bins):
        lo_hz, ce_hz, up_hz = mel_to_hertz(edges[i:i + 3])
        if up_hz - lo_hz < min_width:
            r = 0.5 * min_width / (ce_hz + _MEL_BREAK_HZ)
            dm = _MEL_HIGH_Q * np.log(r + np.sqrt(1.0 + r ** 2))
            center = edges[i + 1]
            edges[i] = center - dm
            edges[i + 2] = center + dm
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    lo, ce, up = (mel_to_hertz(m)[None, :] for m in (lower, center, upper))
    w = np.maximum(0.0, np.minimum((lin_hz - lo) / (ce - lo), (up - lin_hz) / (up - ce)))
    return np.pad(w, [[1, 0], [0, 0]])


@functools.lru_cache(maxsize=4)
def mel_to_linear_matrix(num_bins: int = 1024, sample_rate: int = 16000) -> np.ndarray:
    """The normalised transpose GANSynth synthesises with, float64 `[mel, linear]`."""
    m = mel_matrix(num_bins, sample_rate)
    col = np.sum(m @ m.T, axis=0)
    d = np.where(np.abs(col) > 1.0e-8, 1.0 / np.where(col == 0, 1.0, col), col)
    return m.T * d[None, :]


@dataclass(frozen=True)
class SpecShape:
    """Geometry of a GANSynth spectrogram: `frames` x `bins`, 75% overlap, DC dropped."""

    frames: int = 128
    bins: int = 1024
    audio_length: int = 64000
    sample_rate: int = 16000

    @property
    def n_fft(self) -> int:
        return 2 * self.bins

    @property
    def hop(self) -> int:
        return self.n_fft // 4

    @property
    def pad_left(self) -> int:
        """Samples of the inverse STFT that precede the audio (all padding is on the left)."""
        pad = self.hop * (self.frames - 1) + self.n_fft - self.audio_length
        if pad < 0:
            raise ValueError(f"{self.frames} frames cannot cover {self.audio_length} samples")
        return pad


@functools.lru_cache(maxsize=4)
def _mel_to_linear_tensor(num_bins: int, sample_rate: int, dtype: str = "float32"):
    """`mel_to_linear_matrix` as an eager tensor, made once per dtype. Created
    outside any graph so a traced function captures it by reference: as graph
    constants the matrices were copied into every trace and its optimised forms (~150 MB)."""
    import tensorflow as tf

    m = mel_to_linear_matrix(num_bins, sample_rate)
    with tf.init_scope():
        return tf.constant(m, dtype)


def _unwrap_time(p, tf):
    """numpy-style unwrap along axis 1 (time) with Magenta's tie rule."""
    dd = p[:, 1:] - p[:, :-1]
    ddmod = tf.math.floormod(dd + np.pi, 2.0 * np.pi) - np.pi
    ddmod = tf.where((ddmod == -np.pi) & (dd > 0), tf.ones_like(ddmod) * np.pi, ddmod)
    correction = tf.cumsum(ddmod - dd, axis=1)
    return p + tf.concat([tf.zeros_like(p[:, :1]), correction], axis=1)


def _instantaneous_frequency(phase, tf):
    un = _unwrap_time(phase, tf)
    return tf.concat([phase[:, :1], un[:, 1:] - un[:, :-1]], axis=1) / np.pi


def melspecgrams_to_waves(melspecgrams, shape: SpecShape = SpecShape()):
    """Denormalised `[B, frames, bins, 2]` (log mel power, mel IF) -> `[B, audio_length]`.

    A TensorFlow function (traceable inside `tf.function`). Reproduces Magenta's
    `melspecgrams_to_waves`, including the phase -> IF -> phase round trip, so the
    result matches it at float32 rounding level.
    """
    import tensorflow as tf

    mel2lin = _mel_to_linear_tensor(shape.bins, shape.sample_rate)
    logmel2, mel_if = melspecgrams[..., 0], melspecgrams[..., 1]
    mag2 = tf.tensordot(tf.exp(logmel2), mel2lin, 1)
    mag = tf.exp(0.5 * tf.math.log(mag2 + _EPS))
    mel_phase = tf.cumsum(mel_if * np.pi, axis=1)
    # Phases reach hundreds of radians after the cumsum; GPUs run float32 matmuls in
    # TF32 (10-bit mantissa) by default, which would add ~0.1 rad of phase noise, so
    # there this contraction runs in float64. CPUs compute float32 matmuls in full
    # float32, as Magenta does (float64 cost ~12 ms a note there).
    if tf.config.list_logical_devices("GPU"):
        mel2lin64 = _mel_to_linear_tensor(shape.bins, shape.sample_rate, "float64")
        phase = tf.cast(tf.tensordot(tf.cast(mel_phase, tf.float64), mel2lin64, 1), tf.float32)
    else:
        phase = tf.tensordot(mel_phase, mel2lin, 1)
    phase = tf.cumsum(_instantaneous_frequency(phase, tf) * np.pi, axis=1)
    stfts = tf.complex(mag * tf.cos(phase), mag * tf.sin(phase))  # = mag * e^(i phase)
    stfts = tf.pad(stfts, [[0, 0], [0, 0], [1, 0]])  # the dropped DC bin
    waves = tf.signal.inverse_stft(
        stfts, frame_length=shape.n_fft, frame_step=shape.hop, fft_length=shape.n_fft,
        window_fn=tf.signal.inverse_stft_window_fn(shape.hop))
    return waves[:, shape.pad_left:shape.pad_left + shape.audio_length]
