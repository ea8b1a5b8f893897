"""`gansynth.render`: a MIDI file rendered note by note with GANSynth into one WAV.

No TensorFlow at import time: the model module is imported inside the job.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from engine.api import gansynth as api
from engine.api.base import ModelChoice
from engine.context import JobContext
from engine.errors import BadRequest
from engine.fsutil import atomic_write_bytes
from engine.methods import method
from engine.pathpolicy import check_name, output_file, work_folder

DEFAULT_SECS_PER_INSTRUMENT = 6.0  # gansynth_generate.py's flag default
ROLE = "gansynth.render"  # which model when none is named: checkpoints/manifest [roles]


def read_midi_notes(path: str | os.PathLike, include_drums: bool = False,
                    tracks: list[int] | None = None):
    """The notes GANSynth plays from a MIDI file as `NoteArrays` (track by track, as
    note_seq orders them), the notes themselves and warnings."""
    notes, warnings, _ = _read_chosen(path, include_drums, tracks)
    return _arrays(notes), warnings


def _read_chosen(path, include_drums: bool, tracks: list[int] | None):
    from engine.music.arrangement import chosen_notes
    from engine.music.midi_io import read_midi

    ns = read_midi(Path(path).expanduser(), what="midi")
    notes, warnings = chosen_notes(ns, tracks, include_drums)
    return notes, warnings, ns


def _arrays(notes):
    from engine.models.gansynth import NoteArrays

    a = np.array([(n.pitch, n.velocity, n.start_time, n.end_time) for n in notes], np.float64)
    return NoteArrays(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3])


def resolve_checkpoint(params: ModelChoice) -> Path:
    """`checkpoint` (a folder) wins; else `model` (a name such as acoustic_only or
    gansynth-acoustic_only); else the first installed model of the role."""
    from engine.checkpoints import lookup, resolve_model

    if params.checkpoint:
        return Path(params.checkpoint).expanduser()
    name = params.model
    if name and lookup(name) is None and lookup(f"gansynth-{name}") is not None:
        name = f"gansynth-{name}"
    if name:
        return resolve_model(ModelChoice(model=name), ROLE).path
    return resolve_model(params, ROLE).path


def load_model(ckpt: Path, precision: str = "float32"):
    """The loaded generator for a checkpoint folder (and precision), shared through the
    model pool: later jobs reuse it (and its note cache)."""
    from engine.models import pooled

    return pooled.gansynth(ckpt, precision)


def _keyframes(params: api.Render, model, total_time: float) -> tuple[np.ndarray, np.ndarray]:
    """Explicit keyframes ({"time", "z"} or {"time", "seed"}) or Magenta's evenly spaced
    random instruments, one every `secs_per_instrument` seconds (at least two).

    `total_time` is the latest note end (Magenta takes the end of the last note in file
    order, which differs only for multi-track files)."""
    from engine.music.latent import keyframe_times

    seed = params.seed
    keys = params.keyframes
    if keys:
        times: list[float] = []
        zs = []
        for k in sorted(keys, key=lambda k: k.time):
            if times and k.time <= times[-1]:
                raise BadRequest(f"two keyframes at {k.time:.3f} s; move one of them",
                                 param="keyframes")
            times.append(k.time)
            if k.z is not None:
                z = np.asarray(k.z, np.float32)
                if z.shape != (model.config.latent_size,):
                    raise BadRequest(f"keyframe z must have {model.config.latent_size} values",
                                     param="keyframes")
            else:
                z = model.random_instruments(1, k.seed if k.seed is not None else seed)[0]
            zs.append(z)
        if len(times) == 1:  # one keyframe: the same instrument throughout
            times.append(times[0] + 1.0)
            zs.append(zs[0])
        return np.array(times), np.stack(zs)
    secs = params.secs_per_instrument
    n = max(2, int(total_time / secs))
    return keyframe_times(total_time, n), model.random_instruments(n, seed)


# Not cacheable by params: the MIDI file behind the path may change. Re-renders are
# cheap anyway, the per-note cache in the model skips every unchanged note.
@method("gansynth.render")
def render(params: api.Render, ctx: JobContext) -> dict:
    """Render a MIDI file with GANSynth. Params: midi, tracks (track numbers as
    timeline.load_midi lists them; all when absent), seed, secs_per_instrument |
    keyframes [{time, z|seed}] (the instrument is held before the first and after the
    last), checkpoint (folder) | model (name), output (file name in the job folder),
    batch_size, include_drums, precision ("float32": Magenta's numbers; "bfloat16":
    faster convs on CPUs with AMX, close but not the same). Returns path, midi_path (the
    notes as played), duration, notes, notes_rendered, notes_cached, warnings
    (octave-shifted pitches, skipped drums), keyframe times."""
    import soundfile as sf

    from engine.models.gansynth import render_arrangement
    from engine.music.arrangement import played_sequence
    from engine.music.midi_io import write_midi

    if params.output:
        check_name(params.output, "output")  # before the long render, not after
    chosen, warnings, ns = _read_chosen(params.midi, params.include_drums, params.tracks)
    notes = _arrays(chosen)
    model = load_model(resolve_checkpoint(params), params.precision)
    key_times, key_z = _keyframes(params, model, float(notes.end_times.max()))
    result = render_arrangement(
        model, notes, key_times, key_z, batch_size=params.batch_size,
        progress=lambda done, total: ctx.progress(done, total, "rendering notes"),
        cancelled=lambda: ctx.cancelled, hold_outside=bool(params.keyframes))
    warnings += result.warnings

    work_dir = work_folder(ctx.work_dir or ".")  # the job's folder (the CLI: -o's folder)
    name = params.output or f"gansynth_seed{params.seed}.wav"
    target = output_file(work_dir, name, overwrite=True, what="output")  # a name, not a path
    buf = io.BytesIO()
    sf.write(buf, result.audio, result.sample_rate, format="WAV", subtype="PCM_16")
    out = atomic_write_bytes(target, buf.getvalue())
    midi_out = write_midi(played_sequence(ns, chosen, result.pitches), out.with_suffix(".mid"))
    return {
        "path": str(out),
        "midi_path": str(midi_out),
        "tracks": sorted({int(n.instrument) for n in chosen}),
        "duration": len(result.audio) / result.sample_rate,
        "sample_rate": result.sample_rate,
        "notes": len(notes),
        "notes_rendered": result.notes_rendered,
        "notes_cached": result.notes_cached,
        "warnings": warnings,
        "keyframe_times": [float(t) for t in key_times],
        "seed": params.seed,
    }


@method("gansynth.random_z")
def random_z(params: api.RandomZ, ctx: JobContext) -> dict:
    size = params.latent_size
    seeds = params.seeds or [params.seed]
    # Model.random_instruments(1, seed)[0], without importing the model (TF).
    zs = [np.random.RandomState(s).normal(size=(1, size)).astype(np.float32)[0] for s in seeds]
    return {"z": [[float(v) for v in z] for z in zs], "seeds": seeds}
