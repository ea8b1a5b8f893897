"""Arrangement timeline: read a MIDI file for the piano roll, export a render.

Rendering itself is `gansynth.render` (engine/handlers/gansynth.py); these are the
pieces around it. No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path

from engine.api import timeline as api
from engine.context import JobContext
from engine.errors import BadInput, BadRequest
from engine.fsutil import atomic_write, written_together
from engine.methods import method
from engine.pathpolicy import check_name, output_path, planned_outputs, read_bytes


@method("timeline.load_midi")
def load_midi(params: api.LoadMidi, ctx: JobContext) -> dict:
    """Read a MIDI file: `path` -> tracks [{index, program, name, is_drum, notes}], notes
    [[start, end, pitch, velocity, track]...], qpm, time_signature, bar_seconds,
    total_time, path (absolute)."""
    from engine.music.arrangement import summary
    from engine.music.midi_io import read_midi

    p = Path(params.path).expanduser().resolve()
    if p.is_dir():
        raise BadInput(f"{p} is a folder; give a MIDI file (.mid)", path=str(p))
    return {"path": str(p), **summary(read_midi(p, what="path"))}


@method("timeline.export")
def export(params: api.Export, ctx: JobContext) -> dict:
    """Copy a render into `folder`: the WAV (`path`, from gansynth.render; `rate`
    resamples it, `format` PCM_16/PCM_24/FLOAT) and the MIDI of the notes as played (`midi_path`), as `name`.wav/.mid.
    Nothing is overwritten unless `overwrite`; OutputExists lists what is there."""
    from engine.audio.io import read_audio, write_wav
    src, folder = params.path, params.folder
    src_p = Path(src)
    if not src_p.exists():
        raise BadInput(f"{src_p} is gone (the engine's job folder was cleared); render again",
                       path=str(src_p))
    name = check_name(params.name or src_p.stem, "name").removesuffix(".wav")
    midi_src = params.midi_path
    overwrite = params.overwrite
    # only inside `folder` (made if just it is missing, never its parents); nothing
    # replaced unless `overwrite`
    planned = planned_outputs(folder, [f"{name}.wav"] + ([f"{name}.mid"] if midi_src else []),
                              overwrite=overwrite, what="name")
    samples, rate = read_audio(src_p, max_seconds=None, mono=False)  # a stereo preview stays so
    midi_bytes = read_bytes(midi_src, "midi_path", expect="a MIDI file (.mid)") if midi_src else b""
    out_rate = params.rate or rate
    # both files are written beside their targets first and placed together: an export
    # is the WAV and its MIDI, or nothing
    with written_together(planned, overwrite) as (wav_tmp, *midi_tmp):
        write_wav(wav_tmp, samples, rate, out_rate=out_rate, overwrite=True,
                  subtype=params.format, progress=lambda d, t, m: ctx.progress(d, t + 1, m))
        if midi_src:
            atomic_write(midi_tmp[0], lambda fh: fh.write(midi_bytes), replace=True)
    ctx.progress(1, 1, "done")
    return {"files": [str(t) for t in planned], "rate": out_rate}


@method("timeline.save_midi")
def save_midi(params: api.SaveMidi, ctx: JobContext) -> dict:
    """Write the arrangement as edited: the MIDI file `midi` plus the notes `add`
    ([[start, end, pitch, velocity, track]...], seconds; a track number the file does not
    have becomes a new piano track, numbered after the file's tracks when read back) to
    `path` (atomically). An existing file is only replaced with `overwrite` (the pane's
    working copy passes it); `path`'s folder must exist (inside the engine's home it is
    made). -> {path, notes}: the notes now in the file."""
    from engine.music.midi_io import read_midi, write_midi

    src, dst, add = params.midi, params.path, params.add
    ns = read_midi(src, what="midi")
    programs = {n.instrument: (n.program, n.is_drum) for n in ns.notes}
    for row in add:
        s, e, p, v, track = row
        if not s < e or v == 0:
            raise BadRequest(f"bad note {row!r}: need 0 <= start < end, pitch 0-127, "
                             "velocity 1-127, track >= 0")
        program, is_drum = programs.get(track, (0, False))
        ns.notes.add(start_time=s, end_time=e, pitch=p, velocity=v, instrument=track,
                     program=program, is_drum=is_drum)
        ns.total_time = max(ns.total_time, e)
    overwrite = params.overwrite
    out = output_path(dst, overwrite=overwrite, what="path")  # its folder must exist
    write_midi(ns, out, overwrite=overwrite)
    return {"path": str(out), "notes": sum(1 for n in ns.notes if n.velocity > 0)}
