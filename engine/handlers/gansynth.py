"""`gansynth.render`: a MIDI file rendered note by note with GANSynth into one WAV.

No TensorFlow at import time: the model module is imported inside the job.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np

from engine.context import JobContext
from engine.errors import BadInput, BadRequest, ModelNotInstalled
from engine.fsutil import atomic_write_bytes
from engine.methods import method

DEFAULT_SECS_PER_INSTRUMENT = 6.0  # gansynth_generate.py's flag default

_models: dict[str, object] = {}
_models_lock = threading.Lock()


def read_midi_notes(path: str | os.PathLike, include_drums: bool = False):
    """All notes of a MIDI file as `NoteArrays` (instrument by instrument, as
    note_seq orders them), plus warnings. Kept small and local on purpose: the
    engine's MIDI helpers can replace it."""
    import pretty_midi

    from engine.models.gansynth import NoteArrays

    path = Path(path)
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except FileNotFoundError:
        raise BadInput(f"MIDI file {path} does not exist", path=str(path)) from None
    except Exception as e:  # noqa: BLE001 - pretty_midi/mido raise many types
        raise BadInput(f"{path} is not a readable MIDI file ({e}); export it again as a "
                       "standard MIDI file (.mid)", path=str(path)) from None
    warnings: list[str] = []
    notes = []
    drums = 0
    for inst in pm.instruments:
        if inst.is_drum and not include_drums:
            drums += len(inst.notes)
            continue
        notes += [(n.pitch, n.velocity, n.start, n.end) for n in inst.notes]
    if drums:
        warnings.append(f"skipped {drums} drum-channel notes (GANSynth plays pitched notes)")
    if not notes:
        raise BadInput(f"{path} has no notes GANSynth can play", path=str(path))
    a = np.array(notes, np.float64)
    return NoteArrays(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3]), \
        warnings


def resolve_checkpoint(params: dict) -> Path:
    """`checkpoint` (a folder) wins; else `model` (a name such as acoustic_only) through
    engine.checkpoints, or under the checkpoints folder where that module is absent."""
    from engine import paths

    if params.get("checkpoint"):
        return Path(params["checkpoint"]).expanduser()
    name = str(params.get("model") or "acoustic_only")
    try:
        from engine.checkpoints import resolve
    except ImportError:
        resolve = None
    if resolve is not None:
        return Path(resolve(name if name.startswith("gansynth-") else f"gansynth-{name}"))
    for cand in (paths.checkpoints_dir() / f"gansynth-{name}", paths.checkpoints_dir() / name):
        found = sorted(cand.rglob("experiment.json")) if cand.is_dir() else []
        if found:
            return found[0].parent
    raise ModelNotInstalled(
        f"GANSynth model {name!r} is not installed: `magstation models pull gansynth-{name}` "
        "or pass --checkpoint FOLDER (the unzipped checkpoint)", model=name)


def load_model(ckpt: Path):
    """Load once per engine process; later jobs reuse the loaded generator (and cache)."""
    from engine.models.gansynth import GANSynth

    key = str(ckpt.resolve())
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = GANSynth.load(ckpt)
    return model


def _keyframes(params: dict, model, total_time: float) -> tuple[np.ndarray, np.ndarray]:
    """Explicit keyframes ({"time", "z"} or {"time", "seed"}) or Magenta's evenly spaced
    random instruments, one every `secs_per_instrument` seconds (at least two).

    `total_time` is the latest note end (Magenta takes the end of the last note in file
    order, which differs only for multi-track files)."""
    from engine.music.latent import keyframe_times

    seed = int(params.get("seed", 0))
    keys = params.get("keyframes")
    if keys:
        times, zs = [], []
        for k in sorted(keys, key=lambda k: float(k["time"])):
            times.append(float(k["time"]))
            if "z" in k:
                z = np.asarray(k["z"], np.float32)
                if z.shape != (model.config.latent_size,):
                    raise BadRequest(f"keyframe z must have {model.config.latent_size} values")
            else:
                z = model.random_instruments(1, int(k.get("seed", seed)))[0]
            zs.append(z)
        if len(times) == 1:  # one keyframe: the same instrument throughout
            times.append(times[0] + 1.0)
            zs.append(zs[0])
        return np.array(times), np.stack(zs)
    secs = float(params.get("secs_per_instrument", DEFAULT_SECS_PER_INSTRUMENT))
    if secs <= 0:
        raise BadRequest("secs_per_instrument must be positive")
    n = max(2, int(total_time / secs))
    return keyframe_times(total_time, n), model.random_instruments(n, seed)


# Not cacheable by params: the MIDI file behind the path may change. Re-renders are
# cheap anyway, the per-note cache in the model skips every unchanged note.
@method("gansynth.render", cacheable=False)
def render(params: dict, ctx: JobContext) -> dict:
    """Render a MIDI file with GANSynth. Params: midi, seed, secs_per_instrument |
    keyframes [{time, z|seed}], checkpoint (folder) | model (name), output (file name
    in the job folder), batch_size, include_drums. Returns path, duration, notes,
    notes_rendered, notes_cached, warnings, keyframe times."""
    import soundfile as sf

    from engine.models.gansynth import render_arrangement

    if not params.get("midi"):
        raise BadRequest("gansynth.render needs `midi`: the path of a MIDI file")
    notes, warnings = read_midi_notes(params["midi"], bool(params.get("include_drums")))
    model = load_model(resolve_checkpoint(params))
    key_times, key_z = _keyframes(params, model, float(notes.end_times.max()))
    result = render_arrangement(
        model, notes, key_times, key_z, batch_size=params.get("batch_size"),
        progress=lambda done, total: ctx.progress(done, total, "rendering notes"),
        cancelled=lambda: ctx.cancelled)
    warnings += result.warnings

    work_dir = Path(ctx.work_dir or ".")
    name = params.get("output") or f"gansynth_seed{int(params.get('seed', 0))}.wav"
    buf = io.BytesIO()
    sf.write(buf, result.audio, result.sample_rate, format="WAV", subtype="PCM_16")
    out = atomic_write_bytes(work_dir / name, buf.getvalue())
    return {
        "path": str(out),
        "duration": len(result.audio) / result.sample_rate,
        "sample_rate": result.sample_rate,
        "notes": len(notes),
        "notes_rendered": result.notes_rendered,
        "notes_cached": result.notes_cached,
        "warnings": warnings,
        "keyframe_times": [float(t) for t in key_times],
        "seed": int(params.get("seed", 0)),
    }
