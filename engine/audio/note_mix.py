"""Mix one-shot note renders into a clip with GANSynth's envelope math.

Reproduces Magenta's `generate_util.get_envelope` / `combine_notes`: each rendered
note (a fixed-length one-shot) is cut to the MIDI note's length (at most 3 s) plus a
0.3 s linear release, faded in over 10 ms, peak-normalised, scaled by velocity, and
added at its start time; the clip is then normalised to a peak of 0.5.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MAX_NOTE_LENGTH = 3.0
MAX_VELOCITY = 127.0


def envelope(note_length: float, sample_rate: int = 16000, t_attack: float = 0.010,
             t_release: float = 0.3) -> np.ndarray:
    """Attack-sustain-release amplitude envelope; the attack lies inside the sustain."""
    note_length = min(note_length, MAX_NOTE_LENGTH)
    i_attack = int(sample_rate * t_attack)
    i_sustain = int(sample_rate * note_length)
    i_release = int(sample_rate * t_release)
    env = np.ones(i_sustain + i_release)
    env[:i_attack] = np.linspace(0.0, 1.0, i_attack)
    env[i_sustain:] = np.linspace(1.0, 0.0, i_release)
    return env


def combine_notes(audio_notes: np.ndarray | Sequence[np.ndarray], start_times: np.ndarray, end_times: np.ndarray,
                  velocities: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """`audio_notes [n, samples]` (or a list of n notes) -> one float32 clip of `int(max(end) + 3 s)` seconds.

    Like Magenta, each note is normalised by its plain maximum (not the absolute one);
    a note whose maximum is not positive (silent) is left unscaled instead of
    producing inf/NaN.
    """
    start_times = np.asarray(start_times, np.float64)
    end_times = np.asarray(end_times, np.float64)
    if len(audio_notes) == 0:
        return np.zeros(0, np.float32)
    clip = np.zeros(int(end_times.max() + MAX_NOTE_LENGTH) * sample_rate)
    for audio, t0, t1, vel in zip(audio_notes, start_times, end_times, velocities):
        env = envelope(t1 - t0, sample_rate)
        note = np.asarray(audio[:len(env)], np.float64) * env[:len(audio)]
        peak = note.max()
        if peak > 0:
            note = note / peak
        note = note * (float(vel) / MAX_VELOCITY)
        start = int(t0 * sample_rate)
        end = min(start + len(note), len(clip))
        if end > start:
            clip[start:end] += note[:end - start]
    peak = clip.max()
    if peak > 0:
        clip /= peak
    clip /= 2.0  # in place: a long clip is MBs of float64
    return clip.astype(np.float32)
