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

from engine.context import JobContext
from engine.errors import BadInput, BadRequest, JobCancelled
from engine.methods import method
from engine.pathpolicy import check_name, output_file, readable_file, work_folder

DEFAULT_CHECKPOINT = "nsynth-wavenet"
MAX_BATCH = 16

_lock = threading.Lock()
_model: Any = None  # the last NSynth loaded (one full model is ~240 MB)
_model_path: str | None = None
_cache: Any = None


def checkpoint_path(params: dict) -> Path:
    ref = params.get("checkpoint") or DEFAULT_CHECKPOINT
    if not isinstance(ref, str):
        raise BadRequest(f"checkpoint must be a name or a path, got {ref!r}")
    p = Path(ref).expanduser()
    if p.exists() or Path(ref + ".index").exists() or "/" in ref:
        return p
    from engine import checkpoints
    return checkpoints.resolve(ref)


def get_model(params: dict):
    """The loaded NSynth for params["checkpoint"], reused across jobs."""
    global _model, _model_path
    from engine.models.nsynth import NSynth

    key = str(checkpoint_path(params))
    with _lock:
        if _model is None or _model_path != key:
            _model, _model_path = None, None
            _model = NSynth.load(key)
            _model_path = key
        return _model


def get_cache():
    global _cache
    from engine.models.nsynth_cache import EncodingCache

    with _lock:
        if _cache is None:
            _cache = EncodingCache()
        return _cache


def load_source(source: Any, params: dict) -> tuple[np.ndarray, bool]:
    """(encoding [frames, 16], cached?) for a sound file or an .npy encoding."""
    if not isinstance(source, str):
        raise BadRequest(f"a source is the path of a sound or an .npy encoding, got {source!r}")
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


def build_mix(spec: Any, params: dict) -> np.ndarray:
    """The encoding a mix spec describes (see the module doc)."""
    from engine.music import latent_mix

    if isinstance(spec, str):
        spec = {"sources": [spec]}
    if not isinstance(spec, dict) or not isinstance(spec.get("sources"), list):
        raise BadRequest(f"a mix is {{'sources': [...], 'weights'|'xy': ...}}, got {spec!r}")
    encs = [load_source(s, params)[0] for s in spec["sources"]]
    if len(encs) == 1:
        if spec.get("weights") is not None or spec.get("xy") is not None:
            raise BadRequest("weights and xy need 2-4 sources")
        enc = encs[0]
    elif spec.get("xy") is not None:
        xy = spec["xy"]
        if not isinstance(xy, (list, tuple)) or len(xy) != 2:
            raise BadRequest(f"xy is [x, y] with both from 0 to 1, got {xy!r}")
        enc = latent_mix.xy_mix(encs, xy[0], xy[1])
    else:
        weights = spec.get("weights")
        if weights is None:
            weights = [1.0] * len(encs)
        if not isinstance(weights, list):
            raise BadRequest(f"weights is a list of numbers, got {weights!r}")
        enc = latent_mix.mix(encs, weights)
    stretch = spec.get("stretch")
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


def _names(params: dict, n: int, default: str) -> list[str]:
    names = params.get("names")
    if names is None:
        return [f"{default}{i + 1}" if n > 1 else default for i in range(n)]
    if not isinstance(names, list) or len(names) != n or not all(isinstance(s, str) for s in names):
        raise BadRequest(f"names must be a list of {n} strings")
    return [check_name(s, "names") for s in names]  # "../x" is refused, not cut down


@method("nsynth.encode", cacheable=False)
def encode(params: dict, ctx: JobContext) -> dict:
    """Encode sounds (`sounds`: list of paths) to NSynth encodings [frames, 16]; each is
    written as <name>_embeddings.npy in the job folder and kept in the encoding cache."""
    sounds = params.get("sounds")
    if not isinstance(sounds, list) or not sounds:
        raise BadRequest("nsynth.encode needs `sounds`: a list of sound file paths")
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


@method("nsynth.mix", cacheable=False)
def mix(params: dict, ctx: JobContext) -> dict:
    """Blend 2-4 sources (`sources`) by `weights` or XY pad position `xy`, optionally
    time-stretched (`stretch`); writes the mixed encoding as <name>.npy."""
    enc = build_mix(params, params)
    name = params.get("name") or "mix"
    if not isinstance(name, str):
        raise BadRequest(f"name must be a string, got {name!r}")
    check_name(name, "name")
    npy = _save_npy(output_file(_work_dir(ctx), f"{Path(name).stem}.npy", overwrite=True,
                                what="name"), enc)
    return {"npy_path": str(npy), "frames": int(enc.shape[0]),
            "seconds": enc.shape[0] * 512 / 16000}


@method("nsynth.synth", cacheable=False, seeded=True)
def synth(params: dict, ctx: JobContext) -> dict:
    """Synthesize audio for up to 16 mixes at once (`mixes`: list of mix specs or .npy
    paths), sampled with `seed`. Writes one 16 kHz WAV per mix; cancelling keeps the audio
    made so far (`partial: true`)."""
    mixes = params.get("mixes")
    if not isinstance(mixes, list) or not mixes:
        raise BadRequest("nsynth.synth needs `mixes`: a list of mix specs or .npy paths")
    if len(mixes) > MAX_BATCH:
        raise BadRequest(f"at most {MAX_BATCH} mixes per job (got {len(mixes)}); split them")
    seed = params.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise BadRequest(f"seed must be a non-negative integer, got {seed!r}")
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
