"""A SoundFont 2 drum kit for the drum sampler.

Reads just enough of an .sf2 file to play its percussion preset (bank 128): for a MIDI
pitch, the sample of the matching preset -> instrument zone, transposed if the zone's
root key differs, scaled by its initial attenuation. Envelopes, filters, loops,
modulators and velocity layers other than the loudest are ignored: one-shot drums
sound right without them.

    kit = SoundFontKit("GeneralUser.sf2")
    audio = render_drums(hits, 44100, kit=kit)
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.audio.io import resample
from engine.errors import BadInput
from engine.pathpolicy import read_bytes

# Generator operators (SoundFont 2.04 spec, section 8.1.2)
GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VEL_RANGE = 44
GEN_INITIAL_ATTENUATION = 48
GEN_COARSE_TUNE = 51
GEN_FINE_TUNE = 52
GEN_SAMPLE_ID = 53
GEN_OVERRIDING_ROOT_KEY = 58
_RANGE_GENS = (GEN_KEY_RANGE, GEN_VEL_RANGE)
PERCUSSION_BANK = 128


def pretty_midi_soundfont() -> Path | None:
    """The General MIDI SoundFont that the `pretty_midi` package ships (TimGM6mb.sf2,
    about 6 MB, GPL-2.0), if installed: a second drum kit that needs no download."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


@dataclass
class _Zone:
    gens: dict[int, int | tuple[int, int]]

    def covers(self, key: int) -> bool:
        lo, hi = self.gens.get(GEN_KEY_RANGE, (0, 127))
        return lo <= key <= hi

    @property
    def top_velocity(self) -> int:
        return self.gens.get(GEN_VEL_RANGE, (0, 127))[1]


@dataclass(frozen=True)
class _SampleHeader:
    name: str
    start: int
    end: int
    rate: int
    original_pitch: int
    correction: int  # cents


def _chunks(data: bytes, start: int, end: int, where: str, path: Path):
    pos = start
    while pos + 8 <= end:
        cid, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if body + size > end:
            raise BadInput(f"{path}: the SoundFont is truncated ({where} chunk "
                           f"{cid.decode('latin-1')!r} runs past the end). Get it again.",
                           path=str(path), reason="truncated")
        yield cid, body, size
        pos = body + size + (size & 1)


class SoundFontKit:
    """Implements the drum sampler's `SampleSource` from an .sf2 file's drum preset."""

    def __init__(self, path: str | os.PathLike, rate: int = 44100, *,
                 preset: int = 0, bank: int = PERCUSSION_BANK, what: str = "soundfont") -> None:
        self.path = Path(path).expanduser()
        self.rate = rate
        self._cache: dict[int, np.ndarray | None] = {}
        # engine.pathpolicy: a folder, FIFO or device is refused without opening it
        data = read_bytes(self.path, what, expect="a SoundFont (.sf2) drum kit",
                          noun="SoundFont")
        self._parse(data)
        self._zones = self._preset_zones(preset, bank)
        self.name = self.path.stem

    # -------------------------------------------------------------- parsing
    def _parse(self, data: bytes) -> None:
        p = self.path
        if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
            raise BadInput(f"{p}: not a SoundFont 2 file (.sf2). Pick an .sf2 drum kit.",
                           path=str(p), reason="unreadable")
        riff_end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
        lists: dict[bytes, tuple[int, int]] = {}
        for cid, body, size in _chunks(data, 12, riff_end, "RIFF", p):
            if cid == b"LIST" and size >= 4:
                lists[data[body:body + 4]] = (body + 4, body + size)
        if b"sdta" not in lists or b"pdta" not in lists:
            raise BadInput(f"{p}: the SoundFont has no sample data or no preset table; "
                           "it is damaged or not an SF2 file.", path=str(p), reason="corrupt")
        self._smpl = np.zeros(0, np.int16)
        for cid, body, size in _chunks(data, *lists[b"sdta"], "sdta", p):
            if cid == b"smpl":
                self._smpl = np.frombuffer(data, "<i2", size // 2, body)
        tables: dict[bytes, bytes] = {}
        for cid, body, size in _chunks(data, *lists[b"pdta"], "pdta", p):
            tables[cid] = data[body:body + size]
        need = (b"phdr", b"pbag", b"pgen", b"inst", b"ibag", b"igen", b"shdr")
        missing = [n.decode() for n in need if n not in tables]
        if missing:
            raise BadInput(f"{p}: the SoundFont's preset table lacks {missing}; it is damaged.",
                           path=str(p), reason="corrupt")
        self._phdr = [struct.unpack_from("<20sHHH", tables[b"phdr"], i)
                      for i in range(0, len(tables[b"phdr"]) - 37, 38)]
        self._pbag = [struct.unpack_from("<H", tables[b"pbag"], i)[0]
                      for i in range(0, len(tables[b"pbag"]) - 3, 4)]
        self._pgen = self._gens(tables[b"pgen"])
        self._inst = [struct.unpack_from("<20sH", tables[b"inst"], i)[1]
                      for i in range(0, len(tables[b"inst"]) - 21, 22)]
        self._ibag = [struct.unpack_from("<H", tables[b"ibag"], i)[0]
                      for i in range(0, len(tables[b"ibag"]) - 3, 4)]
        self._igen = self._gens(tables[b"igen"])
        self._shdr = []
        for i in range(0, len(tables[b"shdr"]) - 45, 46):
            name, start, end, _, _, rate, pitch, corr = struct.unpack_from(
                "<20sIIIIIBb", tables[b"shdr"], i)
            self._shdr.append(_SampleHeader(name.split(b"\0")[0].decode("latin-1"),
                                            start, end, rate, pitch, corr))

    @staticmethod
    def _gens(raw: bytes) -> list[tuple[int, int | tuple[int, int]]]:
        out = []
        for i in range(0, len(raw) - 3, 4):
            oper = struct.unpack_from("<H", raw, i)[0]
            if oper in _RANGE_GENS:
                amount: int | tuple[int, int] = (raw[i + 2], raw[i + 3])
            else:
                amount = struct.unpack_from("<h", raw, i + 2)[0]
            out.append((oper, amount))
        return out

    def _zones_of(self, bags: list[int], gens, first: int, last: int, terminal: int):
        """Zones (bag first..last-1); a leading zone without `terminal` is global and
        its generators are defaults for the others."""
        zones, global_gens = [], {}
        for b in range(first, min(last, len(bags) - 1)):
            g = dict(gens[bags[b]:bags[b + 1]])
            if terminal not in g:
                if b == first:
                    global_gens = g
                continue
            zones.append(_Zone({**global_gens, **g}))
        return zones

    def _preset_zones(self, preset: int, bank: int) -> list[tuple[_Zone, list[_Zone]]]:
        headers = self._phdr[:-1]  # the last record is the EOP terminator
        found = [i for i, (_, num, bnk, _) in enumerate(headers) if (num, bnk) == (preset, bank)]
        if not found:
            found = [i for i, (_, _, bnk, _) in enumerate(headers) if bnk == bank]
        if not found:
            raise BadInput(f"{self.path}: the SoundFont has no drum kit (no preset in bank "
                           f"{bank}). Pick a General MIDI SoundFont or a drum kit .sf2.",
                           path=str(self.path), reason="no_drum_preset")
        i = found[0]
        out = []
        for pz in self._zones_of(self._pbag, self._pgen, self._phdr[i][3],
                                 self._phdr[i + 1][3], GEN_INSTRUMENT):
            inst = pz.gens[GEN_INSTRUMENT]
            if not 0 <= inst < len(self._inst) - 1:
                continue
            izones = self._zones_of(self._ibag, self._igen, self._inst[inst],
                                    self._inst[inst + 1], GEN_SAMPLE_ID)
            out.append((pz, izones))
        return out

    # -------------------------------------------------------------- playing
    def sample_for_pitch(self, pitch: int) -> np.ndarray | None:
        pitch = int(pitch)
        if pitch not in self._cache:
            self._cache[pitch] = self._render(pitch)
        return self._cache[pitch]

    def _render(self, key: int) -> np.ndarray | None:
        for pz, izones in self._zones:
            if not pz.covers(key):
                continue
            hits = [z for z in izones if z.covers(key)]
            if not hits:
                continue
            iz = max(hits, key=lambda z: z.top_velocity)  # the loudest layer
            sid = iz.gens[GEN_SAMPLE_ID]
            if not 0 <= sid < len(self._shdr):
                continue
            sh = self._shdr[sid]
            raw = self._smpl[sh.start:sh.end]
            if len(raw) == 0 or sh.rate <= 0:
                continue
            x = raw.astype(np.float32) / 32768.0
            root = iz.gens.get(GEN_OVERRIDING_ROOT_KEY, -1)
            root = root if 0 <= root <= 127 else sh.original_pitch
            cents = ((key - root) * 100 + sh.correction
                     + 100 * (iz.gens.get(GEN_COARSE_TUNE, 0) + pz.gens.get(GEN_COARSE_TUNE, 0))
                     + iz.gens.get(GEN_FINE_TUNE, 0) + pz.gens.get(GEN_FINE_TUNE, 0))
            # playing faster = treating the sample as if it were recorded at a higher rate
            source_rate = max(1, int(round(sh.rate * 2.0 ** (cents / 1200.0))))
            atten_cb = iz.gens.get(GEN_INITIAL_ATTENUATION, 0) + pz.gens.get(
                GEN_INITIAL_ATTENUATION, 0)
            gain = 10.0 ** (-max(0, atten_cb) / 200.0)
            return resample(x * gain, source_rate, self.rate)
        return None
