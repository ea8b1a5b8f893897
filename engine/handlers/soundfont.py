"""`soundfont.render`: a MIDI file (plus notes laid over it) played through a SoundFont.

No model and no TensorFlow: the General MIDI SoundFont that ships makes every MIDI file
audible before any checkpoint is installed (engine/audio/midi_render.py).
"""

from __future__ import annotations

from pathlib import Path

from engine.api import soundfont as api
from engine.context import JobContext
from engine.errors import BadRequest
from engine.methods import method
from engine.pathpolicy import check_name, output_file, work_folder

DEFAULT_OUTPUT = "soundfont.wav"


def arrangement(params: api.Render):
    """The NoteSequence to play: the file's chosen tracks plus `add` (a track number the
    file does not have becomes a piano track, as timeline.save_midi makes it)."""
    from note_seq import NoteSequence

    from engine.music.arrangement import tracks_of
    from engine.music.midi_io import read_midi

    ns = read_midi(Path(params.midi).expanduser(), what="midi")
    known = {t.index: t for t in tracks_of(ns)}
    wanted = set(known) if params.tracks is None else {int(t) for t in params.tracks}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise BadRequest(f"{ns.filename} has no track {unknown[0]}; its tracks are "
                         f"{', '.join(str(i) for i in sorted(known))}", param="tracks")
    out = NoteSequence()
    out.filename = ns.filename
    out.ticks_per_quarter = ns.ticks_per_quarter or 220
    out.tempos.extend(ns.tempos)
    out.time_signatures.extend(ns.time_signatures)
    out.key_signatures.extend(ns.key_signatures)
    out.instrument_infos.extend(ns.instrument_infos)
    out.notes.extend(n for n in ns.notes if n.instrument in wanted and n.velocity > 0
                     and n.end_time > n.start_time)
    out.control_changes.extend(c for c in ns.control_changes if c.instrument in wanted)
    out.pitch_bends.extend(b for b in ns.pitch_bends if b.instrument in wanted)
    for row in params.add:
        s, e, p, v, track = row
        if not s < e or v == 0:
            raise BadRequest(f"bad note {list(row)!r} in `add`: need 0 <= start < end, "
                             "pitch 0-127, velocity 1-127, track >= 0", param="add")
        t = known.get(track)
        out.notes.add(start_time=s, end_time=e, pitch=p, velocity=v, instrument=track,
                      program=t.program if t else 0, is_drum=t.is_drum if t else False)
    if not out.notes:
        raise BadRequest(f"nothing to play in {ns.filename}: choose at least one track with "
                         "notes", param="tracks")
    out.total_time = max(n.end_time for n in out.notes)
    return out


@method("soundfont.render")
def render(params: api.Render, ctx: JobContext) -> dict:
    """Params: midi, tracks (all when absent), add (notes laid over the file), soundfont
    (a .sf2 path or `gm`, the default), output (a file name in the job folder),
    sample_rate. Returns path (stereo WAV), midi_path (the notes as played), duration,
    sample_rate, notes, tracks, channels {track: {channel, program, preset}},
    soundfont (its path), renderer "soundfont", warnings."""
    import io

    import soundfile as sf

    from engine.audio.midi_render import render_sequence
    from engine.audio.soundfont import load_soundfont, resolve_soundfont
    from engine.fsutil import atomic_write_bytes
    from engine.music.midi_io import write_midi

    name = params.output or DEFAULT_OUTPUT
    check_name(name, "output")
    font = load_soundfont(resolve_soundfont(params.soundfont), "soundfont")
    ns = arrangement(params)
    rate = params.sample_rate
    result = render_sequence(ns, font, rate, progress=lambda done, total: ctx.progress(
        done, total, f"playing with {font.name}"))
    work_dir = work_folder(ctx.work_dir or ".")
    target = output_file(work_dir, name, overwrite=True, what="output")
    buf = io.BytesIO()
    sf.write(buf, result.audio, rate, format="WAV", subtype="PCM_16")
    out = atomic_write_bytes(target, buf.getvalue())
    midi_out = write_midi(ns, out.with_suffix(".mid"))
    return {
        "path": str(out),
        "midi_path": str(midi_out),
        "duration": len(result.audio) / rate,
        "sample_rate": rate,
        "notes": len(ns.notes),
        "tracks": sorted({int(n.instrument) for n in ns.notes}),
        "channels": {str(k): v for k, v in sorted(result.channels.items())},
        "soundfont": str(font.path),
        "renderer": "soundfont",
        "warnings": result.warnings,
    }
