"""PerformanceRNN's music side (melody_rnn.md §4): the event encoding, the primer
performance and the generator's section bookkeeping. No TensorFlow here.

performance_with_dynamics: note-seq's PerformanceOneHotEncoding(num_velocity_bins=32) —
128 NOTE_ON, 128 NOTE_OFF, 100 TIME_SHIFT (10 ms) and 32 VELOCITY events = 388 classes,
input the one-hot of the previous event. Time is absolute: 100 steps per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import note_seq
from note_seq import NoteSequence

from engine.errors import BadInput

STEPS_PER_SECOND = 100
NUM_VELOCITY_BINS = {"performance_with_dynamics": 32}
CONFIGS = tuple(NUM_VELOCITY_BINS)
MAX_NOTE_DURATION = 5.0  # seconds; magenta's generator closes longer notes
NOTE_DENSITY = 15.0  # notes per second magenta assumes when sizing a generation pass
RNN_STEPS_PER_NOTE = 4.0


def encoder_decoder(config: str):
    if config not in NUM_VELOCITY_BINS:
        raise BadInput(f"unknown PerformanceRNN config {config!r}; known: {', '.join(CONFIGS)}")
    return note_seq.OneHotEventSequenceEncoderDecoder(
        note_seq.PerformanceOneHotEncoding(num_velocity_bins=NUM_VELOCITY_BINS[config]))


@dataclass
class PerfPrimer:
    performance: note_seq.Performance
    total_steps: int  # time steps the result is cut or padded to
    rnn_steps: int  # events to generate to (primer included), one pass as magenta
    warnings: list[str]


def _quantize_to_step(t: float, cutoff: float) -> int:
    return int(t * STEPS_PER_SECOND + (1 - cutoff))  # note-seq's quantize_to_step


def prepare_primer(primer: NoteSequence, config: str, start_time: float,
                   end_time: float) -> PerfPrimer:
    """The primer performance and generation sizes, as PerformanceRnnSequenceGenerator
    (get_generator_map: fill_generate_section=False) computes them."""
    bins = NUM_VELOCITY_BINS[config]
    last_end = max((n.end_time for n in primer.notes), default=0.0)
    if last_end > start_time + 1e-9:
        raise BadInput(f"the continuation must start after the primer ends ({last_end:.3f} s)")
    q = note_seq.quantize_note_sequence_absolute(primer, STEPS_PER_SECOND)
    start_step = _quantize_to_step(start_time, 0.0)
    end_step = _quantize_to_step(end_time, 1.0)
    perf = None
    if q.notes:  # every instrument together, as magenta's extract_performances does
        perf = note_seq.Performance(q, start_step=0, num_velocity_bins=bins)
    if not perf:
        perf = note_seq.Performance(steps_per_second=STEPS_PER_SECOND, start_step=start_step,
                                    num_velocity_bins=bins)
    perf.set_length(start_step - perf.start_step)
    total = perf.num_steps + (end_step - start_step)
    if not perf:
        perf.set_length(min(perf.max_shift_steps, total))
    to_gen = total - perf.num_steps
    if to_gen <= 0:
        raise BadInput("nothing to generate: ask for a longer continuation")
    rnn_steps = int(math.ceil(RNN_STEPS_PER_NOTE * max(1.0, NOTE_DENSITY) * to_gen
                              / STEPS_PER_SECOND))
    return PerfPrimer(perf, total, len(perf) + rnn_steps, [])


def performance_sequence(perf: note_seq.Performance, total_steps: int) -> NoteSequence:
    perf.set_length(total_steps)
    return perf.to_sequence(max_note_duration=MAX_NOTE_DURATION)
