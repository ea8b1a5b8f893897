"""The engine's wire protocol (docs/protocol.md): typed messages both sides import.
No TensorFlow or numpy here: the TUI imports it.

Framing: one JSON object per line (UTF-8, terminated by '\\n'). A message whose
header has `"nbytes": N` is followed by exactly N raw bytes (audio for listeners).
Every message is one of the structs below, told apart by its "type" field.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Literal, Union

import msgspec

PROTOCOL_VERSION = 1
MAX_LINE = 1 << 20  # a header line longer than 1 MiB is a protocol error
MAX_BLOB = 256 << 20

# Message types, client -> engine
HELLO, REQUEST, CANCEL = "hello", "request", "cancel"
# engine -> client
WELCOME, ACCEPTED, PROGRESS, RESULT, ERROR, EVENT = (
    "welcome", "accepted", "progress", "result", "error", "event")

RequestId = Union[str, int]
ErrorCode = Literal["bad_request", "unknown_method", "model_not_installed", "checkpoint_error",
                    "bad_input", "output_exists", "playback_unavailable", "cancelled",
                    "unauthorized", "protocol_error", "engine_error"]


class _Msg(msgspec.Struct, tag_field="type", kw_only=True):
    pass


# -- client -> engine -------------------------------------------------------------------

class Hello(_Msg, tag=HELLO):
    """First message of a connection; `token` only over TCP."""
    v: int
    client: str = "client"
    token: str | None = None


class Request(_Msg, tag=REQUEST):
    """Run `method` with `params` (checked against the method's declaration)."""
    id: RequestId
    method: str
    params: dict[str, Any] = {}
    v: int = PROTOCOL_VERSION


class Cancel(_Msg, tag=CANCEL):
    """Cancel the request `id` of this connection."""
    id: RequestId
    v: int = PROTOCOL_VERSION


ClientMessage = Union[Hello, Request, Cancel]


# -- engine -> client -------------------------------------------------------------------

class Welcome(_Msg, tag=WELCOME):
    engine: str
    pid: int
    protocol: int
    client_id: str
    v: int = PROTOCOL_VERSION


class Accepted(_Msg, tag=ACCEPTED):
    """A job was queued; `params` as it will run (a drawn seed filled in)."""
    id: str
    job: str
    params: dict[str, Any]
    queued: int
    v: int = PROTOCOL_VERSION


class Progress(_Msg, tag=PROGRESS):
    id: str
    done: float
    total: float
    message: str = ""
    eta_s: float | None = None
    v: int = PROTOCOL_VERSION


class Result(_Msg, tag=RESULT):
    id: str
    result: dict[str, Any]
    cached: bool = False
    elapsed_s: float | None = None
    v: int = PROTOCOL_VERSION


class ErrorInfo(msgspec.Struct, kw_only=True):
    code: str
    message: str
    details: dict[str, Any] = {}


class Error(_Msg, tag=ERROR):
    """A request failed (`id`), or a frame could not be read (`id` null)."""
    id: str | None
    error: ErrorInfo
    v: int = PROTOCOL_VERSION


class Event(_Msg, tag=EVENT):
    """A broadcast to subscribers: `jobs` (queue snapshot), `audio` (PCM follows as
    `nbytes` raw bytes), `audio_dropped` (a slow listener lost the oldest audio),
    `transport` (the player's state when it changes), `output` (where sound goes),
    `batches` (the batch and training runs on this machine and their progress), `config`
    (how the engine runs: its socket, TCP address, playback, memory budget; once)."""
    event: str
    jobs: list[dict[str, Any]] | None = None
    batches: list[dict[str, Any]] | None = None
    transport: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    rate: int | None = None
    audio: dict[str, Any] | None = None
    dropped: int | None = None
    seconds: float | None = None
    nbytes: int | None = None
    v: int = PROTOCOL_VERSION


EngineMessage = Union[Welcome, Accepted, Progress, Result, Error, Event]
ALL_MESSAGES: tuple[type[_Msg], ...] = (Hello, Request, Cancel, Welcome, Accepted, Progress,
                                        Result, Error, Event)

_client_decoder = msgspec.json.Decoder(ClientMessage)
_engine_decoder = msgspec.json.Decoder(EngineMessage)
_encoder = msgspec.json.Encoder()


class FrameError(Exception):
    """The byte stream cannot be parsed into frames; `fatal` means the connection must close.
    `request_id` is the id of the request the bad line seemed to carry, when it can be told."""

    def __init__(self, message: str, fatal: bool = False, request_id: str | None = None,
                 is_request: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.request_id = request_id
        self.is_request = is_request  # a request whose fields are wrong: bad_request, not protocol_error


def encode(msg: _Msg | dict[str, Any], blob: bytes | None = None) -> bytes:
    if isinstance(msg, dict):
        if blob is not None:
            msg = {**msg, "nbytes": len(blob)}
        line = json.dumps(msg, separators=(",", ":"), allow_nan=False).encode()
    else:
        if blob is not None:
            msg = msgspec.structs.replace(msg, nbytes=len(blob))  # type: ignore[call-arg]
        line = _encoder.encode(msg)
    return line + b"\n" + (blob if blob is not None else b"")


def decode_client(line: bytes) -> ClientMessage:
    """A client's message, typed; FrameError names what is wrong (and the request id when
    the line is JSON enough to have one)."""
    try:
        return _client_decoder.decode(line)
    except (msgspec.DecodeError, RecursionError) as e:
        kind = "not JSON" if _not_json(line) else "not a hello, request or cancel"
        rid, is_request = _guess_id(line)
        raise FrameError(f"malformed message ({kind}): {_reason(e)}", request_id=rid,
                         is_request=is_request) from None


def _not_json(line: bytes) -> bool:
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError:
        return True
    except RecursionError:
        return False
    return False


def decode_engine(line: bytes) -> EngineMessage:
    try:
        return _engine_decoder.decode(line)
    except (msgspec.DecodeError, RecursionError) as e:
        raise FrameError(f"malformed message from the engine: {_reason(e)}") from None


def _reason(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    text = str(e)
    return text if len(text) < 300 else text[:297] + "..."


_REQUEST_HEAD = re.compile(rb'\s*\{\s*"type"\s*:\s*"request"\s*,\s*"id"\s*:\s*'
                           rb'(?:"([^"\\\x80-\xff]{1,200})"|(-?\d{1,20}))')


def _guess_id(line: bytes) -> tuple[str | None, bool]:
    """(id, is a request) of a line that failed typed decoding (NaN in params, a wrong
    field type), so its sender gets an error it can match instead of waiting forever."""
    if len(line) > MAX_LINE:
        return None, False
    try:
        obj = json.loads(line)  # Python's json accepts NaN/Infinity; msgspec does not
    except (ValueError, RecursionError):
        m = _REQUEST_HEAD.match(line)  # too deep or not UTF-8 further on: read the head
        if m is None:
            return None, False
        return (m.group(1) or m.group(2)).decode(), True
    if not isinstance(obj, dict) or obj.get("type") != REQUEST:
        return None, False
    rid = obj.get("id")
    if isinstance(rid, (str, int)) and not isinstance(rid, bool):
        return str(rid), True
    return None, True


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """One header line; None at a clean end of stream."""
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise FrameError("connection closed in the middle of a message", fatal=True) from None
    except asyncio.LimitOverrunError:
        raise FrameError(f"message header longer than {MAX_LINE} bytes", fatal=True) from None


async def read_blob(reader: asyncio.StreamReader, n: int | None) -> bytes | None:
    if n is None:
        return None
    if n < 0 or n > MAX_BLOB:
        raise FrameError(f"bad nbytes {n!r}", fatal=True)
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise FrameError("connection closed in the middle of a binary payload", fatal=True) from None


async def read_engine_frame(reader: asyncio.StreamReader) -> tuple[EngineMessage, bytes | None] | None:
    """The client side: one typed engine message and its payload; None at end of stream."""
    line = await read_line(reader)
    if line is None:
        return None
    msg = decode_engine(line)
    blob = await read_blob(reader, msg.nbytes if isinstance(msg, Event) else None)
    return msg, blob


async def read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes | None] | None:
    """Any message as plain data, and its payload (tools and tests); None at end of stream."""
    line = await read_line(reader)
    if line is None:
        return None
    try:
        msg = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError) as e:
        raise FrameError(f"malformed message (not JSON): {_reason(e)}") from None
    if not isinstance(msg, dict):
        raise FrameError("malformed message: expected a JSON object")
    n = msg.get("nbytes")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
        raise FrameError(f"bad nbytes {n!r}", fatal=True)
    return msg, await read_blob(reader, n)


def as_dict(msg: _Msg) -> dict[str, Any]:
    """A message as plain data (for callbacks that take dicts), "type" included."""
    return msgspec.to_builtins(msg)
