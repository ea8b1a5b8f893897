"""Atomic writes of user data: a temp file in the same folder, fsync, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, IO

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import (os.umask can only be read by setting it)


def atomic_write(path: str | os.PathLike, writer: Callable[[IO[bytes]], None]) -> Path:
    """Call `writer` with a binary file object, then move the result onto `path`.

    Readers see either the old file or the complete new one, never a partial one;
    if `writer` raises, the temp file is removed and `path` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        # mkstemp makes 0600; a user's file gets the mode a plain open() would give it.
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
