"""NSynth encodings cached by (sound content, model): in memory and as .npy files.

The key hashes the 16 kHz float32 samples the encoder sees (so a renamed or re-imported
file hits the cache, an edited one does not) together with the model's checkpoint key.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine import paths
from engine.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from engine.models.nsynth import NSynth


def content_key(audio: np.ndarray, model_key: str) -> str:
    h = hashlib.sha256()
    h.update(model_key.encode())
    h.update(b"\0nsynth-encoding-v1\0")
    a = np.ascontiguousarray(audio, dtype=np.float32)
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()[:32]


class EncodingCache:
    """`encode(model, audio)` returns the [frames, 16] encoding, computing it only once."""

    def __init__(self, folder: Path | None = None, max_items: int = 256) -> None:
        self.folder = folder if folder is not None else paths.cache_dir() / "nsynth"
        self.max_items = max_items
        self._mem: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def path_for(self, key: str) -> Path:
        return self.folder / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        if key in self._mem:
            self._mem.move_to_end(key)
            return self._mem[key]
        p = self.path_for(key)
        if p.is_file():
            try:
                enc = np.load(p, allow_pickle=False)
            except (OSError, ValueError):
                p.unlink(missing_ok=True)  # damaged cache entry: recompute it
                return None
            self._remember(key, enc)
            return enc
        return None

    def put(self, key: str, enc: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(enc, np.float32), allow_pickle=False)
        atomic_write_bytes(self.path_for(key), buf.getvalue())
        self._remember(key, np.asarray(enc, np.float32))

    def _remember(self, key: str, enc: np.ndarray) -> None:
        self._mem[key] = enc
        self._mem.move_to_end(key)
        while len(self._mem) > self.max_items:
            self._mem.popitem(last=False)

    def encode(self, model: "NSynth", audio: np.ndarray) -> tuple[np.ndarray, bool]:
        """(encoding [frames, 16], was it cached) for mono 16 kHz `audio`."""
        key = content_key(audio, model.key)
        enc = self.get(key)
        if enc is not None:
            self.hits += 1
            return enc, True
        self.misses += 1
        enc = model.encode(audio)[0]
        self.put(key, enc)
        return enc, False
