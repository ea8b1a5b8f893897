"""Training data for the starter drum models: 2-bar windows of the Groove MIDI Dataset.

    windows = load_windows(Path("midi/groove"), "cat-drums_2bar_small", "train")
    for x, y in batches(windows, 64, seed=0): ...      # numpy [B, 32, in], [B, 32, out]

Files come from `info.csv` (the dataset's own train/validation/test split; only 4/4
performances, since MusicVAE's converters need 16 steps per bar). Windows are made by the
same converters inference uses (engine.music), set up as Magenta trains these configs:

- cat-drums_2bar_small: the DrumsConverter (reduced 9-class map), every unique 2-bar
  window with a 1-bar hop (magenta samples 5 of them per file per epoch; we keep all).
- groovae_2bar_humanize: the GrooveConverter with `humanize=True` and the Roland class
  map GrooVAE was trained with (inference reads the reduced map), 2-bar windows with a
  1-bar hop; windows without hits are dropped.

Neither config has data augmentation in Magenta (no transposition for drums), so none is
applied. Converted windows are cached as .npz in the cache folder, keyed by the files.
"""

from __future__ import annotations

import csv
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from engine.errors import BadInput
from engine.paths import cache_dir, ensure_dir

SPLITS = ("train", "validation", "test")
WINDOW_STEPS = 32
TRAIN_CONFIGS = ("cat-drums_2bar_small", "groovae_2bar_humanize", "cat-mel_2bar_big")
MELODY_CONFIGS = ("cat-mel_2bar_big",)


@dataclass
class Windows:
    """Encoder inputs [N, 32, input_depth] and decoder targets [N, 32, output_depth]."""
    inputs: np.ndarray
    outputs: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)


def dataset_files(data_dir: Path, split: str = "train", limit: int | None = None) -> list[Path]:
    """The 4/4 MIDI files of one split listed in `data_dir/info.csv`; BadInput naming the
    folder when it is not a Groove MIDI Dataset copy."""
    if split not in SPLITS:
        raise BadInput(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    info = Path(data_dir) / "info.csv"
    if not info.is_file():
        raise BadInput(f"{data_dir}: no info.csv; point --data at a Groove MIDI Dataset "
                       f"folder (e.g. midi/groove)", path=str(data_dir))
    with info.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r.get("split") == split and r.get("time_signature") == "4-4"]
    files = [Path(data_dir) / r["midi_filename"] for r in rows]
    files = [f for f in files if f.is_file()]
    if limit is not None:
        files = files[:limit]
    if not files:
        raise BadInput(f"{info}: no 4/4 MIDI files of the {split} split were found next to it",
                       path=str(info))
    return files


def melody_files(data_dir: Path, split: str = "train", limit: int | None = None) -> list[Path]:
    """Any folder of MIDI files, split as MelodyRNN training splits it (a stable hash of
    each relative path; about 10% held out as 'test'), so the starter melody models share
    one held-out set."""
    from engine.train.melody_data import midi_files, split_of

    if split not in SPLITS:
        raise BadInput(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    root = Path(data_dir)
    want = "eval" if split == "test" else "train"
    files = [f for f in midi_files(root) if split_of(f, root) == want][:limit]
    if not files:
        raise BadInput(f"{data_dir}: no MIDI files of the {split} split", path=str(data_dir))
    return files


def _converter(config: str):
    from engine.music import drums as dm
    from engine.music.grids import DrumsConverter
    from engine.music.groove import GrooveConverter

    if config == "cat-drums_2bar_small":
        return DrumsConverter(slice_bars=2, roll_input=True, max_tensors_per_notesequence=None)
    if config == "cat-mel_2bar_big":  # magenta's converter, every window (not 5 per file)
        from engine.music.melody import MEL_PROGRAMS, MelodyConverter

        return MelodyConverter(valid_programs=MEL_PROGRAMS, slice_bars=2,
                               max_tensors_per_notesequence=None)
    if config == "groovae_2bar_humanize":
        return GrooveConverter(split_bars=2, humanize=True, hop_size=16,
                               pitch_classes=dm.ROLAND_DRUM_PITCH_CLASSES)
    raise BadInput(f"cannot train config {config!r}; trainable: {', '.join(TRAIN_CONFIGS)}")


def convert_file(path: Path, config: str) -> Windows:
    """All training windows of one MIDI file for `config`."""
    from engine.music.midi_io import read_midi

    conv = _converter(config)
    ns = read_midi(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pitches outside the class map are expected
        t = conv.to_tensors(ns, warn=False) if config in MELODY_CONFIGS else conv.to_tensors(ns)
    pairs = [(i, o) for i, o in zip(t.inputs, t.outputs) if len(o) == WINDOW_STEPS]
    if config.startswith("groovae"):
        pairs = [(i, o) for i, o in pairs if o[:, :o.shape[1] // 3].any()]
    if not pairs:
        return Windows(np.zeros((0, WINDOW_STEPS, conv.input_depth), np.float32),
                       np.zeros((0, WINDOW_STEPS, conv.output_depth), np.float32))
    return Windows(np.stack([i for i, _ in pairs]).astype(np.float32),
                   np.stack([o for _, o in pairs]).astype(np.float32))


def _cache_key(files: list[Path], config: str) -> str:
    h = hashlib.sha256(config.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def load_windows(data_dir: Path, config: str, split: str = "train",
                 limit_files: int | None = None, use_cache: bool = True) -> Windows:
    """Every window of a split, converted once and cached."""
    _converter(config)  # reject unknown configs before reading anything
    files = (melody_files(data_dir, split, limit_files) if config in MELODY_CONFIGS
             else dataset_files(data_dir, split, limit_files))
    cache = cache_dir() / "train" / f"{config}-{split}-{_cache_key(files, config)}.npz"
    if use_cache and cache.is_file():
        with np.load(cache) as z:
            return Windows(z["inputs"], z["outputs"])
    parts = []
    for f in files:
        try:
            parts.append(convert_file(f, config))
        except BadInput as e:  # one unreadable file does not stop a training run
            warnings.warn(f"skipped: {e.message}", stacklevel=2)
    parts = [p for p in parts if len(p)]
    if not parts:
        raise BadInput(f"{data_dir}: no 2-bar 4/4 windows for {config} in the {split} split",
                       path=str(data_dir))
    w = Windows(np.concatenate([p.inputs for p in parts]),
                np.concatenate([p.outputs for p in parts]))
    if use_cache:
        from engine.fsutil import atomic_write

        ensure_dir(cache.parent)
        atomic_write(cache, lambda fh: np.savez_compressed(fh, inputs=w.inputs, outputs=w.outputs))
    return w


def batches(windows: Windows, batch_size: int, seed: int, start_epoch: int = 0
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless shuffled batches; epoch e is shuffled with (seed, e), so a resumed run
    continues with fresh orders."""
    n = len(windows)
    batch_size = min(batch_size, n)
    epoch = start_epoch
    while True:
        order = np.random.default_rng([seed, epoch]).permutation(n)
        for s in range(0, n - batch_size + 1, batch_size):
            idx = order[s:s + batch_size]
            yield windows.inputs[idx], windows.outputs[idx]
        epoch += 1
