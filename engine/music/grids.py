"""Drum patterns as grids and as MusicVAE drum tensors.

Two views of the same thing:
- `DrumGrid`: what the drum pane edits, 9 rows (drum classes) x N 16th-note steps,
  with optional per-hit velocity and micro-timing, and the pattern's tempo.
- `DrumsConverter`: Magenta's MusicVAE drum converter (cat-drums_2bar_small,
  nade-drums_2bar_full): NoteSequence -> 2-bar windows of [steps, 10] roll inputs
  (9 classes + a "no hit" bit) and [steps, 512] one-hot targets (index = sum of 2^class),
  and back. Windows come in time order (magenta's come from a set, in any order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import note_seq
from note_seq import NoteSequence

from engine.music import drums as dm
from engine.music.sequences import (
    DEFAULT_QPM, OUTPUT_VELOCITY, STEPS_PER_BAR, STEPS_PER_QUARTER, change_tempo, new_sequence,
    quantize, qpm_of, split_on_time_changes, unique_in_order, warn_dropped)
from engine.music.tensors import ConverterTensors, onehot

NUM_ONEHOT_CLASSES = 2 ** dm.NUM_DRUM_CLASSES  # 512


# ---------------------------------------------------------------- encodings

def events_to_onehot(events: list[frozenset[int]], num_classes: int = dm.NUM_DRUM_CLASSES) -> np.ndarray:
    """Per step, a set of class indices -> [steps, 2^classes] one-hot (bit c <-> class c)."""
    return onehot([sum(1 << c for c in e) for e in events], 2 ** num_classes)


def events_to_roll(events: list[frozenset[int]], num_classes: int = dm.NUM_DRUM_CLASSES,
                   no_hit_bit: bool = True) -> np.ndarray:
    """[steps, classes (+1)] multi-hot; the extra last bit is set on steps with no hit."""
    roll = np.zeros((len(events), num_classes + int(no_hit_bit)), dtype=bool)
    for i, e in enumerate(events):
        for c in e:
            roll[i, c] = True
        if no_hit_bit and not e:
            roll[i, num_classes] = True
    return roll


def onehot_to_events(tensor: np.ndarray) -> list[frozenset[int]]:
    """[steps, 2^classes] one-hot (or logits/probabilities: argmax) -> sets of classes."""
    idx = np.argmax(np.asarray(tensor), axis=-1)
    return [frozenset(c for c in range(int(idx_i).bit_length()) if (int(idx_i) >> c) & 1)
            for idx_i in idx]


def roll_to_events(tensor: np.ndarray, num_classes: int | None = None) -> list[frozenset[int]]:
    t = np.asarray(tensor)
    if num_classes is not None:
        t = t[:, :num_classes]
    return [frozenset(int(c) for c in np.nonzero(row)[0]) for row in t]


def grid_to_onehot(hits: np.ndarray) -> np.ndarray:
    """[9, steps] hit grid -> [steps, 512] one-hot."""
    h = np.asarray(hits, dtype=bool)
    idx = (h.astype(np.int64) << np.arange(h.shape[0])[:, None]).sum(axis=0)
    return onehot(idx, 2 ** h.shape[0])


def onehot_to_grid(tensor: np.ndarray, num_classes: int = dm.NUM_DRUM_CLASSES) -> np.ndarray:
    """[steps, 512] one-hot (argmax) -> [9, steps] bool hit grid."""
    idx = np.argmax(np.asarray(tensor), axis=-1)
    return ((idx[None, :] >> np.arange(num_classes)[:, None]) & 1).astype(bool)


def grid_to_roll(hits: np.ndarray) -> np.ndarray:
    """[9, steps] hit grid -> [steps, 10] encoder input (9 classes + no-hit bit)."""
    h = np.asarray(hits, dtype=bool).T
    return np.concatenate([h, ~h.any(axis=1, keepdims=True)], axis=1)


def regroup(hits: np.ndarray, src: dm.PitchClasses, dst: dm.PitchClasses) -> np.ndarray:
    """[len(src), steps] hits -> [len(dst), steps]: each source class's hits land in the
    destination class of its exemplar (first) pitch, as a NoteSequence written with
    exemplar pitches and read back with `dst` would have them (the 61 single pitches of
    nade-drums_2bar_full <-> the drum grid's 9 classes). A pitch `dst` lacks is dropped."""
    h = np.asarray(hits, dtype=bool)
    where = dm.pitch_class_map(dst)
    out = np.zeros((len(dst), h.shape[1]), dtype=bool)
    for i, pitches in enumerate(src):
        j = where.get(pitches[0])
        if j is not None:
            out[j] |= h[i]
    return out


# ---------------------------------------------------------------- the grid

@dataclass
class DrumGrid:
    """A drum pattern on the 16th grid. Rows follow `engine.music.drums` classes.

    velocities: MIDI velocity per hit (0 where no hit); None means "all at 80".
    offsets: micro-timing per hit as a fraction of a step in [-0.5, 0.5], positive =
    played early (GrooVAE's sign); None means on the grid.
    """

    hits: np.ndarray
    velocities: np.ndarray | None = None
    offsets: np.ndarray | None = None
    qpm: float = DEFAULT_QPM
    classes: dm.PitchClasses = field(default=dm.REDUCED_DRUM_PITCH_CLASSES, repr=False)

    @classmethod
    def empty(cls, steps: int = 2 * STEPS_PER_BAR, qpm: float = DEFAULT_QPM) -> "DrumGrid":
        return cls(np.zeros((dm.NUM_DRUM_CLASSES, steps), dtype=bool), qpm=qpm)

    @property
    def steps(self) -> int:
        return int(self.hits.shape[1])

    @property
    def step_seconds(self) -> float:
        return 60.0 / self.qpm / STEPS_PER_QUARTER

    # -- MusicVAE drum tensors
    def to_onehot(self) -> np.ndarray:
        return grid_to_onehot(self.hits)

    def to_roll(self) -> np.ndarray:
        return grid_to_roll(self.hits)

    @classmethod
    def from_onehot(cls, tensor: np.ndarray, qpm: float = DEFAULT_QPM) -> "DrumGrid":
        return cls(onehot_to_grid(tensor), qpm=qpm)

    # -- NoteSequence
    def to_sequence(self, velocity: int = OUTPUT_VELOCITY, swing: float = 0.0) -> NoteSequence:
        """One note per hit at the class exemplar pitch, one step long, drum channel.
        `swing` delays every second 16th by that fraction of a step (as heard and exported)."""
        ns = new_sequence(self.qpm)
        ns.time_signatures.add(numerator=4, denominator=4)
        step = self.step_seconds
        for c, i in zip(*np.nonzero(self.hits)):
            off = float(self.offsets[c, i]) if self.offsets is not None else 0.0
            vel = int(self.velocities[c, i]) if self.velocities is not None else velocity
            start = max(0.0, (int(i) - off + (swing if i % 2 else 0.0)) * step)
            ns.notes.add(pitch=self.classes[c][0], velocity=max(1, min(127, vel)),
                         start_time=start, end_time=start + step, instrument=dm.DRUM_INSTRUMENT,
                         is_drum=True)
        ns.notes.sort(key=lambda n: (n.start_time, n.pitch))
        ns.total_time = max([self.steps * step] + [n.end_time for n in ns.notes])
        return ns

    @classmethod
    def from_sequence(cls, ns: NoteSequence, steps: int | None = None,
                      classes: dm.PitchClasses = dm.REDUCED_DRUM_PITCH_CLASSES) -> "DrumGrid":
        """Put the drum notes of `ns` on the grid at the sequence's own tempo.

        Each note goes to the nearest 16th (note-seq's rounding); when several land in
        one cell the loudest wins. `steps` defaults to whole bars covering every hit.
        Pitches outside the class map are left out with a DroppedNotesWarning.
        """
        qpm = qpm_of(ns)
        sps = STEPS_PER_QUARTER * qpm / 60.0
        cmap = dm.pitch_class_map(classes)
        drum_notes = [n for n in ns.notes if n.is_drum and n.velocity > 0]
        unknown = [n.pitch for n in drum_notes if n.pitch not in cmap]
        warn_dropped("drum pitches outside the 9 drum classes", unknown, len(unknown))
        placed = [(int(np.floor(n.start_time * sps + 0.5)), cmap[n.pitch], n)
                  for n in drum_notes if n.pitch in cmap]
        if steps is None:
            last = max([s for s, _, _ in placed], default=0)
            steps = max(1, -(-(last + 1) // STEPS_PER_BAR)) * STEPS_PER_BAR
        n_cls = len(classes)
        hits = np.zeros((n_cls, steps), dtype=bool)
        vel = np.zeros((n_cls, steps), dtype=np.int16)
        off = np.zeros((n_cls, steps), dtype=np.float32)
        for s, c, n in placed:
            if 0 <= s < steps and n.velocity > vel[c, s]:
                hits[c, s] = True
                vel[c, s] = n.velocity
                off[c, s] = s - n.start_time * sps
        return cls(hits, vel.astype(np.uint8), off, qpm, classes)


# ---------------------------------------------------------------- MusicVAE converter

def _extract_drum_tracks(q: NoteSequence, gap_bars: float, max_steps: int | None,
                         min_bars: int = 1) -> list[note_seq.DrumTrack]:
    """Every drum track in a quantized sequence: a track starts at the bar of its first
    hit and ends at a gap of `gap_bars` silent bars; padded to whole bars, truncated."""
    tracks = []
    search = 0
    while True:
        track = note_seq.DrumTrack()
        track.from_quantized_sequence(q, search_start_step=search, gap_bars=gap_bars,
                                      pad_end=True)
        search = track.end_step + (search - track.end_step) % track.steps_per_bar
        if not track:
            return tracks
        if len(track) < track.steps_per_bar * min_bars:
            continue
        if max_steps is not None and len(track) > max_steps:
            track.set_length(max_steps - max_steps % track.steps_per_bar)
        tracks.append(track)


class DrumsConverter:
    """MusicVAE's DrumsConverter (magenta `data.DrumsConverter`), without TensorFlow.

    cat-drums_2bar_small: `DrumsConverter()` (roll input [32, 10], one-hot output [32, 512]).
    nade-drums_2bar_full: `DrumsConverter(FULL_DRUM_PITCH_CLASSES, roll_output=True)`.
    `slice_bars=None` keeps whole tracks; `pad_to_total_time` pads them to the sequence end.
    """

    def __init__(self, pitch_classes: dm.PitchClasses = dm.REDUCED_DRUM_PITCH_CLASSES, *,
                 slice_bars: int | None = 2, max_bars: int | None = 100,
                 gap_bars: float | None = 1.0, roll_input: bool = True,
                 roll_output: bool = False, max_tensors_per_notesequence: int | None = 5,
                 pad_to_total_time: bool = False, presplit_on_time_changes: bool = True):
        self.pitch_classes = pitch_classes
        self.num_classes = len(pitch_classes)
        self._class_map = dm.pitch_class_map(pitch_classes)
        self.slice_steps = slice_bars * STEPS_PER_BAR if slice_bars else None
        self.max_steps = max_bars * STEPS_PER_BAR if max_bars else None
        self.gap_bars = gap_bars or float("inf")
        self.roll_input = roll_input
        self.roll_output = roll_output
        self.max_tensors = max_tensors_per_notesequence
        self.pad_to_total_time = pad_to_total_time
        self.presplit = presplit_on_time_changes

    @property
    def input_depth(self) -> int:
        return self.num_classes + 1 if self.roll_input else 2 ** self.num_classes

    @property
    def output_depth(self) -> int:
        return self.num_classes if self.roll_output else 2 ** self.num_classes

    def _encode(self, events: list[frozenset[int]]) -> tuple[np.ndarray, np.ndarray]:
        oh = None if (self.roll_input and self.roll_output) else events_to_onehot(events, self.num_classes)
        inp = events_to_roll(events, self.num_classes) if self.roll_input else oh
        out = events_to_roll(events, self.num_classes, no_hit_bit=False) if self.roll_output else oh
        return inp, out

    def event_windows(self, ns: NoteSequence) -> list[tuple[frozenset[int], ...]]:
        """The unique windows of per-step class sets, in time order (before `max_tensors`)."""
        drum_notes = [n for n in ns.notes if n.is_drum]
        unknown = [n.pitch for n in drum_notes if n.pitch not in self._class_map]
        warn_dropped("drum pitches outside the model's drum classes", unknown, len(unknown))
        pieces = split_on_time_changes(ns) if self.presplit else [ns]
        windows: list[tuple[frozenset[int], ...]] = []
        for piece in pieces:  # magenta de-duplicates and limits per piece
            found = unique_in_order(self._piece_windows(piece))
            windows.extend(found[:self.max_tensors] if self.max_tensors else found)
        return windows

    def _piece_windows(self, ns: NoteSequence) -> list[tuple[frozenset[int], ...]]:
        q = quantize(ns)
        if q is None:
            return []
        kept = []
        for n in q.notes:
            if n.is_drum and n.pitch in self._class_map:
                n.pitch = self._class_map[n.pitch]
                kept.append(n)
        del q.notes[:]
        q.notes.extend(kept)
        tracks = _extract_drum_tracks(q, self.gap_bars, self.max_steps)
        if self.pad_to_total_time:
            for t in tracks:
                t.set_length(len(t) + t.start_step, from_left=True)
                t.set_length(q.total_quantized_steps)
        if not self.slice_steps:
            return [tuple(t) for t in tracks]
        out = []
        for t in tracks:
            for end in range(self.slice_steps, len(t) + 1, STEPS_PER_BAR):
                out.append(tuple(t[end - self.slice_steps:end]))
        return out

    def to_tensors(self, ns: NoteSequence) -> ConverterTensors:
        result = ConverterTensors()
        for events in self.event_windows(ns):
            inp, out = self._encode(list(events))
            result.inputs.append(inp)
            result.outputs.append(out)
        return result.limit(self.max_tensors)

    def from_tensors(self, samples, qpm: float | None = None) -> list[NoteSequence]:
        """Decoder outputs ([steps, 512] one-hot or [steps, classes] roll) -> drum
        NoteSequences: exemplar pitches, one step long, velocity 80, 120 qpm unless
        `qpm` says otherwise."""
        out = []
        for s in samples:
            events = (roll_to_events(s, self.num_classes) if self.roll_output
                      else onehot_to_events(s))
            pitched = [frozenset(self.pitch_classes[c][0] for c in e) for e in events]
            track = note_seq.DrumTrack(events=pitched, steps_per_bar=STEPS_PER_BAR,
                                       steps_per_quarter=STEPS_PER_QUARTER)
            ns = track.to_sequence(velocity=OUTPUT_VELOCITY)
            out.append(change_tempo(ns, qpm) if qpm else ns)
        return out
