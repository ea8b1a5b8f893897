"""MIDI files <-> NoteSequences.

Reading names the file in every error. Writing is atomic, keeps the sequence's tempo,
puts drums (is_drum) on MIDI channel 10, and never writes negative times.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import note_seq
from note_seq import NoteSequence

from engine.errors import BadInput
from engine.fsutil import atomic_write
from engine.pathpolicy import read_bytes
from engine.music.sequences import TICKS_PER_QUARTER


MAX_MIDI_BYTES = 64 * 2**20  # far above any song; a bigger "MIDI file" is a mistake


def read_midi(path: str | os.PathLike, *, expect_drums: bool = False,
              what: str = "path") -> NoteSequence:
    """Read a MIDI file. BadInput (naming the file and the parameter `what`) when it is
    missing, not a regular file (a folder, FIFO or device is refused without blocking),
    not MIDI, corrupt, has no notes, or -- with `expect_drums` -- has no drum notes."""
    p = Path(path).expanduser()
    data = read_bytes(p, what, expect="a MIDI file (.mid)", noun="MIDI file",
                      max_bytes=MAX_MIDI_BYTES)
    if not data:
        raise BadInput(f"{p}: the file is empty; export the MIDI again", path=str(p))
    try:
        ns = note_seq.midi_to_note_sequence(data)
    except Exception as e:  # pretty_midi/mido raise many types on bad files
        raise BadInput(f"{p}: not a readable MIDI file ({type(e).__name__}: {e}); "
                       f"re-export it as a standard MIDI file (.mid)", path=str(p)) from None
    ns.filename = str(p)
    if not any(n.velocity > 0 for n in ns.notes):
        raise BadInput(f"{p}: the MIDI file has no notes", path=str(p))
    if expect_drums and not any(n.is_drum for n in ns.notes):
        raise BadInput(f"{p}: no drum notes; drums must be on MIDI channel 10 "
                       f"(General MIDI percussion)", path=str(p))
    return ns


def sequence_to_midi_bytes(ns: NoteSequence) -> bytes:
    """Standard MIDI file bytes for a sequence (magenta's export path through pretty_midi)."""
    seq = NoteSequence()
    seq.CopyFrom(ns)
    if not seq.ticks_per_quarter:
        seq.ticks_per_quarter = TICKS_PER_QUARTER
    for n in seq.notes:
        if n.start_time < 0:  # GrooVAE's early first hit can start before 0
            n.start_time = 0.0
            n.end_time = max(n.end_time, 0.01)
        if n.velocity < 1:  # a velocity-0 note-on is a note-off in MIDI: keep the hit
            n.velocity = 1
    pm = note_seq.note_sequence_to_pretty_midi(seq)
    # note_seq adds an instrument 0 track holding only a program change: not a part
    pm.instruments = [i for i in pm.instruments if i.notes or i.control_changes or i.pitch_bends]
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def write_midi(ns: NoteSequence, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write `ns` to `path` atomically (temp file + rename). With `overwrite=False` an
    existing file is never replaced (OutputExists), even one that appears meanwhile."""
    data = sequence_to_midi_bytes(ns)
    return atomic_write(path, lambda fh: fh.write(data), replace=overwrite)


def drum_midi_bytes(ns: NoteSequence) -> bytes:
    """A drum part as a standard MIDI file with exactly two tracks: the tempo track (tempo
    and time signature at the start) and one drum track, every note on channel 10. Nothing
    else: no program change, no empty tracks. Times are taken at the first tempo."""
    import mido

    from engine.music.drums import DRUM_CHANNEL

    tpq = TICKS_PER_QUARTER
    qpm = ns.tempos[0].qpm if ns.tempos else 120.0
    num, den = ((ns.time_signatures[0].numerator, ns.time_signatures[0].denominator)
                if ns.time_signatures else (4, 4))

    def tick(t: float) -> int:
        return max(0, int(round(t * qpm / 60.0 * tpq)))

    events = []  # (tick, order, message): note-offs before note-ons at the same tick
    for n in ns.notes:
        on, off = tick(n.start_time), tick(n.end_time)
        off = max(off, on + 1)
        vel = max(1, min(127, int(n.velocity)))
        events.append((on, 1, n.pitch, mido.Message("note_on", channel=DRUM_CHANNEL,
                                                    note=int(n.pitch), velocity=vel)))
        events.append((off, 0, n.pitch, mido.Message("note_off", channel=DRUM_CHANNEL,
                                                     note=int(n.pitch), velocity=0)))
    events.sort(key=lambda e: e[:3])
    meta = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm), time=0),
        mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0),
        mido.MetaMessage("end_of_track", time=0)])
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="Drums", time=0)])
    now = 0
    for t, _, _, msg in events:
        drums.append(msg.copy(time=t - now))
        now = t
    drums.append(mido.MetaMessage("end_of_track", time=0))
    mf = mido.MidiFile(type=1, ticks_per_beat=tpq, tracks=[meta, drums])
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def write_drum_midi(ns: NoteSequence, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """`drum_midi_bytes(ns)` written atomically (see `write_midi`)."""
    data = drum_midi_bytes(ns)
    return atomic_write(path, lambda fh: fh.write(data), replace=overwrite)
