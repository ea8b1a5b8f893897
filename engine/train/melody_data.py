"""Training data for MelodyRNN (basic_rnn, lookback_rnn, attention_rnn) from any folder
of MIDI files, made the way magenta's melody_rnn_pipeline makes it:

1. each file's NoteSequence is split where the tempo or time signature changes;
2. quantized at 4 steps per quarter;
3. melodies extracted per instrument (magenta's MelodyExtractor: at least 7 bars, at most
   512 steps (longer ones truncated), at least 5 distinct pitches, a new melody after a
   1-bar gap, polyphony resolved to the highest note);
4. each melody squashed into the model's range [48, 84) and transposed to C major (the
   config's `transpose_to_key = 0`): this is magenta's only "augmentation" for MelodyRNN;
5. encoded with the config's encoder-decoder: the input at each step, and the next
   step's class as the label.

Magenta splits sequences into eval/training at random (`--eval_ratio`); here each file
goes to the held-out split by a hash of its path (the same split on every run; ratio 0.1).
Encoded examples are cached in the run folder (`data-<hash>.npz`).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from engine.errors import BadInput
from engine.music import melody_rnn as mr

MIN_BARS, MAX_STEPS, MIN_UNIQUE_PITCHES, GAP_BARS = 7, 512, 5, 1.0
EVAL_RATIO = 0.1
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass
class Examples:
    inputs: list[np.ndarray]  # per sequence [T, input_size] float32, or [T] int32 classes
    labels: list[np.ndarray]  # per sequence [T] int32            (one-hot inputs, expanded
    files: int = 0                                              # per batch)
    melodies_discarded: int = 0
    input_size: int = 0  # for class-index inputs

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def events(self) -> int:
        return int(sum(len(y) for y in self.labels))


def midi_files(data: Path) -> list[Path]:
    data = Path(data)
    if not data.is_dir():
        raise BadInput(f"--data {data}: not a folder; give a folder of MIDI files", path=str(data))
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    if not files:
        raise BadInput(f"--data {data}: no .mid/.midi files in it (searched subfolders too)",
                       path=str(data))
    return files


def split_of(path: Path, root: Path) -> str:
    """'eval' for about EVAL_RATIO of the files, by a stable hash of the relative path."""
    rel = str(Path(path).relative_to(root)).encode()
    return "eval" if int(hashlib.sha1(rel).hexdigest()[:8], 16) / 0xFFFFFFFF < EVAL_RATIO \
        else "train"


def extract_melodies(quantized, steps_per_bar: int) -> list:
    """magenta's melody_pipelines.extract_melodies with MelodyExtractor's arguments."""
    import note_seq

    melodies = []
    instruments = sorted({n.instrument for n in quantized.notes if not n.is_drum})
    for instrument in instruments:
        start = 0
        while True:
            melody = note_seq.Melody()
            try:
                melody.from_quantized_sequence(quantized, instrument=instrument,
                                               search_start_step=start, gap_bars=GAP_BARS,
                                               ignore_polyphonic_notes=True)
            except note_seq.PolyphonicMelodyError:
                break
            if not melody:
                break
            # the next search starts at the next bar boundary
            start = melody.end_step + (-melody.end_step) % steps_per_bar
            if len(melody) < steps_per_bar * MIN_BARS:
                continue
            if len(melody) > MAX_STEPS:
                melody.set_length(MAX_STEPS)
            if np.count_nonzero(melody.get_note_histogram()) < MIN_UNIQUE_PITCHES:
                continue
            melodies.append(melody)
    return melodies


def read_training_midi(path: Path):
    """The NoteSequence of one training MIDI file, or None when it cannot be read (a broken
    file in a folder of hundreds is skipped, not fatal)."""
    import note_seq

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return note_seq.midi_file_to_note_sequence(str(path))
        except Exception:  # noqa: BLE001 - any parse failure means "skip this file"
            return None


def file_melodies(path: Path) -> list:
    """Every training melody of one MIDI file (squashed into range, in C)."""
    import note_seq

    from engine.music.sequences import quantize, split_on_time_changes

    ns = read_training_midi(path)
    if ns is None:
        return []
    out = []
    for part in split_on_time_changes(ns):
        q = quantize(part, mr.STEPS_PER_QUARTER, steps_per_bar=None)
        if q is None or not q.notes:
            continue
        spb = note_seq.steps_per_bar_in_quantized_sequence(q)
        if spb != int(spb):
            continue
        for melody in extract_melodies(q, int(spb)):
            melody.squash(mr.MIN_NOTE, mr.MAX_NOTE, mr.TRANSPOSE_TO_KEY)
            out.append(melody)
    return out


def key_melody_inputs(events: list[int], enc) -> np.ndarray:
    """KeyMelodyEncoderDecoder.events_to_input for every position, in one pass (note-seq
    recomputes the history at each position: quadratic in the melody's length). Equal to
    note-seq's output (tests/test_train_melody.py checks)."""
    from note_seq.constants import DEFAULT_STEPS_PER_BAR, MELODY_NO_EVENT, MELODY_NOTE_OFF, NOTE_KEYS

    n_range = mr.MAX_NOTE - mr.MIN_NOTE
    lookbacks = (DEFAULT_STEPS_PER_BAR, 2 * DEFAULT_STEPS_PER_BAR)
    bits = enc.input_size - (n_range + 2 + 2 + len(lookbacks) + 1 + 24)
    out = np.zeros((len(events), enc.input_size), np.float32)
    key_of = np.zeros((12, 12), np.float32)  # pitch class -> keys it fits
    for pc in range(12):
        key_of[pc, NOTE_KEYS[pc]] = 1
    keys = np.zeros(12, np.float32)
    current, attack, ascending = None, False, None
    last3: list[int] = []
    for pos, note in enumerate(events):
        if note == MELODY_NO_EVENT:
            attack = False
        elif note == MELODY_NOTE_OFF:
            current = None
        else:
            attack, current = True, note
            if last3:
                if note > last3[-1]:
                    ascending = True
                if note < last3[-1]:
                    ascending = False
            if note in last3:
                last3.remove(note)
            last3 = (last3 + [note])[-3:]
            keys += key_of[note % 12]
        row = out[pos]
        if current:
            row[current - mr.MIN_NOTE] = 1.0
            row[n_range] = 1.0
        else:
            row[n_range + 1] = 1.0
        o = n_range + 2
        row[o] = 1.0 if attack else 0.0
        if ascending is not None:
            row[o + 1] = 1.0 if ascending else -1.0
        o += 2
        for i, d in enumerate(lookbacks):
            if pos - d >= 0 and events[pos] == events[pos - d]:
                row[o + i] = 1.0
        o += len(lookbacks)
        length = pos + 1
        for i in range(bits):
            row[o + i] = 1.0 if (length // 2 ** i) % 2 else -1.0
        o += bits
        row[o] = 1.0 if length % DEFAULT_STEPS_PER_BAR == 0 else 0.0
        o += 1
        row[o:o + 12] = keys == keys.max()
        o += 12
        last = np.zeros(12, np.float32)
        for p in last3:
            last += key_of[p % 12]
        row[o:o + 12] = last == last.max()
    return out


def encode(melody, config: str, enc=None) -> tuple[np.ndarray, np.ndarray]:
    """(inputs [T, in], labels [T]) with T = len(melody) - 1, as magenta's
    EventSequenceEncoderDecoder.encode."""
    enc = enc or mr.encoder_decoder(config)
    events = list(melody)
    n = len(events) - 1
    if config == "attention_rnn":
        inputs = key_melody_inputs(events, enc)[:n]
    else:
        inputs = np.array([enc.events_to_input(melody, i) for i in range(n)], np.float32)
    labels = np.array([enc.events_to_label(melody, i) for i in range(1, n + 1)], np.int32)
    return inputs, labels


def cached_examples(data: Path, split: str, cache: Path | None, limit_files: int | None,
                    name: str, key: str,
                    encode_file: Callable[[Path], Iterable[tuple[np.ndarray, np.ndarray]]],
                    input_size: int = 0) -> Examples:
    """One split ('train' or 'eval') of a MIDI folder, each file encoded by `encode_file`
    into (inputs, labels) pairs; kept in `cache`/NAME-SPLIT-HASH.npz, the hash over `key`
    and every file's path, size and time, so a changed folder is encoded again."""
    root = Path(data)
    files = [f for f in midi_files(root) if split_of(f, root) == split][:limit_files]
    cache_file = None
    if cache is not None:
        h = hashlib.sha1(key.encode())
        for f in files:
            st = f.stat()
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        cache_file = Path(cache) / f"{name}-{split}-{h.hexdigest()[:16]}.npz"
        if cache_file.is_file():
            z = np.load(cache_file)
            cuts = np.cumsum(z["lengths"])[:-1]
            return Examples(np.split(z["inputs"], cuts), np.split(z["labels"], cuts),
                            len(files), input_size=input_size)
    xs, ys = [], []
    for f in files:
        for x, y in encode_file(f):
            xs.append(x)
            ys.append(y)
    ex = Examples(xs, ys, len(files), input_size=input_size)
    if cache_file is not None and xs:
        from engine.fsutil import atomic_write

        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache_file, lambda fh: np.savez(
            fh, inputs=np.concatenate(xs), labels=np.concatenate(ys),
            lengths=np.array([len(y) for y in ys])))
    return ex


def load_examples(data: Path, config: str, split: str, cache: Path | None = None,
                  limit_files: int | None = None) -> Examples:
    """The encoded melodies of one split ('train' or 'eval') of a MIDI folder."""
    enc = mr.encoder_decoder(config)
    return cached_examples(data, split, cache, limit_files, "data", config,
                           lambda f: (encode(m, config, enc) for m in file_melodies(f)))


def batches(ex: Examples, batch_size: int, max_len: int, seed: int,
            start_epoch: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Endless shuffled batches (inputs [B, T, in], labels [B, T], mask [B, T]) of windows
    of at most `max_len` steps (a melody longer than that gives a random window of it),
    padded to the batch's longest, as magenta's dynamic padding."""
    if not len(ex):
        raise BadInput("no melodies to train on: the files have no monophonic line of at "
                       f"least {MIN_BARS} bars with {MIN_UNIQUE_PITCHES} distinct pitches")
    epoch = start_epoch
    one_hot = ex.inputs[0].ndim == 1
    size = ex.input_size if one_hot else ex.inputs[0].shape[1]
    while True:
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(ex))
        for i in range(0, len(order) - batch_size + 1 if len(order) >= batch_size else 1,
                       batch_size):
            idx = order[i:i + batch_size]
            lens = [min(len(ex.labels[j]), max_len) for j in idx]
            t = max(lens)
            x = np.zeros((len(idx), t, size), np.float32)
            y = np.zeros((len(idx), t), np.int32)
            m = np.zeros((len(idx), t), np.float32)
            for b, (j, n) in enumerate(zip(idx, lens)):
                s = int(rng.integers(0, len(ex.labels[j]) - n + 1))
                if one_hot:
                    x[b, np.arange(n), ex.inputs[j][s:s + n]] = 1.0
                else:
                    x[b, :n] = ex.inputs[j][s:s + n]
                y[b, :n], m[b, :n] = ex.labels[j][s:s + n], 1
            yield x, y, m
        epoch += 1
