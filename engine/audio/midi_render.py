"""A NoteSequence played through a SoundFont, as a General MIDI synthesizer would.

Every track (note_seq's `instrument`) gets a MIDI channel with its program; drum tracks
share channel 10 and play the kit of their program (bank 128). Control changes (volume,
pan, expression, ...) and pitch bends go to their track's channel; the sustain pedal
(CC 64), which the synthesizer ignores, is played here by holding back the note-offs of
its channel until the pedal is released. Events are placed to the sample; after the last
note the tails ring out until silent (at most TAIL_MAX_S).
The result is float32 stereo (frames x 2), scaled down as a whole only if it would clip.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.errors import BadInput
from engine.audio.soundfont import DRUM_CHANNEL, SILENCE, SoundFontFile, select_program

MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)  # 15 of them
TAIL_MAX_S = 4.0
SUSTAIN_PEDAL = 64  # CC 64; TinySoundFont ignores it, so the note-offs wait here
TAIL_BLOCK_S = 0.05
MAX_SECONDS = 3600.0  # an hour of stereo at 44.1 kHz is 1.3 GB of float32 already


@dataclass
class Rendered:
    audio: np.ndarray  # float32, frames x 2
    rate: int
    channels: dict[int, dict] = field(default_factory=dict)  # track -> {channel, preset}
    warnings: list[str] = field(default_factory=list)


def assign_channels(tracks: dict[int, tuple[int, bool]]) -> tuple[dict[int, int], list[str]]:
    """`tracks`: track -> (program, is_drum). A channel per pitched track in order (15 of
    them); more tracks share: a channel already playing the same program, else the one
    with the fewest tracks (and a warning). Drum tracks all play on channel 10."""
    out: dict[int, int] = {}
    warnings = []
    programs: dict[int, int] = {}  # channel -> program
    users: dict[int, int] = {c: 0 for c in MELODIC_CHANNELS}
    for track, (program, is_drum) in sorted(tracks.items()):
        if is_drum:
            out[track] = DRUM_CHANNEL
            continue
        free = [c for c in MELODIC_CHANNELS if users[c] == 0]
        same = [c for c, p in programs.items() if p == program]
        if free:
            ch = free[0]
        elif same:
            ch = same[0]
        else:
            ch = min(MELODIC_CHANNELS, key=lambda c: users[c])
            warnings.append(f"track {track} (program {program}) shares MIDI channel {ch + 1} "
                            f"with program {programs[ch]}: more than 15 pitched tracks")
        programs.setdefault(ch, program)
        users[ch] += 1
        out[track] = ch
    return out, warnings


# Order of events at the same instant: controls first (a pedal or program is in place
# before the note), note-offs before note-ons (a repeated note is re-struck, not cut).
_CONTROL, _OFF, _ON = 0, 1, 2


def render_sequence(ns, soundfont: SoundFontFile, rate: int = 44100, *,
                    progress: Callable[[float, float], None] | None = None) -> Rendered:
    """Play the NoteSequence `ns` (velocity-0 and zero-length notes are skipped).
    `progress(done, total)` (samples) is called about once per second of audio; a job's
    progress raises when the job is cancelled, which stops the render."""
    notes = [n for n in ns.notes if n.velocity > 0 and n.end_time > n.start_time]
    tracks: dict[int, tuple[int, bool]] = {}
    for n in notes:
        tracks.setdefault(int(n.instrument), (int(n.program), bool(n.is_drum)))
    channel_of, warnings = assign_channels(tracks)
    synth, sfid = soundfont.synth(rate)
    result = Rendered(np.zeros((0, 2), np.float32), rate, warnings=warnings)
    kit: tuple[int, str] | None = None  # channel 10 plays one kit: the first drum track's
    for track, (program, is_drum) in sorted(tracks.items()):
        ch = channel_of[track]
        if not is_drum:
            preset = select_program(synth, sfid, ch, program, drums=False)
        elif kit is None:
            kit = (program, select_program(synth, sfid, ch, program, drums=True))
            preset = kit[1]
        else:
            preset = kit[1]
            if program != kit[0]:
                warnings.append(f"drum track {track} asks for kit {program}; MIDI channel 10 "
                                f"plays one kit, {kit[0]} ({kit[1]})")
        result.channels[track] = {"channel": ch + 1, "program": program, "preset": preset}

    events: list[tuple[int, int, tuple]] = []  # (sample, order, action)

    def at(t: float) -> int:
        return max(0, int(round(float(t) * rate)))

    for n in notes:
        ch = channel_of[int(n.instrument)]
        events.append((at(n.start_time), _ON, ("on", ch, int(n.pitch), int(n.velocity))))
        events.append((at(n.end_time), _OFF, ("off", ch, int(n.pitch))))
    for cc in ns.control_changes:
        ch = channel_of.get(int(cc.instrument))
        if ch is not None:
            events.append((at(cc.time), _CONTROL,
                           ("cc", ch, int(cc.control_number), int(cc.control_value))))
    for pb in ns.pitch_bends:
        ch = channel_of.get(int(pb.instrument))
        if ch is not None:
            events.append((at(pb.time), _CONTROL,
                           ("bend", ch, min(16383, max(0, int(pb.bend) + 8192)))))
    events.sort(key=lambda e: (e[0], e[1]))
    end = events[-1][0] if events else 0
    if end > MAX_SECONDS * rate:
        raise BadInput(f"{ns.filename or 'the MIDI file'}: {end / rate:.0f} s is too long to "
                       f"render at once (limit {MAX_SECONDS:.0f} s); split it",
                       path=ns.filename or None)

    tail_max = int(TAIL_MAX_S * rate)
    out = np.zeros((end + tail_max, 2), np.float32)
    pedal: set[int] = set()  # channels whose sustain pedal is down
    held: dict[int, set[int]] = defaultdict(set)  # their released keys, still sounding
    pos = 0
    step = max(1, rate)  # progress and cancel checks about once per second of audio
    next_report = step
    for sample, _, action in events:
        while pos < sample:  # render up to the event, a second at a time
            n = min(sample, pos + step) - pos
            synth.generate_simple(n, buffer=memoryview(out[pos:pos + n]).cast("B"))
            pos += n
            if pos >= next_report:
                next_report = pos + step
                if progress is not None:
                    progress(pos, end)
        kind, ch = action[0], action[1]
        if kind == "on":
            synth.noteon(ch, action[2], action[3])
        elif kind == "off":
            if ch in pedal:
                held[ch].add(action[2])  # the damper stays up until the pedal is released
            else:
                synth.noteoff(ch, action[2])
        elif kind == "cc":
            if action[2] == SUSTAIN_PEDAL:
                if action[3] >= 64:
                    pedal.add(ch)
                else:
                    pedal.discard(ch)
                    for key in sorted(held.pop(ch, ())):
                        synth.noteoff(ch, key)
            synth.control_change(ch, action[2], action[3])
        else:
            synth.pitchbend(ch, action[2])
    block = max(1, int(TAIL_BLOCK_S * rate))
    while pos < len(out):  # the tails, until a block is silent
        n = min(block, len(out) - pos)
        piece = out[pos:pos + n]
        synth.generate_simple(n, buffer=memoryview(piece).cast("B"))
        pos += n
        if np.abs(piece).max() < SILENCE:
            break
    audio = out[:pos]
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak > 0.99:
        audio *= 0.99 / peak
    if progress is not None:
        progress(end, end)
    result.audio = audio
    return result
