"""A recorded engine link: real engine messages, saved once, replayed in tests.

`RecordingClient` is the real EngineClient that also writes down every request it sends
(method and params) with the messages the engine answered it with, and every event the
engine pushed. `ReplayLink` is the app's EngineLink with no engine process behind it: each
request is matched to an unused recorded one by method and params, and gets the recorded
accepted/progress/result/error messages; the events recorded after that request follow it.
So a snapshot test presses the same keys as the recording session and sees the real
engine's replies, fast and the same every run.

Recordings live in tests/fixtures/recorded/*.jsonl, one JSON object a line:
  {"kind": "request", "method": m, "params": p, "replies": [engine message, ...]}
  {"kind": "event", "msg": engine event}
Paths under the recording's MAGSTATION_HOME and the repository are written as $HOME and
$ROOT, so the replay works from any checkout and any temp home. They are made by
tests/reference/record_engine_sessions.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from engine import protocol as P
from engine.api.base import Params, method_of
from engine.client import EngineClient, ProgressCallback, Request
from tui.engine_link import READY, EngineLink

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "fixtures" / "recorded"


# -- paths: $HOME and $ROOT in the file, real paths in memory --------------------------

def map_strings(value: Any, fn) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


def portable(value: Any, home: Path) -> Any:
    """`value` with the home and repository paths written as $HOME and $ROOT."""
    pairs = sorted([(str(home), "$HOME"), (str(ROOT), "$ROOT")], key=lambda p: -len(p[0]))

    def fn(s: str) -> str:
        for real, token in pairs:
            s = s.replace(real, token)
        return s
    return map_strings(value, fn)


def local(value: Any, home: Path) -> Any:
    """The inverse of `portable` for this run's home."""
    return map_strings(value, lambda s: s.replace("$HOME", str(home)).replace("$ROOT", str(ROOT)))


# -- the file ---------------------------------------------------------------------------

@dataclass
class Exchange:
    method: str
    params: dict[str, Any]
    replies: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # pushed before the next request


@dataclass
class Recording:
    opening_events: list[dict[str, Any]]  # pushed before the first request
    exchanges: list[Exchange]

    @classmethod
    def load(cls, path: Path) -> "Recording":
        opening: list[dict[str, Any]] = []
        exchanges: list[Exchange] = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry["kind"] == "request":
                exchanges.append(Exchange(entry["method"], entry["params"], entry["replies"]))
            elif entry["kind"] == "event":
                (exchanges[-1].events if exchanges else opening).append(entry["msg"])
            else:
                raise ValueError(f"{path}:{n}: unknown kind {entry['kind']!r} (request or event)")
        for msg in [*opening, *(m for x in exchanges for m in [*x.replies, *x.events])]:
            P.decode_engine(json.dumps(msg).encode())  # each one must still be a valid message
        return cls(opening, exchanges)

    def find(self, method: str, params: dict[str, Any], used: set[int]) -> int | None:
        for i, x in enumerate(self.exchanges):
            if i not in used and x.method == method and x.params == params:
                return i
        return None


# -- recording --------------------------------------------------------------------------

class RecordingClient(EngineClient):
    """The real client; `log` gets each request with its replies, and each event, in order."""

    log: list[dict[str, Any]] = []  # the session being recorded (set by the recorder)

    async def start(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                    on_progress: ProgressCallback | None = None) -> Request:
        if isinstance(method, Params):
            method, params = method_of(method), method
        raw = msgspec.to_builtins(params) if isinstance(params, Params) else dict(params or {})
        entry = {"kind": "request", "method": method, "params": raw, "replies": [], "id": None}
        self.log.append(entry)
        req = await super().start(method, raw, on_progress)
        entry["id"] = req.id
        return req

    def _handle(self, msg: P.EngineMessage, blob: bytes | None) -> None:
        if isinstance(msg, P.Event):
            if msg.event in ("jobs", "transport", "output", "batches"):  # not audio PCM
                self.log.append({"kind": "event", "msg": P.as_dict(msg)})
        elif not isinstance(msg, P.Welcome):
            for entry in self.log:
                if entry["kind"] == "request" and entry["id"] == msg.id:
                    entry["replies"].append(P.as_dict(msg))
        super()._handle(msg, blob)


def write_recording(path: Path, log: list[dict[str, Any]], home: Path) -> None:
    lines = []
    for entry in log:
        entry = {k: v for k, v in entry.items() if k != "id"}
        lines.append(json.dumps(portable(entry, home), sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


# -- replay -----------------------------------------------------------------------------

class ReplayClient(EngineClient):
    """Answers from a recording instead of a socket. A request that was not recorded gets
    an error `not_recorded` and is listed in `unmatched`, so a test can fail on it."""

    def __init__(self, recording: Recording, home: Path) -> None:
        super().__init__("tui")
        self.recording = recording
        self.home = home
        self.used: set[int] = set()
        self.unmatched: list[tuple[str, dict[str, Any]]] = []
        self._open = True

    @property
    def connected(self) -> bool:
        return self._open

    async def close(self) -> None:
        self._open = False

    def push(self, msg: dict[str, Any]) -> None:
        self._handle(P.decode_engine(json.dumps(local(msg, self.home)).encode()), None)

    async def start(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                    on_progress: ProgressCallback | None = None) -> Request:
        if isinstance(method, Params):
            method, params = method_of(method), method
        raw = msgspec.to_builtins(params) if isinstance(params, Params) else dict(params or {})
        rid = f"{self.name}-{next(self._ids)}"
        req = Request(self, rid, on_progress)
        self._pending[rid] = req
        i = self.recording.find(method, portable(raw, self.home), self.used)
        loop = asyncio.get_running_loop()
        if i is None:
            self.unmatched.append((method, raw))
            error = {"type": "error", "id": rid, "error": {
                "code": "not_recorded",
                "message": f"{method} with these params is not in the recording; re-record with "
                           "tests/reference/record_engine_sessions.py"}}
            loop.call_soon(self.push, error)
            return req
        self.used.add(i)
        x = self.recording.exchanges[i]
        for msg in [*({**m, "id": rid} for m in x.replies), *x.events]:
            loop.call_soon(self.push, msg)
        return req


class ReplayLink(EngineLink):
    """The app's engine link over a recording: ready at once, no process, no socket."""

    def __init__(self, app, recording: Recording, home: Path) -> None:
        super().__init__(app, autostart=False)
        self.replay = ReplayClient(recording, home)

    async def _run(self) -> None:
        client = self.replay
        client.on_event = self._on_event
        self.client = client
        self.pid = 0
        self._set(READY, "replaying a recording")
        for msg in client.recording.opening_events:
            client.push(msg)
        await asyncio.Event().wait()  # until stop() cancels it
