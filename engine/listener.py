"""`magstation listen`: hear the engine's auditions on this machine (your laptop), through
an SSH tunnel to the engine on the GPU server. Reconnects after network drops."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from engine.audio.playback import (LocalBackend, NullBackend, PlaybackBackend,
                                   RemoteListener)
from engine.client import EngineClient, EngineUnavailable
from engine.errors import EngineError, PlaybackUnavailable, ProtocolError, Unauthorized
from engine.words import counted

log = logging.getLogger("magstation.listen")
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
# A listener is already the remote end: the engine's advice for a silent server ("listen
# through an SSH tunnel") is wrong here, so only the device's own cause is shown.
CHECK_AUDIO = "Check this machine's audio (PulseAudio/PipeWire running, a device not muted)"


class NoListenerDevice(Exception):
    """`--backend local` and no sound device here; the message is the listener's own."""


def open_listener_backend(kind: str) -> tuple[PlaybackBackend, str]:
    """The backend `magstation listen --backend KIND` plays on, and a warning to print
    ("" when sound will be heard). "local" without a device raises NoListenerDevice;
    "auto" then falls back to a silent NullBackend and says so."""
    if kind == "null":
        return NullBackend(), ""
    try:
        return LocalBackend(), ""
    except PlaybackUnavailable as e:
        cause = str(e.details.get("cause") or e.message)
        if kind == "local":
            raise NoListenerDevice(f"no sound device here to play on: {cause}. {CHECK_AUDIO}, "
                                   "or try `--backend null` to test the connection without "
                                   "sound") from None
        return NullBackend(note=cause), (f"no sound device here: {cause}. Sounds are received "
                                         f"but not heard. {CHECK_AUDIO}.")


@dataclass
class Endpoint:
    """Where the engine is: a local socket path, or host:port with the engine's token."""
    socket: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    token: str = ""

    async def connect(self, client: EngineClient) -> dict[str, Any]:
        if self.socket is not None:
            return await client.connect_unix(self.socket)
        return await client.connect_tcp(self.host, self.port, self.token)

    def __str__(self) -> str:
        return str(self.socket) if self.socket is not None else f"{self.host}:{self.port}"


@dataclass
class Listener:
    endpoint: Endpoint
    backend: PlaybackBackend
    on_status: Callable[[str], None] = lambda s: None
    on_play: Callable[[dict[str, Any]], None] = lambda info: None
    connections: int = 0
    refused: int = 0  # tries that found no engine (retried)
    received: int = 0  # audio messages handled
    played: int = 0  # sounds played
    played_s: float = 0.0
    failure: str = ""  # why it stopped by itself (a wrong token, another protocol version)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def summary(self) -> str:
        return (f"heard {counted(self.played, 'sound')} ({self.played_s:.1f} s) over "
                f"{counted(self.connections, 'connection')}")

    def _played(self, info: dict[str, Any]) -> None:
        self.played += 1
        self.played_s += info["seconds"]
        self.on_play(info)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Listen until stop(): connect, subscribe to audio, play; on a drop, reconnect.
        A refusal that retrying cannot fix (wrong token, protocol version) ends it, with
        the reason in `failure`."""
        remote = RemoteListener(self.backend, on_play=self._played)
        attempt, said = 0, ""  # said: the last reason for not connecting that was reported
        while not self._stop.is_set():
            client = EngineClient("listener")
            closed = asyncio.Event()
            client.on_close = closed.set

            def on_event(msg: dict[str, Any], blob: bytes | None) -> None:
                if msg.get("event") != "audio":
                    return
                try:
                    remote(blob or b"", int(msg.get("rate", 0)), msg.get("audio") or {})
                    self.received += 1
                except EngineError as e:
                    self.on_status(f"skipped audio: {e.message}")
            client.on_event = on_event
            try:
                await self.endpoint.connect(client)
                await client.call("engine.subscribe", {"topics": ["audio"]})
            except (Unauthorized, ProtocolError) as e:
                await client.close()  # said once, by whoever reads `failure`
                self.failure = f"the engine at {self.endpoint} refused: {e.message}"
                break
            except (EngineUnavailable, EngineError, OSError) as e:
                await client.close()
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                if str(e) != said:  # a line per new reason, not one per retry
                    said = str(e)
                    self.on_status(f"no engine at {self.endpoint} ({e}); retrying every "
                                   f"{RETRY_DELAYS[-1]:g} s or sooner until it answers")
                attempt += 1
                self.refused += 1
                await _wait_either(self._stop.wait(), asyncio.sleep(delay))
                continue
            attempt, said = 0, ""
            self.connections += 1
            self.on_status(f"listening to the engine at {self.endpoint}")
            await _wait_either(self._stop.wait(), closed.wait())
            await client.close()
            if not self._stop.is_set():
                self.backend.stop()
                self.on_status("the connection dropped; reconnecting")
        self.backend.stop()


async def _wait_either(*aws: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
