"""MelodyRNN's music side (melody_rnn.md §2-3): the configs' event encodings, the primer
melody, the generation loop and the output NoteSequence. No TensorFlow here: the loop
takes a `step(input_vector) -> logits` function from the model.

The encodings are note-seq's own encoder-decoders with magenta's config arguments:
- basic_rnn: one-hot MelodyOneHotEncoding(48, 84), 38 classes in and out;
- lookback_rnn: the same events with lookback features (input 120, 40 classes);
- attention_rnn: KeyMelodyEncoderDecoder(48, 84) (input 74, 40 classes).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import note_seq
import numpy as np
from note_seq import NoteSequence

from engine.errors import BadInput
from engine.music.sequences import DEFAULT_QPM, quantize

STEPS_PER_QUARTER = 4
MIN_NOTE, MAX_NOTE = 48, 84  # the model's pitch range, max exclusive
TRANSPOSE_TO_KEY = 0  # C major
CONFIGS = ("basic_rnn", "lookback_rnn", "attention_rnn")
ATTN_LENGTH = {"attention_rnn": 40}


def encoder_decoder(config: str):
    """note-seq's encoder-decoder for a MelodyRNN config (magenta's default_configs)."""
    if config == "basic_rnn":
        return note_seq.OneHotEventSequenceEncoderDecoder(
            note_seq.MelodyOneHotEncoding(MIN_NOTE, MAX_NOTE))
    if config == "lookback_rnn":
        return note_seq.LookbackEventSequenceEncoderDecoder(
            note_seq.MelodyOneHotEncoding(MIN_NOTE, MAX_NOTE))
    if config == "attention_rnn":
        return note_seq.KeyMelodyEncoderDecoder(MIN_NOTE, MAX_NOTE)
    raise BadInput(f"unknown MelodyRNN config {config!r}; known: {', '.join(CONFIGS)}")


@dataclass
class Primer:
    """The primer melody as MelodyRnnSequenceGenerator prepares it."""
    melody: note_seq.Melody  # squashed into the model's range and key
    transpose: int  # semitones the squash moved it (undone on output)
    num_steps: int  # total melody length to generate to (primer included)
    qpm: float
    start_time: float  # where the continuation starts
    warnings: list[str]


def _quantize_to_step(t: float, steps_per_second: float, cutoff: float) -> int:
    # note-seq's quantize_to_step, kept verbatim so step boundaries match magenta's.
    return int(t * steps_per_second + (1 - cutoff))


def prepare_primer(primer: NoteSequence, start_time: float, end_time: float) -> Primer:
    """Quantize the primer (4 steps per quarter at its first tempo), extract its monophonic
    melody, pad it to the step of `start_time` and squash it into [48, 84) in C, exactly as
    magenta's MelodyRnnSequenceGenerator does for a generate section [start, end)."""
    qpm = float(primer.tempos[0].qpm) if primer.tempos else DEFAULT_QPM
    sps = STEPS_PER_QUARTER * qpm / 60.0
    notes = [n for n in primer.notes if not n.is_drum]
    last_end = max((n.end_time for n in notes), default=0.0)
    if last_end > start_time + 1e-9:
        raise BadInput(f"the continuation must start after the primer ends ({last_end:.3f} s)")
    if len({n.instrument for n in notes}) > 1:
        primer = copy.deepcopy(primer)
        first = min(notes, key=lambda n: (n.start_time, -n.pitch)).instrument
        keep = [n for n in primer.notes if n.instrument == first and not n.is_drum]
        del primer.notes[:]
        primer.notes.extend(keep)
    q = quantize(primer, STEPS_PER_QUARTER, steps_per_bar=None)
    if q is None:
        raise BadInput("the primer cannot be put on a 16th-note grid: it changes tempo or "
                       "time signature, or starts before 0; export one section at one tempo")
    warnings: list[str] = []
    steps_per_bar = int(note_seq.steps_per_bar_in_quantized_sequence(q))
    start_step = _quantize_to_step(start_time, sps, 0.0)
    end_step = _quantize_to_step(end_time, sps, 1.0)
    melody = note_seq.Melody()
    if q.notes:
        melody.from_quantized_sequence(q, search_start_step=0, gap_bars=float("inf"),
                                       ignore_polyphonic_notes=True)
    if not melody:
        melody = note_seq.Melody([], start_step=max(0, start_step - 1),
                                 steps_per_bar=steps_per_bar,
                                 steps_per_quarter=STEPS_PER_QUARTER)
    melody.set_length(start_step - melody.start_step)
    pitches = [e for e in melody if e >= 0]
    outside = sorted({p for p in pitches if not MIN_NOTE <= p < MAX_NOTE})
    transpose = melody.squash(MIN_NOTE, MAX_NOTE, TRANSPOSE_TO_KEY)
    if outside:
        warnings.append(
            f"primer pitches {', '.join(map(str, outside))} are outside the model's range "
            f"{MIN_NOTE}-{MAX_NOTE - 1}: the primer was transposed by {transpose:+d} "
            f"semitones (octaves folded where needed) for the model, and the continuation "
            f"transposed back")
    num_steps = end_step - melody.start_step
    if num_steps <= len(melody):
        raise BadInput("nothing to generate: ask for at least one step after the primer")
    return Primer(melody, transpose, num_steps, qpm, start_time, warnings)


Step = Callable[[np.ndarray], np.ndarray]  # one input vector -> logits
Choose = Callable[[np.ndarray, int], int]  # (softmax, generated step index) -> class
Progress = Callable[[int, int], None]  # (events drawn, events to draw); may raise to cancel
PROGRESS_EVERY = 16


def generate_events(events, num_steps: int, enc, step: Step, temperature: float,
                    choose: Choose, progress: Progress | None = None) -> list[np.ndarray]:
    """Prime the RNN with every event of `events` (an EventSequence, extended in place),
    then draw classes until it is `num_steps` long. Returns the softmax of each draw."""
    for pos in range(len(events) - 1):
        step(np.asarray(enc.events_to_input(events, pos), np.float32))
    dists: list[np.ndarray] = []
    todo = num_steps - len(events)
    while len(events) < num_steps:
        if progress is not None and len(dists) % PROGRESS_EVERY == 0:
            progress(len(dists), todo)
        logits = step(np.asarray(enc.events_to_input(events, len(events) - 1), np.float32))
        z = logits.astype(np.float64) / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        dists.append(p)
        events.append(enc.class_index_to_event(choose(p, len(dists) - 1), events))
    return dists


def sampler(seed: int) -> Choose:
    """Temperature-scaled sampling, reproducible from `seed` (magenta: np.random.choice)."""
    rng = np.random.default_rng(seed)
    return lambda p, _i: int(rng.choice(len(p), p=p))


def melody_sequence(melody: note_seq.Melody, transpose: int, qpm: float) -> NoteSequence:
    """The generated melody (primer included), transposed back, as magenta writes it:
    velocity 100, instrument 0, program 0."""
    out = copy.deepcopy(melody)
    out.transpose(-transpose)
    return out.to_sequence(qpm=qpm)
