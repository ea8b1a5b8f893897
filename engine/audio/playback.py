"""Playback: where auditions are heard.

Backends (all implement `PlaybackBackend`):
- `NullBackend`: headless. Plays nothing, records every buffer exactly, with a
  timestamp, so tests can assert what a user would have heard.
- `LocalBackend`: the machine's sound device through `miniaudio` (bundled C library
  that dlopens PulseAudio/PipeWire/ALSA/JACK/CoreAudio/WASAPI; no system packages
  needed to install). Imported lazily; `PlaybackUnavailable` when there is no device.
- `NetworkBackend`: hands audio and transport events to a callback,
  `on_audio(chunk_bytes, rate, meta)`, which the server forwards to remote listeners;
  a `RemoteListener` on the listener's side replays them into its own backend.

`Transport` sits on a backend and is what panes use: audition, play/stop, loop, seek,
and a position for the playhead.

Semantics shared by every backend: `play(layer=False)` replaces whatever is sounding;
`play(layer=True)` adds a voice on top. `position()`, `seek()` and `set_loop()` act on
the most recently started voice. `is_playing` is true while any voice sounds.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from engine.audio.io import resample
from engine.audio.stderr_capture import capture_stderr
from engine.errors import BadRequest, EngineError, PlaybackUnavailable, ProtocolError

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def _as_buffer(buffer: np.ndarray, rate: int) -> np.ndarray:
    x = np.asarray(buffer, dtype=np.float32)
    if x.ndim != 1:
        raise BadRequest(f"playback takes mono float32 audio, got shape {x.shape}")
    if rate <= 0:
        raise BadRequest(f"sample rate must be positive, got {rate}")
    return x


class PlaybackBackend(ABC):
    """Something that turns float32 mono buffers into sound (or a record of it)."""

    name = "abstract"

    @abstractmethod
    def play(self, buffer: np.ndarray, rate: int, loop: bool = False,
             layer: bool = False, start: float = 0.0) -> None:
        """Start sounding `buffer` (float32 mono at `rate`), `start` seconds in."""

    @abstractmethod
    def stop(self) -> None:
        """Silence every voice."""

    @abstractmethod
    def seek(self, seconds: float) -> None:
        """Move the current voice's play position (clamped to its length)."""

    @abstractmethod
    def position(self) -> float:
        """Seconds into the current voice (0.0 when nothing has played)."""

    @abstractmethod
    def set_loop(self, loop: bool) -> None:
        """Turn looping of the current voice on or off without restarting it."""

    @property
    @abstractmethod
    def is_playing(self) -> bool: ...

    def close(self) -> None:
        """Release the device. Idempotent."""
        self.stop()


# ---------------------------------------------------------------------------- mixing

@dataclass
class _Voice:
    samples: np.ndarray
    pos: int = 0
    loop: bool = False

    @property
    def done(self) -> bool:
        n = len(self.samples)
        return n == 0 or (not self.loop and self.pos >= n)


class Mixer:
    """Sums voices into fixed-size blocks at one output rate (the device's). Thread
    safe: `pull` runs on the audio thread, the rest on the caller's."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._voices: list[_Voice] = []
        self._current: _Voice | None = None
        self._lock = threading.Lock()

    def start(self, buffer: np.ndarray, rate: int, loop: bool = False,
              layer: bool = False, offset: float = 0.0) -> None:
        samples = resample(buffer, rate, self.rate)
        voice = _Voice(samples, int(min(max(offset, 0.0) * self.rate, len(samples))), loop)
        with self._lock:
            if not layer:
                self._voices.clear()
            self._voices.append(voice)
            self._current = voice

    def stop(self) -> None:
        with self._lock:
            self._voices.clear()

    def seek(self, seconds: float) -> None:
        with self._lock:
            v = self._current
            if v is not None:
                v.pos = int(min(max(seconds, 0.0) * self.rate, len(v.samples)))

    def set_loop(self, loop: bool) -> None:
        with self._lock:
            if self._current is not None:
                self._current.loop = loop

    def position(self) -> float:
        with self._lock:
            v = self._current
            return 0.0 if v is None else min(v.pos, len(v.samples)) / self.rate

    @property
    def is_playing(self) -> bool:
        with self._lock:
            return any(not v.done for v in self._voices)

    def pull(self, frames: int) -> np.ndarray:
        """The next `frames` samples of the mix (silence when idle), clipped to [-1, 1]."""
        out = np.zeros(frames, np.float32)
        with self._lock:
            for v in self._voices:
                n = len(v.samples)
                filled = 0
                while filled < frames and n and not v.done:
                    if v.pos >= n:  # looping voice wraps
                        v.pos = 0
                    take = min(frames - filled, n - v.pos)
                    out[filled:filled + take] += v.samples[v.pos:v.pos + take]
                    v.pos += take
                    filled += take
                    if not v.loop:
                        break
            self._voices = [v for v in self._voices if not v.done]
        np.clip(out, -1.0, 1.0, out=out)
        return out


# ---------------------------------------------------------------------------- clocked

class ManualClock:
    """A clock that moves only when told to: deterministic playheads in tests."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _VirtualVoice:
    seconds: float    # length of the buffer
    started: float    # clock time the current run began
    offset: float     # position at `started`
    loop: bool

    def position(self, now: float) -> float:
        p = self.offset + (now - self.started)
        if self.loop and self.seconds > 0:
            return p % self.seconds
        return min(p, self.seconds)

    def sounding(self, now: float) -> bool:
        if self.seconds <= 0:
            return False
        return self.loop or self.offset + (now - self.started) < self.seconds


class ClockedBackend(PlaybackBackend):
    """Keeps the voices' positions from a clock instead of a device: the base of
    backends whose sound is made elsewhere (nowhere, or on a remote listener)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._voices: list[_VirtualVoice] = []
        self._current: _VirtualVoice | None = None
        self._stopped_at = 0.0

    def play(self, buffer: np.ndarray, rate: int, loop: bool = False,
             layer: bool = False, start: float = 0.0) -> None:
        x = _as_buffer(buffer, rate)
        now = self.clock()
        seconds = len(x) / rate
        voice = _VirtualVoice(seconds, now, min(max(start, 0.0), seconds), loop)
        if not layer:
            self._voices.clear()
        self._voices.append(voice)
        self._current = voice

    def stop(self) -> None:
        self._stopped_at = self.position()
        self._voices.clear()
        self._current = None

    def seek(self, seconds: float) -> None:
        v = self._current
        if v is not None:
            v.offset = min(max(seconds, 0.0), v.seconds)
            v.started = self.clock()

    def set_loop(self, loop: bool) -> None:
        v = self._current
        if v is not None:
            now = self.clock()
            v.offset, v.started, v.loop = v.position(now), now, loop

    def position(self) -> float:
        v = self._current
        return self._stopped_at if v is None else v.position(self.clock())

    @property
    def is_playing(self) -> bool:
        now = self.clock()
        return any(v.sounding(now) for v in self._voices)


@dataclass(frozen=True)
class PlayedBuffer:
    """One `play` call as the null backend saw it."""
    time: float
    samples: np.ndarray   # an exact copy of what was handed over
    rate: int
    loop: bool
    layer: bool
    start: float = 0.0    # seconds into the buffer where playback began

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class BackendEvent:
    time: float
    kind: str             # "play" | "stop" | "seek" | "loop"
    value: Any = None     # seek seconds, loop flag, or the PlayedBuffer for "play"


class NullBackend(ClockedBackend):
    """Headless playback: silent, but remembers everything it was asked to play."""

    name = "null"

    def __init__(self, clock: Clock = time.monotonic, note: str = "") -> None:
        super().__init__(clock)
        self.note = note          # why a real device is not in use, for the status bar
        self.played: list[PlayedBuffer] = []
        self.events: list[BackendEvent] = []

    def play(self, buffer: np.ndarray, rate: int, loop: bool = False,
             layer: bool = False, start: float = 0.0) -> None:
        x = _as_buffer(buffer, rate)
        super().play(x, rate, loop, layer, start)
        rec = PlayedBuffer(self.clock(), x.copy(), int(rate), bool(loop), bool(layer),
                           float(start))
        self.played.append(rec)
        self.events.append(BackendEvent(rec.time, "play", rec))

    def stop(self) -> None:
        super().stop()
        self.events.append(BackendEvent(self.clock(), "stop"))

    def seek(self, seconds: float) -> None:
        super().seek(seconds)
        self.events.append(BackendEvent(self.clock(), "seek", float(seconds)))

    def set_loop(self, loop: bool) -> None:
        super().set_loop(loop)
        self.events.append(BackendEvent(self.clock(), "loop", bool(loop)))

    @property
    def last(self) -> PlayedBuffer | None:
        return self.played[-1] if self.played else None


# ---------------------------------------------------------------------------- network

AudioSink = Callable[[bytes, int, dict], None]
NETWORK_AUDIO_VERSION = 1


class NetworkBackend(ClockedBackend):
    """Forwards playback to remote listeners through `on_audio(chunk, rate, meta)`.

    The server owns the socket; this class only decides what to send. Messages
    (meta is JSON-safe; `chunk` is little-endian float32 mono samples or b""):
    - `{"v": 1, "kind": "play", "voice": id, "offset": first_frame, "frames": total,
       "final": bool, "loop": bool, "layer": bool, "start": seconds}` with a chunk of the buffer at
       `rate`; a listener starts the voice when the chunk with `final` arrives.
    - `{"v": 1, "kind": "stop"}`, `{"kind": "seek", "seconds": s}`,
      `{"kind": "loop", "loop": bool}` with an empty chunk (rate 0).
    Buffers go at their own rate; the listener resamples to its device.
    """

    name = "network"

    def __init__(self, on_audio: AudioSink, *, chunk_frames: int = 32768,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(clock)
        self.on_audio = on_audio
        self.chunk_frames = chunk_frames
        self._next_voice = 1

    def _send(self, chunk: bytes, rate: int, **meta: Any) -> None:
        self.on_audio(chunk, rate, {"v": NETWORK_AUDIO_VERSION, **meta})

    def play(self, buffer: np.ndarray, rate: int, loop: bool = False,
             layer: bool = False, start: float = 0.0) -> None:
        x = _as_buffer(buffer, rate).astype("<f4", copy=False)
        voice, self._next_voice = self._next_voice, self._next_voice + 1
        total = len(x)
        firsts = range(0, total, self.chunk_frames) if total else [0]
        for first in firsts:
            end = min(total, first + self.chunk_frames)
            self._send(x[first:end].tobytes(), int(rate), kind="play", voice=voice,
                       offset=first, frames=total, final=end >= total,
                       loop=bool(loop), layer=bool(layer), start=float(start))
        super().play(x, rate, loop, layer, start)

    def stop(self) -> None:
        super().stop()
        self._send(b"", 0, kind="stop")

    def seek(self, seconds: float) -> None:
        super().seek(seconds)
        self._send(b"", 0, kind="seek", seconds=float(seconds))

    def set_loop(self, loop: bool) -> None:
        super().set_loop(loop)
        self._send(b"", 0, kind="loop", loop=bool(loop))


class RemoteListener:
    """The listener's end: feed it what a `NetworkBackend` sent, in order, and it
    plays it on its own backend (normally a `LocalBackend` on the user's laptop)."""

    def __init__(self, backend: PlaybackBackend,
                 on_play: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.backend = backend
        self.on_play = on_play  # told {voice, seconds, peak_db, rate, loop} of each sound played
        self._pending: dict[int, bytearray] = {}

    def __call__(self, chunk: bytes, rate: int, meta: dict) -> None:
        if meta.get("v") != NETWORK_AUDIO_VERSION:
            raise ProtocolError(f"unsupported network audio version {meta.get('v')!r}; "
                                "update the listener to the engine's version")
        kind = meta.get("kind")
        if kind == "play":
            voice = int(meta["voice"])
            buf = self._pending.setdefault(voice, bytearray())
            if int(meta["offset"]) * 4 != len(buf):
                self._pending.pop(voice, None)
                raise ProtocolError(f"network audio voice {voice}: chunk out of order")
            buf += chunk
            if meta.get("final"):
                data = self._pending.pop(voice)
                samples = np.frombuffer(bytes(data), dtype="<f4").astype(np.float32)
                if len(samples) != int(meta["frames"]):
                    raise ProtocolError(f"network audio voice {voice}: got {len(samples)} "
                                        f"of {meta['frames']} frames")
                self.backend.play(samples, rate, loop=bool(meta.get("loop")),
                                  layer=bool(meta.get("layer")),
                                  start=float(meta.get("start", 0.0)))
                if self.on_play is not None:
                    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
                    self.on_play({"voice": voice, "seconds": len(samples) / rate if rate else 0.0,
                                  "peak_db": 20 * np.log10(peak) if peak > 0 else float("-inf"),
                                  "rate": rate, "loop": bool(meta.get("loop")),
                                  "label": meta.get("label") or ""})
        elif kind == "stop":
            self._pending.clear()
            self.backend.stop()
        elif kind == "seek":
            self.backend.seek(float(meta["seconds"]))
        elif kind == "loop":
            self.backend.set_loop(bool(meta["loop"]))
        else:
            raise ProtocolError(f"unknown network audio message kind {kind!r}")


# ---------------------------------------------------------------------------- local device

_BACKEND_NAMES = ("pulseaudio", "alsa", "jack", "coreaudio", "wasapi", "dsound", "winmm",
                  "oss", "sndio", "audio4", "null")

NO_DEVICE_HINT = ("Auditions will be silent here. On a remote server, listen on your own "
                  "machine through the engine's remote listener (over an SSH tunnel), "
                  "or use the null backend.")


class LocalBackend(PlaybackBackend):
    """This machine's default output device via miniaudio.

    `backends` limits which system audio APIs are tried (e.g. ["pulseaudio", "alsa"]);
    ["null"] selects miniaudio's own null device, which consumes audio in real time
    without hardware (used by tests). Native libraries' stderr output while opening
    and closing the device is captured, never printed; it goes into the error details.
    """

    name = "local"

    def __init__(self, rate: int = 44100, *, backends: Sequence[str] | None = None,
                 buffer_ms: int = 100, app_name: str = "magstation") -> None:
        try:
            import miniaudio  # lazy: only a process that really plays needs it
        except ImportError as e:
            cause = "local playback needs the `miniaudio` package: `pip install miniaudio`"
            raise PlaybackUnavailable(f"{cause}. {NO_DEVICE_HINT}", cause=cause) from e
        self._ma = miniaudio
        self.rate = rate
        self.mixer = Mixer(rate)
        chosen = None
        if backends is not None:
            unknown = [b for b in backends if b.lower() not in _BACKEND_NAMES]
            if unknown:
                raise BadRequest(f"unknown audio system(s) {unknown}; "
                                 f"choose from {list(_BACKEND_NAMES)}")
            chosen = [miniaudio.Backend[b.upper()] for b in backends]
        self.noise = ""
        self._device = None
        with capture_stderr() as cap:
            try:
                device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1,
                    sample_rate=rate, buffersize_msec=buffer_ms, backends=chosen,
                    app_name=app_name)
            except miniaudio.MiniaudioError as e:
                err = e
            else:
                err = None
                try:
                    feed = self._feed()
                    next(feed)
                    device.start(feed)
                except miniaudio.MiniaudioError as e:
                    device.close()
                    err = e
                else:
                    self._device = device
        self.noise = cap.text
        if self._device is None:
            tried = ", ".join(backends) if backends else "the system's default"
            reason = err.args[0] if err is not None and err.args else err
            cause = f"No audio output device could be opened ({tried} audio system: {reason})"
            # `cause` alone is for clients with advice of their own (`magstation listen`)
            raise PlaybackUnavailable(f"{cause}. {NO_DEVICE_HINT}", cause=cause,
                                      library_output=cap.tail(5))
        self.device_name = f"{self._device.backend}"

    def _feed(self) -> Iterator[bytes]:
        frames = yield b""
        while True:
            try:
                block = self.mixer.pull(int(frames)).tobytes()
            except Exception:  # never let a bug kill the audio thread mid-session
                log.exception("audio callback failed")
                block = bytes(4 * int(frames))
            frames = yield block

    def play(self, buffer: np.ndarray, rate: int, loop: bool = False,
             layer: bool = False, start: float = 0.0) -> None:
        self.mixer.start(_as_buffer(buffer, rate), rate, loop, layer, start)

    def stop(self) -> None:
        self.mixer.stop()

    def seek(self, seconds: float) -> None:
        self.mixer.seek(seconds)

    def set_loop(self, loop: bool) -> None:
        self.mixer.set_loop(loop)

    def position(self) -> float:
        return self.mixer.position()

    @property
    def is_playing(self) -> bool:
        return self.mixer.is_playing

    def close(self) -> None:
        self.mixer.stop()
        device, self._device = self._device, None
        if device is not None:
            with capture_stderr() as cap:
                device.close()
            self.noise += cap.text

    def __del__(self) -> None:  # a forgotten backend must not keep the device open
        try:
            self.close()
        except Exception:
            pass


def open_backend(kind: str = "auto", **options: Any) -> PlaybackBackend:
    """"null", "local" (raises PlaybackUnavailable without a device), or "auto":
    the local device if there is one, else a NullBackend whose `note` says why."""
    if kind == "null":
        return NullBackend()
    if kind == "local":
        return LocalBackend(**options)
    if kind == "auto":
        try:
            return LocalBackend(**options)
        except PlaybackUnavailable as e:
            return NullBackend(note=e.message)
    raise BadRequest(f"unknown playback backend {kind!r}; use auto, local or null")


# ---------------------------------------------------------------------------- transport

@dataclass
class Transport:
    """The play controls a pane drives: one audition at a time unless layering.

    Remembers the current audition so `play()` replays it (from the cue point set
    by `seek` while stopped), and gives a playhead position in seconds.
    """

    backend: PlaybackBackend
    loop: bool = False
    label: str = ""
    _buffer: np.ndarray | None = field(default=None, repr=False)
    _rate: int = 0
    _cue: float = 0.0

    def audition(self, buffer: np.ndarray, rate: int, *, label: str = "",
                 loop: bool | None = None, layer: bool = False, start: float = 0.0) -> None:
        """Play a new sound; stops the previous one unless `layer`."""
        x = _as_buffer(buffer, rate)
        if loop is not None:
            self.loop = loop
        self._buffer, self._rate, self.label, self._cue = x, int(rate), label, 0.0
        self.backend.play(x, rate, loop=self.loop, layer=layer,
                          start=min(max(start, 0.0), self.duration))

    @property
    def duration(self) -> float:
        return 0.0 if self._buffer is None else len(self._buffer) / self._rate

    @property
    def is_playing(self) -> bool:
        return self.backend.is_playing

    def play(self) -> None:
        """(Re)start the current audition from the cue point."""
        if self._buffer is None:
            return
        self.backend.play(self._buffer, self._rate, loop=self.loop, layer=False,
                          start=self._cue)

    def update(self, buffer: np.ndarray, rate: int) -> None:
        """Swap in a new version of the current audition (an edited drum pattern, a
        re-render) without restarting it: the playhead keeps its place."""
        x = _as_buffer(buffer, rate)
        playing = self.is_playing
        pos = self.backend.position() if playing else self._cue
        self._buffer, self._rate = x, int(rate)
        d = self.duration
        pos = (pos % d if self.loop else min(pos, d)) if d > 0 else 0.0
        if playing:
            self.backend.play(x, rate, loop=self.loop, layer=False, start=pos)
        else:
            self._cue = pos

    def stop(self) -> None:
        """Stop; the playhead stays where it was, so `play()` resumes from there."""
        if self.is_playing:
            self._cue = self.backend.position()
        self.backend.stop()
        if self._cue >= self.duration:
            self._cue = 0.0

    def toggle(self) -> None:
        self.stop() if self.is_playing else self.play()

    def set_loop(self, loop: bool) -> None:
        self.loop = loop
        if self.is_playing:
            self.backend.set_loop(loop)

    def seek(self, seconds: float) -> None:
        s = min(max(float(seconds), 0.0), self.duration)
        if self.is_playing:
            self.backend.seek(s)
        else:
            self._cue = s

    def nudge(self, delta: float) -> None:
        self.seek(self.position() + delta)

    def position(self) -> float:
        """Seconds into the audition, for the playhead."""
        if self._buffer is None:
            return 0.0
        return self.backend.position() if self.is_playing else self._cue

    def progress(self) -> float:
        """Playhead as a fraction 0..1 of the audition."""
        d = self.duration
        return 0.0 if d <= 0 else min(1.0, self.position() / d)
