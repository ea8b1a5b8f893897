"""SoundFonts: find, check and load an .sf2 file, and play it with `tinysoundfont`.

`tinysoundfont` (TinySoundFont's C synthesizer, MIT) plays a SoundFont fully: volume
and modulation envelopes, sample loops, velocity layers, key ranges, exclusive classes
(a closed hi-hat chokes the open one), and its own voices per MIDI channel. Two users:

- `engine.audio.midi_render.render_sequence`: a whole NoteSequence, 16 channels, drums
  on channel 10 (the timeline's preview and export without a model, `soundfont.render`);
- `SoundFontKit`: one-shots for the drum sampler (engine/audio/drum_kit.py), one per
  pitch and velocity, so the drum grid plays a full General MIDI kit.

The default SoundFont is the General MIDI one that `pretty_midi` ships (TimGM6mb.sf2,
about 6 MB, GPL-2.0; docs/soundfont.md). A parameter value of `gm` names it.

    sf = load_soundfont(resolve_soundfont(None))     # the General MIDI SoundFont
    kit = SoundFontKit(sf, rate=44100)
    audio = render_drums(hits, 44100, kit=kit)
"""

from __future__ import annotations

import functools
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import BadInput
from engine.pathpolicy import read_bytes, readable_file

GM = "gm"  # the parameter value that names the General MIDI SoundFont that ships
PERCUSSION_BANK = 128
DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
MAX_SOUNDFONT_BYTES = 1 << 30  # large GM sets are ~150 MB; a bigger "SoundFont" is a mistake
INSTALL_HINT = ("pip install --no-deps tinysoundfont==0.3.7 (pyproject.toml's "
                "[tool.magstation] no-deps; `make run` does it)")

# A one-shot for the drum sampler: the key is held this long (a 16th at 120 bpm, as the
# exported MIDI holds it), then released; the release (a crash's ~3 s) is kept until it
# falls below SILENCE, at most ONE_SHOT_MAX_S.
ONE_SHOT_HOLD_S = 0.125
ONE_SHOT_MAX_S = 6.0
SILENCE = 1e-4  # -80 dBFS


def general_midi_soundfont() -> Path | None:
    """The General MIDI SoundFont that the `pretty_midi` package ships (TimGM6mb.sf2),
    if installed. Found without importing pretty_midi (and so without its imports)."""
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "TimGM6mb.sf2"
    return path if path.is_file() else None


pretty_midi_soundfont = general_midi_soundfont  # the name older callers use


def resolve_soundfont(value: str | os.PathLike | None, what: str = "soundfont") -> Path:
    """The file a `soundfont` parameter means: None or `gm` is the General MIDI
    SoundFont; anything else a path (a regular file, checked without opening it)."""
    if value is None or str(value).strip().lower() == GM:
        path = general_midi_soundfont()
        if path is None:
            raise BadInput("the General MIDI SoundFont (TimGM6mb.sf2, shipped with the "
                           "pretty_midi package) is missing: reinstall pretty_midi, or give "
                           f"a .sf2 file as `{what}`", param=what, reason="missing")
        return path
    return readable_file(value, what, expect="a SoundFont (.sf2)", noun="SoundFont")


@dataclass(frozen=True)
class SoundFontFile:
    """A checked SoundFont: its path and bytes (tinysoundfont parses them per synth)."""
    path: Path
    data: bytes

    @property
    def name(self) -> str:
        return self.path.stem

    def synth(self, rate: int):
        """A new tinysoundfont synthesizer at `rate` with this SoundFont loaded:
        `(synth, sfid)`."""
        tinysoundfont = _tinysoundfont()
        synth = tinysoundfont.Synth(samplerate=int(rate))
        try:
            sfid = synth.sfload(self.data)
        except (RuntimeError, tinysoundfont.SoundFontException) as e:
            raise _damaged(self.path, str(e)) from None
        return synth, sfid


def _tinysoundfont():
    try:
        import tinysoundfont
    except ImportError:
        raise BadInput("SoundFont playback needs the tinysoundfont package, which is not "
                       f"installed: {INSTALL_HINT}", reason="missing_package") from None
    return tinysoundfont


def _damaged(p: Path, why: str) -> BadInput:
    return BadInput(f"{p}: the SoundFont is damaged ({why}). Get it again, or pick another "
                    ".sf2 file.", path=str(p), reason="corrupt")


def load_soundfont(path: str | os.PathLike, what: str = "soundfont") -> SoundFontFile:
    """Read and check a SoundFont (.sf2/.sf3). BadInput naming the file when it is
    missing, not a file, not a SoundFont, truncated or damaged. Cached per file version."""
    p = readable_file(path, what, expect="a SoundFont (.sf2)", noun="SoundFont")
    try:
        st = p.stat()
        version = (st.st_mtime_ns, st.st_size)
    except OSError:
        version = (0, 0)  # read_bytes below names the problem
    return _load(str(p.resolve()), version, what)


@functools.lru_cache(maxsize=4)
def _load(path: str, version: tuple[int, int], what: str) -> SoundFontFile:
    p = Path(path)
    data = read_bytes(p, what, expect="a SoundFont (.sf2)", noun="SoundFont",
                      max_bytes=MAX_SOUNDFONT_BYTES)
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise BadInput(f"{p}: not a SoundFont 2 file (.sf2). Pick an .sf2 file, or `gm` "
                       "for the General MIDI SoundFont.", path=str(p), reason="unreadable")
    declared = 8 + struct.unpack_from("<I", data, 4)[0]
    if declared > len(data):
        raise BadInput(f"{p}: the SoundFont is truncated ({len(data)} of {declared} bytes). "
                       "Get it again.", path=str(p), reason="truncated")
    sf = SoundFontFile(p, data)
    synth, sfid = sf.synth(44100)  # parse now: a damaged file fails here, not mid-render
    if not any(synth.sfpreset_name(sfid, bank, prog) is not None
               for bank in (0, PERCUSSION_BANK) for prog in range(128)):
        raise BadInput(f"{p}: the SoundFont has no General MIDI presets (none in bank 0 "
                       "or 128). Pick another .sf2 file.", path=str(p), reason="no_presets")
    return sf


def select_program(synth, sfid: int, channel: int, program: int, *, drums: bool) -> str:
    """Put `program` on `channel` (drums: a kit in bank 128, else bank 0). A SoundFont
    without that preset plays its nearest: the same program in any bank, else the first
    preset of the bank. Returns the preset's name."""
    bank = PERCUSSION_BANK if drums else 0
    candidates = [(bank, program), (bank, 0)] + [(bank, p) for p in range(128)]
    if not drums:
        candidates[1:1] = [(b, program) for b in range(1, 128)]
    for b, p in candidates:
        name = synth.sfpreset_name(sfid, b, p)
        if name is not None:
            synth.program_select(channel, sfid, b, p, is_drums=drums)
            return name
    raise KeyError(bank)


class SoundFontKit:
    """The drum sampler's `SampleSource` from a SoundFont's drum kit (bank 128): for a
    pitch and velocity, the kit's one-shot as the synthesizer plays it (velocity layers
    and curves included, so the sampler does not scale it again)."""

    velocity_aware = True  # engine.audio.drum_kit: sample_for_hit plays the velocity

    def __init__(self, soundfont: SoundFontFile | str | os.PathLike, rate: int = 44100, *,
                 preset: int = 0, what: str = "soundfont") -> None:
        self.soundfont = (soundfont if isinstance(soundfont, SoundFontFile)
                          else load_soundfont(soundfont, what))
        self.path = self.soundfont.path
        self.name = self.soundfont.name
        self.rate = int(rate)
        self._synth, sfid = self.soundfont.synth(self.rate)
        try:
            self.kit_name = select_program(self._synth, sfid, DRUM_CHANNEL, preset, drums=True)
        except KeyError:
            raise BadInput(f"{self.path}: the SoundFont has no drum kit (no preset in bank "
                           f"{PERCUSSION_BANK}). Pick a General MIDI SoundFont (`gm`) or a "
                           "drum kit .sf2.", path=str(self.path), reason="no_drum_preset") from None
        self._cache: dict[tuple[int, int], np.ndarray | None] = {}
        self._lock = threading.Lock()  # one synthesizer, shared by cached-kit jobs

    def sample_for_pitch(self, pitch: int) -> np.ndarray | None:
        return self.sample_for_hit(pitch, 127)

    def sample_for_hit(self, pitch: int, velocity: int) -> np.ndarray | None:
        """Mono float32 at `rate`; None when the kit has nothing on that key."""
        key = (int(pitch), max(1, min(127, int(velocity))))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._one_shot(*key)
            return self._cache[key]

    def _one_shot(self, pitch: int, velocity: int) -> np.ndarray | None:
        if not 0 <= pitch <= 127:
            return None
        s, rate = self._synth, self.rate
        s.sounds_off(DRUM_CHANNEL)
        s.generate_simple(64)  # let the cut voices end before the hit
        s.noteon(DRUM_CHANNEL, pitch, velocity)
        hold = int(ONE_SHOT_HOLD_S * rate)
        blocks = [_generate(s, hold)]
        s.noteoff(DRUM_CHANNEL, pitch)
        block = max(1, rate // 20)
        for _ in range(int(ONE_SHOT_MAX_S * rate / block)):
            blocks.append(_generate(s, block))
            if np.abs(blocks[-1]).max() < SILENCE:
                break
        s.sounds_off(DRUM_CHANNEL)
        mono = np.concatenate(blocks).mean(axis=1)
        loud = np.flatnonzero(np.abs(mono) >= SILENCE)
        if len(loud) == 0:
            return None
        return np.ascontiguousarray(mono[: loud[-1] + 1], np.float32)


def _generate(synth, frames: int) -> np.ndarray:
    out = np.zeros((frames, 2), np.float32)
    synth.generate_simple(frames, buffer=memoryview(out).cast("B"))
    return out
