"""GrooVAE tensors: per 16th step and drum class, a hit, a velocity and a micro-timing
offset. Layout per step: [hits x9 | velocities x9 | offsets x9] (width 27).

- hit: 1/0; velocity: MIDI velocity / 127; offset: 2 * (grid time - played time) / step,
  in [-1, 1], positive when the note was played early.
- Inference uses the reduced 9-class map of `engine.music.drums` (magenta's
  `inference_pitch_classes`), for reading notes and for the pitches written back.
- Encoder inputs are transformed per config: `humanize` keeps only hits (the model adds
  velocity and timing); `tapify` squashes each step to its loudest hit on class 3 (open
  hi-hat) for tap->drums; `fixed_velocities` then zeroes the input velocities.
"""

from __future__ import annotations

import numpy as np
from note_seq import NoteSequence

from engine.music import drums as dm
from engine.music.grids import DrumGrid
from engine.music.sequences import (
    DEFAULT_QPM, STEPS_PER_BAR, STEPS_PER_QUARTER, change_tempo, new_sequence, quantize, qpm_of,
    warn_dropped)
from engine.music.tensors import ConverterTensors

TAP_CLASS = 3  # GrooVAE puts tapped rhythms on the open hi-hat channel


def groove_features(ns: NoteSequence, pitch_classes: dm.PitchClasses = dm.REDUCED_DRUM_PITCH_CLASSES
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(hits, velocities, offsets), each [steps, classes] float32, for a whole sequence
    padded to whole bars; None when it cannot be quantized or has no notes.

    Like magenta, every note counts as a drum (is_drum is not checked) and when several
    notes share a step and class the loudest wins. Unknown pitches are dropped with a
    warning (magenta raises KeyError on them)."""
    cmap = dm.pitch_class_map(pitch_classes)
    unknown = [n.pitch for n in ns.notes if n.pitch not in cmap]
    if unknown:
        warn_dropped("pitches outside the drum classes", unknown, len(unknown))
        kept = [n for n in ns.notes if n.pitch in cmap]
        ns = _with_notes(ns, kept)
    q = quantize(ns)
    if q is None or not q.notes:
        return None
    step_length = 60.0 / q.tempos[0].qpm / q.quantization_info.steps_per_quarter
    max_start = max(n.quantized_start_step for n in q.notes)
    steps = STEPS_PER_BAR * int(np.ceil((max_start + 1) / STEPS_PER_BAR))
    n_cls = len(pitch_classes)
    hits = np.zeros((steps, n_cls))
    vels = np.zeros((steps, n_cls))
    offs = np.zeros((steps, n_cls))
    best: dict[tuple[int, int], object] = {}
    for n in q.notes:  # first of equally loud notes wins, as in max()
        key = (int(n.quantized_start_step), cmap[n.pitch])
        if key not in best or n.velocity > best[key].velocity:
            best[key] = n
    for (s, c), n in best.items():
        hits[s, c] = 1.0
        vels[s, c] = n.velocity / 127.0
        offs[s, c] = 2.0 * (step_length * n.quantized_start_step - n.start_time) / step_length
    return hits, vels, offs


def _with_notes(ns: NoteSequence, notes) -> NoteSequence:
    out = NoteSequence()
    out.CopyFrom(ns)
    del out.notes[:]
    out.notes.extend(notes)
    return out


def tapify(hits: np.ndarray, vels: np.ndarray, offs: np.ndarray,
           fixed_velocities: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squash every step to its loudest class, moved to the open hi-hat channel."""
    t = np.arange(len(hits))
    loudest = np.argmax(vels, axis=1)
    th, tv, to = (np.zeros_like(hits) for _ in range(3))
    th[:, TAP_CLASS] = hits[t, loudest]
    tv[:, TAP_CLASS] = 0.0 if fixed_velocities else vels[t, loudest]
    to[:, TAP_CLASS] = offs[t, loudest]
    return th, tv, to


def tap_input(hits: np.ndarray, velocities: np.ndarray | None = None,
              offsets: np.ndarray | None = None, fixed_velocities: bool = True) -> np.ndarray:
    """Encoder input for tap->drums from a single tapped voice.

    hits: [steps] 0/1; velocities: [steps] MIDI velocities (ignored when
    `fixed_velocities`, as in groovae_2bar_tap_fixed_velocity); offsets: [steps] fraction of
    a step in [-0.5, 0.5], positive = early. Returns [steps, 27] float32."""
    h = np.asarray(hits, dtype=np.float32)
    x = np.zeros((len(h), 3 * dm.NUM_DRUM_CLASSES), dtype=np.float32)
    x[:, TAP_CLASS] = h
    if velocities is not None and not fixed_velocities:
        x[:, dm.NUM_DRUM_CLASSES + TAP_CLASS] = h * np.asarray(velocities, np.float32) / 127.0
    if offsets is not None:
        x[:, 2 * dm.NUM_DRUM_CLASSES + TAP_CLASS] = h * 2.0 * np.asarray(offsets, np.float32)
    return x


def taps_from_sequence(ns: NoteSequence, steps: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A tapped rhythm (notes of any pitch, e.g. from a MIDI keyboard) -> per-step
    (hits, velocities, offsets in steps, qpm): the loudest note of each step wins."""
    qpm = qpm_of(ns)
    sps = STEPS_PER_QUARTER * qpm / 60.0
    notes = [n for n in ns.notes if n.velocity > 0]
    placed = [(int(np.floor(n.start_time * sps + 0.5)), n) for n in notes]
    if steps is None:
        last = max([s for s, _ in placed], default=0)
        steps = max(1, -(-(last + 1) // STEPS_PER_BAR)) * STEPS_PER_BAR
    h = np.zeros(steps, np.float32)
    v = np.zeros(steps, np.float32)
    o = np.zeros(steps, np.float32)
    for s, n in placed:
        if 0 <= s < steps and n.velocity > v[s]:
            h[s], v[s], o[s] = 1.0, n.velocity, s - n.start_time * sps
    return h, v, o, qpm


def grid_to_groove(grid: DrumGrid) -> np.ndarray:
    """A DrumGrid -> [steps, 27] groove tensor (missing velocities = 80, offsets = 0)."""
    h = grid.hits.T.astype(np.float32)
    v = (grid.velocities.T.astype(np.float32) / 127.0 if grid.velocities is not None
         else h * (80 / 127.0))
    o = grid.offsets.T.astype(np.float32) * 2.0 if grid.offsets is not None else np.zeros_like(h)
    return np.concatenate([h, v * h, o * h], axis=1)


def groove_to_grid(tensor: np.ndarray, qpm: float = DEFAULT_QPM) -> DrumGrid:
    """A [steps, 27] groove tensor (decoder output) -> DrumGrid, with magenta's rules:
    hit when > 0.5, velocity round(v*127) clipped, offset o/2 clipped to [-0.5, 0.5]."""
    t = np.asarray(tensor, dtype=np.float64)
    n = t.shape[1] // 3
    hits = t[:, :n] > 0.5
    vel = np.clip(np.round(t[:, n:2 * n] * 127), 0, 127) * hits
    off = np.clip(t[:, 2 * n:] / 2, -0.5, 0.5) * hits
    return DrumGrid(hits.T.copy(), vel.T.astype(np.uint8), off.T.astype(np.float32), qpm)


class GrooveConverter:
    """magenta `data.GrooveConverter` in inference mode, without TensorFlow.

    groovae_2bar_humanize: GrooveConverter(humanize=True);
    groovae_2bar_tap_fixed_velocity: GrooveConverter(tapify=True, fixed_velocities=True);
    groovae_4bar: GrooveConverter(split_bars=4)."""

    def __init__(self, *, split_bars: int | None = 2, humanize: bool = False,
                 tapify: bool = False, fixed_velocities: bool = False,
                 pitch_classes: dm.PitchClasses = dm.REDUCED_DRUM_PITCH_CLASSES,
                 hop_size: int | None = None):
        self.split_bars = split_bars
        self.humanize = humanize
        self.tapify = tapify
        self.fixed_velocities = fixed_velocities
        self.pitch_classes = pitch_classes
        self.num_classes = len(pitch_classes)
        self.hop_size = hop_size

    @property
    def input_depth(self) -> int:
        return 3 * self.num_classes

    output_depth = input_depth

    def input_from_outputs(self, hits, vels, offs) -> np.ndarray:
        """Apply this config's input transformation to clean groove features."""
        ih, iv, io = hits.copy(), vels.copy(), offs.copy()
        if self.tapify:
            ih, iv, io = tapify(hits, vels, offs)
        if self.humanize:
            iv[:] = 0
            io[:] = 0
        if self.fixed_velocities:
            iv[:] = 0
        return np.concatenate([ih, iv, io], axis=1)

    def grid_tensors(self, grid: DrumGrid) -> tuple[np.ndarray, np.ndarray]:
        """(encoder input, clean target) [steps, 27] for a pattern from the drum grid."""
        out = grid_to_groove(grid)
        n = self.num_classes
        inp = self.input_from_outputs(out[:, :n], out[:, n:2 * n], out[:, 2 * n:])
        return inp.astype(np.float32), out

    def to_tensors(self, ns: NoteSequence) -> ConverterTensors:
        feats = groove_features(ns, self.pitch_classes)
        if feats is None:
            return ConverterTensors()
        hits, vels, offs = feats
        out = np.concatenate([hits, vels, offs], axis=1).astype(np.float32)
        inp = self.input_from_outputs(hits, vels, offs).astype(np.float32)
        if not self.split_bars:
            return ConverterTensors([inp], [out])
        win = STEPS_PER_BAR * self.split_bars
        hop = self.hop_size or win
        starts = range(0, len(out) - win + 1, hop)
        return ConverterTensors([inp[s:s + win] for s in starts], [out[s:s + win] for s in starts])

    def from_tensors(self, samples, qpm: float | None = None) -> list[NoteSequence]:
        """[steps, 27] outputs -> drum NoteSequences with per-hit velocity and timing, at
        120 qpm unless `qpm` is given. Start times may be slightly negative (an early
        first hit); `engine.music.midi_io.write_midi` clamps them to 0."""
        result = []
        for sample in samples:
            s = np.asarray(sample, dtype=np.float64)
            ns = new_sequence(DEFAULT_QPM)
            step = 60.0 / DEFAULT_QPM / STEPS_PER_QUARTER
            n = self.num_classes
            for i in range(len(s)):
                for j in range(n):
                    if s[i, j] > 0.5:
                        vel = int(np.clip(int(np.round(s[i, n + j] * 127)), 0, 127))
                        off = float(np.clip(s[i, 2 * n + j] / 2, -0.5, 0.5))
                        start = (i - off) * step
                        ns.notes.add(pitch=self.pitch_classes[j][0], velocity=vel,
                                     start_time=start, end_time=start + step,
                                     instrument=dm.DRUM_INSTRUMENT, is_drum=True)
            ns.total_time = max([len(s) * step] + [x.end_time for x in ns.notes])
            result.append(change_tempo(ns, qpm) if qpm else ns)
        return result
