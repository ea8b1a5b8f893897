"""Training data for PerformanceRNN (performance_with_dynamics) from any folder of MIDI
files, made the way magenta's performance_rnn_pipeline makes it:

1. sustain pedal applied to note ends (SustainPipeline);
2. training files only: time-stretched by 0.95, 0.975, 1.0, 1.025 and 1.05
   (StretchPipeline);
3. split into 30-second chunks (Splitter, hop_size_seconds=30);
4. quantized at 100 steps per second (Quantizer, absolute time);
5. training files only: transposed by -3..+3 semitones; a transposition that would take
   a (non-drum) note outside MIDI 0-127 is skipped (TranspositionPipeline);
6. every instrument together as one performance (PerformanceExtractor: kept if at least
   32 events, truncated to 512), events NOTE_ON/NOTE_OFF/TIME_SHIFT/VELOCITY with 32
   velocity bins;
7. encoded as note-seq's one-hot encoder-decoder: the input is the one-hot of the event,
   the label the next event.

Held-out files (engine.train.melody_data.split_of) get steps 1, 3, 4, 6, 7 only, as
magenta's eval partition. Events are stored as class indices (inputs one-hot expanded per
batch) and cached in the run folder (`perf-<split>-<hash>.npz`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.music import performance_rnn as pr
from engine.train.melody_data import Examples, cached_examples, read_training_midi

STRETCH_FACTORS = (0.95, 0.975, 1.0, 1.025, 1.05)
TRANSPOSITIONS = tuple(range(-3, 4))
HOP_SECONDS = 30.0
MIN_EVENTS, MAX_EVENTS = 32, 512  # performance_rnn_create_dataset's defaults


def _transposed(quantized, amount: int):
    """TranspositionPipeline._transpose: None when a note leaves MIDI 0-127."""
    if amount == 0:
        return quantized
    ts = type(quantized)()
    ts.CopyFrom(quantized)
    for note in ts.notes:
        if not note.is_drum:
            note.pitch += amount
            if not 0 <= note.pitch <= 127:
                return None
    return ts


def extract_performances(quantized, num_velocity_bins: int) -> list:
    """magenta's performance_pipeline.extract_performances as PerformanceExtractor calls
    it (all instruments together, min 32 events, truncated to 512)."""
    import note_seq

    perf = note_seq.Performance(quantized, start_step=0, num_velocity_bins=num_velocity_bins)
    if len(perf) > MAX_EVENTS:
        perf.truncate(MAX_EVENTS)
    return [perf] if len(perf) >= MIN_EVENTS else []


def file_performances(path: Path, config: str, augment: bool) -> list:
    """Every performance of one MIDI file (augmented when `augment`, i.e. training)."""
    from note_seq import sequences_lib as sl

    ns = read_training_midi(path)
    if ns is None:
        return []
    ns = sl.apply_sustain_control_changes(ns)
    bins = pr.NUM_VELOCITY_BINS[config]
    out = []
    for factor in STRETCH_FACTORS if augment else (1.0,):
        stretched = sl.stretch_note_sequence(ns, factor) if factor != 1.0 else ns
        for chunk in sl.split_note_sequence(stretched, HOP_SECONDS):
            q = sl.quantize_note_sequence_absolute(chunk, pr.STEPS_PER_SECOND)
            for amount in TRANSPOSITIONS if augment else (0,):
                t = _transposed(q, amount)
                if t is not None:
                    out += extract_performances(t, bins)
    return out


def encode(perf, enc) -> tuple[np.ndarray, np.ndarray]:
    """(input classes [T], labels [T]), T = len(perf) - 1: magenta's
    EventSequenceEncoderDecoder.encode with a one-hot encoding, the inputs as the index
    of their hot bit."""
    idx = np.array([enc.events_to_label(perf, i) for i in range(len(perf))], np.int32)
    return idx[:-1], idx[1:]


def load_examples(data: Path, config: str, split: str, cache: Path | None = None,
                  limit_files: int | None = None) -> Examples:
    """The encoded performances of one split ('train', augmented, or 'eval')."""
    enc = pr.encoder_decoder(config)
    return cached_examples(
        data, split, cache, limit_files, "perf", f"perf1\0{config}",
        lambda f: (encode(p, enc) for p in file_performances(f, config, augment=split == "train")),
        input_size=enc.input_size)
