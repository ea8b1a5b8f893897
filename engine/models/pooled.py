"""The four families' models, loaded through the one model pool (engine/model_pool.py).

Each function takes what `engine.checkpoints.resolve_model` returns (a config and the
path the family's loader opens) and returns the shared loaded model; the family's own
`load` does the loading. No TensorFlow at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import model_pool


def musicvae_key(config: str, path: str | Path) -> tuple:
    return ("musicvae", config, model_pool.file_key(path))


def musicvae(config: str, path: str | Path) -> Any:
    from engine.models.musicvae import MusicVae

    def load():
        model = MusicVae.load(config, str(path))
        # The pool is the cache: drop MusicVae's own, or evicted models would stay alive.
        MusicVae.clear_cache()
        return model

    key = musicvae_key(config, path)
    return model_pool.get(key, load, label=f"musicvae {config} {Path(path).name}",
                          size_hint=model_pool.files_size(key[2]))


def melody_rnn_key(path: str | Path, config: str | None) -> tuple:
    return ("melody_rnn", config, model_pool.file_key(path))


def melody_rnn(path: str | Path, config: str | None, name: str) -> Any:
    from engine.models.melody_rnn import MelodyRnn

    key = melody_rnn_key(path, config)
    model = model_pool.get(key, lambda: MelodyRnn.load(path, config, name),
                           label=f"melody_rnn {name}", size_hint=model_pool.files_size(key[2]))
    return model


def gansynth_key(path: str | Path, precision: str = "float32") -> tuple:
    return ("gansynth", precision, model_pool.file_key(path))


def gansynth(path: str | Path, precision: str = "float32") -> Any:
    from engine.models.gansynth import GANSynth

    key = gansynth_key(path, precision)
    return model_pool.get(key, lambda: GANSynth.load(Path(path), precision=precision),
                          label=f"gansynth {Path(path).name} {precision}",
                          size_hint=model_pool.files_size(key[2]))


def nsynth_key(path: str | Path) -> tuple:
    return ("nsynth", model_pool.file_key(path))


def nsynth(path: str | Path) -> Any:
    from engine.models.nsynth import NSynth

    key = nsynth_key(path)
    return model_pool.get(key, lambda: NSynth.load(str(path)), label=f"nsynth {Path(path).name}",
                          size_hint=model_pool.files_size(key[1]))
