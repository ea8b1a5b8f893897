"""The engine's wire protocol (see docs/protocol.md). No TensorFlow here: the TUI imports it.

Framing: one JSON object per line (UTF-8, terminated by '\\n'). A message whose
header has `"nbytes": N` is followed by exactly N raw bytes (audio for listeners).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

PROTOCOL_VERSION = 1
MAX_LINE = 1 << 20  # a header line longer than 1 MiB is a protocol error
MAX_BLOB = 256 << 20

# Message types, client -> engine
HELLO, REQUEST, CANCEL = "hello", "request", "cancel"
# engine -> client
WELCOME, ACCEPTED, PROGRESS, RESULT, ERROR, EVENT = (
    "welcome", "accepted", "progress", "result", "error", "event")


class FrameError(Exception):
    """The byte stream cannot be parsed into frames; `fatal` means the connection must close."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


def encode(msg: dict[str, Any], blob: bytes | None = None) -> bytes:
    if blob is not None:
        msg = {**msg, "nbytes": len(blob)}
    line = json.dumps(msg, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    return line + blob if blob is not None else line


async def read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes | None] | None:
    """Read one message; None at end of stream. Raises FrameError on garbage."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise FrameError("connection closed in the middle of a message", fatal=True) from None
    except asyncio.LimitOverrunError:
        raise FrameError(f"message header longer than {MAX_LINE} bytes", fatal=True) from None
    try:
        msg = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FrameError(f"malformed message (not JSON): {e}") from None
    if not isinstance(msg, dict):
        raise FrameError("malformed message: expected a JSON object")
    blob = None
    n = msg.get("nbytes")
    if n is not None:
        if not isinstance(n, int) or n < 0 or n > MAX_BLOB:
            raise FrameError(f"bad nbytes {n!r}", fatal=True)
        try:
            blob = await reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise FrameError("connection closed in the middle of a binary payload", fatal=True) from None
    return msg, blob
