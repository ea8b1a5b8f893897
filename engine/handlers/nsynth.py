"""NSynth jobs: encode sounds, mix encodings, synthesize audio from mixes.

Common params: `checkpoint` — a checkpoint name (default "nsynth-wavenet", resolved by
engine.checkpoints) or a path (prefix, folder or wavenet-ckpt.tar).

A *source* is a sound file (encoded through the content cache) or an `.npy` encoding
[frames, 16]. A *mix* is `{"sources": [2-4 sources], "weights": [...]}` or
`{"sources": [4 corners], "xy": [x, y]}`, optionally with `"stretch": factor`; a single
source may stand alone as `{"sources": [s]}`.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import numpy as np

from engine.api import nsynth as api
from engine.context import JobContext
from engine.errors import BadInput, BadRequest, JobCancelled
from engine.methods import method
from engine.pathpolicy import check_name, output_file, readable_file, work_folder

ROLE = "nsynth.synth"  # which checkpoint when none is named: checkpoints/manifest [roles]

_lock = threading.Lock()
_cache: Any = None


def checkpoint_path(params: Any) -> Path:
    """`checkpoint` of the params (a struct or a dict: a name or a path), or the first
    installed model of the role."""
    from engine.checkpoints import ResolvedModel, resolve_model

    ref = (params.get("checkpoint") if isinstance(params, dict)
           else getattr(params, "checkpoint", None))
    if ref:
        p = Path(ref).expanduser()
        if p.exists() or Path(ref + ".index").exists() or "/" in ref:
            return p
    m: ResolvedModel = resolve_model(_Named(ref), ROLE)
    return m.path


class _Named:
    """A model name as resolve_model's choice (NSynth's `checkpoint` doubles as a name)."""

    def __init__(self, name: str | None) -> None:
        self.model, self.checkpoint, self.config = name, None, None


def get_model(params: Any):
    """The loaded NSynth for params.checkpoint, shared through the model pool."""
    from engine.models import pooled

    return pooled.nsynth(checkpoint_path(params))


def get_cache():
    global _cache
    from engine.models.nsynth_cache import EncodingCache

    with _lock:
        if _cache is None:
            _cache = EncodingCache()
        return _cache


def load_source(source: str, params: Any) -> tuple[np.ndarray, bool]:
    """(encoding [frames, 16], cached?) for a sound file or an .npy encoding."""
    path = Path(source).expanduser()
    if path.suffix.lower() == ".npy":
        readable_file(path, "sources", expect="an .npy encoding")  # np.load would block on a FIFO
        try:
            enc = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise BadInput(f"cannot read encoding {path}: {e}; encode the sound again with "
                           "`magstation nsynth encode`", path=str(path)) from e
        if enc.ndim == 3 and enc.shape[0] == 1:
            enc = enc[0]
        if enc.ndim != 2 or enc.shape[0] == 0:
            raise BadInput(f"{path} is not an NSynth encoding: expected [frames, 16], got "
                           f"{enc.shape}", path=str(path))
        return enc.astype(np.float32), True
    from engine.audio.io import load_audio

    audio = load_audio(path, what="sources")
    if audio.shape[0] < 512:
        raise BadInput(f"{path} is shorter than 32 ms (512 samples at 16 kHz); NSynth needs "
                       "at least one 512-sample frame", path=str(path))
    return get_cache().encode(get_model(params), audio)


def build_mix(spec: api.Mix | api.MixEncodings | str, params: Any) -> np.ndarray:
    """The encoding a mix spec describes (see the module doc)."""
    from engine.music import latent_mix

    if isinstance(spec, str):
        spec = api.Mix(sources=[spec])
    encs = [load_source(s, params)[0] for s in spec.sources]
    if len(encs) == 1:
        if spec.weights is not None or spec.xy is not None:
            raise BadRequest("weights and xy need 2-4 sources", param="sources")
        enc = encs[0]
    elif spec.xy is not None:
        enc = latent_mix.xy_mix(encs, spec.xy[0], spec.xy[1])
    else:
        weights = spec.weights if spec.weights is not None else [1.0] * len(encs)
        enc = latent_mix.mix(encs, weights)
    stretch = spec.stretch
    if stretch is not None and stretch != 1:
        enc = latent_mix.time_stretch(enc, stretch)
    return enc


def _work_dir(ctx: JobContext) -> Path:
    if ctx.work_dir is None:
        raise BadRequest("this job writes files and needs a work folder")
    return work_folder(ctx.work_dir)


def _save_npy(path: Path, enc: np.ndarray) -> Path:
    from engine.fsutil import atomic_write_bytes

    buf = io.BytesIO()
    np.save(buf, np.asarray(enc, np.float32), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def _names(params: api.Synth, n: int, default: str) -> list[str]:
    names = params.names
    if names is None:
        return [f"{default}{i + 1}" if n > 1 else default for i in range(n)]
    if len(names) != n:
        raise BadRequest(f"names must be a list of {n} names, one per mix", param="names")
    return [check_name(s, "names") for s in names]  # "../x" is refused, not cut down


@method("nsynth.encode")
def encode(params: api.Encode, ctx: JobContext) -> dict:
    """Encode sounds (`sounds`: list of paths) to NSynth encodings [frames, 16]; each is
    written as <name>_embeddings.npy in the job folder and kept in the encoding cache."""
    sounds = params.sounds
    out_dir = _work_dir(ctx)
    results = []
    for i, s in enumerate(sounds):
        ctx.progress(i, len(sounds), f"encoding {Path(str(s)).name}")
        enc, cached = load_source(s, params)
        npy = _save_npy(out_dir / f"{Path(s).stem}_embeddings.npy", enc)
        results.append({"sound": str(s), "npy_path": str(npy), "frames": int(enc.shape[0]),
                        "cached": cached})
    ctx.progress(len(sounds), len(sounds), "encoded")
    return {"encodings": results}


@method("nsynth.mix")
def mix(params: api.MixEncodings, ctx: JobContext) -> dict:
    """Blend 2-4 sources (`sources`) by `weights` or XY pad position `xy`, optionally
    time-stretched (`stretch`); writes the mixed encoding as <name>.npy."""
    enc = build_mix(params, params)
    name = params.name
    check_name(name, "name")
    npy = _save_npy(output_file(_work_dir(ctx), f"{Path(name).stem}.npy", overwrite=True,
                                what="name"), enc)
    return {"npy_path": str(npy), "frames": int(enc.shape[0]),
            "seconds": enc.shape[0] * 512 / 16000}


@method("nsynth.synth")
def synth(params: api.Synth, ctx: JobContext) -> dict:
    """Synthesize audio for up to 16 mixes at once (`mixes`: list of mix specs or .npy
    paths), sampled with `seed`. Writes one 16 kHz WAV per mix; cancelling keeps the audio
    made so far (`partial: true`)."""
    mixes = params.mixes
    seed = params.seed
    names = _names(params, len(mixes), "nsynth")
    encs = [build_mix(m, params) for m in mixes]
    model = get_model(params)
    frames = [e.shape[0] for e in encs]
    longest = max(frames)
    # One batch: shorter encodings are padded with their last frame and cut afterwards.
    batch = np.stack([np.concatenate([e, np.repeat(e[-1:], longest - e.shape[0], 0)])
                      for e in encs])

    def progress(done: int, total: int) -> None:
        try:
            ctx.progress(done, total, f"{done / 16000:.2f} s of {total / 16000:.2f} s")
        except JobCancelled:
            pass  # synthesize() sees ctx.cancelled and returns the partial audio

    result = model.synthesize(batch, seed=seed, progress=progress,
                              cancelled=lambda: ctx.cancelled)
    from engine.audio.io import write_wav

    out_dir = _work_dir(ctx)
    wavs = []
    for i, name in enumerate(names):
        audio = result.audio[i, : frames[i] * 512]
        if audio.size == 0:
            continue
        path = write_wav(output_file(out_dir, f"{Path(name).stem}.wav", overwrite=True,
                                     what="names"), audio, 16000, overwrite=True)
        wavs.append({"wav_path": str(path), "samples": int(audio.size),
                     "seconds": audio.size / 16000})
    return {"wavs": wavs, "partial": result.partial, "seed": seed,
            "samples_done": result.samples_done, "total_samples": result.total_samples,
            "elapsed_s": round(result.seconds, 3)}
