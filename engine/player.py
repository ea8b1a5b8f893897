"""The engine's one transport: what an audition plays goes to this machine's device (or
the null backend) and, at the same time, to every remote listener.

The server installs the player at start; the `audio.*` methods (answered at once on
the server loop, never queued behind model jobs) drive it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import numpy as np

from engine.audio.playback import (NetworkBackend, NullBackend, PlaybackBackend, Transport,
                                   open_backend)


class FanoutBackend(PlaybackBackend):
    """Plays through several backends at once; the first one's clock is the playhead."""

    name = "fanout"

    def __init__(self, backends: list[PlaybackBackend]) -> None:
        self.backends = backends

    def play(self, buffer: np.ndarray, rate: int, loop: bool = False, layer: bool = False,
             start: float = 0.0) -> None:
        for b in self.backends:
            b.play(buffer, rate, loop, layer, start)

    def stop(self) -> None:
        for b in self.backends:
            b.stop()

    def seek(self, seconds: float) -> None:
        for b in self.backends:
            b.seek(seconds)

    def set_loop(self, loop: bool) -> None:
        for b in self.backends:
            b.set_loop(loop)

    def position(self) -> float:
        return self.backends[0].position()

    @property
    def is_playing(self) -> bool:
        return self.backends[0].is_playing

    def close(self) -> None:
        for b in self.backends:
            b.close()


class Player:
    """The transport, safe to drive from the server loop and the worker threads at once:
    use these methods rather than `transport` directly."""

    def __init__(self, device: PlaybackBackend, send_to_listeners: Callable[[bytes, int, dict], None],
                 on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.device = device
        self.network = NetworkBackend(send_to_listeners)
        self.transport = Transport(FanoutBackend([device, self.network]))
        self.on_change = on_change  # told the new status after every change (any thread)
        self._lock = threading.RLock()

    def _changed(self) -> dict[str, Any]:
        status = self._status()
        if self.on_change is not None:
            self.on_change(status)
        return status

    def audition(self, buffer: np.ndarray, rate: int, *, label: str = "", loop: bool = False,
                 layer: bool = False, start: float = 0.0, update: bool = False) -> dict[str, Any]:
        """Play a sound (stopping the last unless `layer`). With `update`, a sound that is
        playing is swapped for this one without losing its place (an edited loop)."""
        with self._lock:
            if update and self.transport.is_playing:
                self.transport.update(buffer, rate)
            else:
                self.transport.audition(buffer, rate, label=label, loop=loop, layer=layer, start=start)
            return self._changed()

    def stop(self) -> dict[str, Any]:
        with self._lock:
            self.transport.stop()
            return self._changed()

    def resume(self) -> dict[str, Any]:
        with self._lock:
            self.transport.play()
            return self._changed()

    def seek(self, seconds: float) -> dict[str, Any]:
        with self._lock:
            self.transport.seek(seconds)
            return self._changed()

    def set_loop(self, loop: bool) -> dict[str, Any]:
        with self._lock:
            self.transport.set_loop(loop)
            return self._changed()

    @classmethod
    def open(cls, kind: str, send_to_listeners: Callable[[bytes, int, dict], None],
             on_change: Callable[[dict[str, Any]], None] | None = None) -> "Player":
        return cls(open_backend(kind), send_to_listeners, on_change)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._status()

    def _status(self) -> dict[str, Any]:
        t = self.transport
        # `at` (wall clock) lets a client move its playhead without asking again.
        return {"playing": t.is_playing, "position_s": t.position(), "duration_s": t.duration,
                "loop": t.loop, "label": t.label, "device": self.device.name,
                "note": getattr(self.device, "note", ""), "at": time.time()}

    def close(self) -> None:
        self.transport.backend.close()


_PLAYER: Player | None = None


def install(player: Player | None) -> None:
    global _PLAYER
    _PLAYER = player


def get() -> Player:
    """The running engine's player; a headless player (null device, no listeners) when
    the methods run outside a server, e.g. from the CLI."""
    global _PLAYER
    if _PLAYER is None:
        _PLAYER = Player(NullBackend(note="no engine server: nothing is heard"), lambda *a: None)
    return _PLAYER
