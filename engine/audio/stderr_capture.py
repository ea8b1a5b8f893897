"""Keep native audio libraries' chatter off the terminal.

libasound, libpulse and libmpg123 print straight to file descriptor 2 from C, which
Python's `sys.stderr` redirection cannot catch and which would scribble over the TUI.
`capture_stderr()` points fd 2 at a temp file for the duration of a block and hands
back what was written, so callers can put it in an error's details or a debug log.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

log = logging.getLogger(__name__)

# fd 2 is process-wide: two threads redirecting it at once would restore each other's
# saved descriptors in the wrong order, so captures are serialised (re-entrant).
_lock = threading.RLock()


@dataclass
class Captured:
    text: str = ""

    def tail(self, lines: int = 3) -> str:
        """The last few non-empty lines, for a one-line error message."""
        kept = [ln.strip() for ln in self.text.splitlines() if ln.strip()]
        return " | ".join(kept[-lines:])


def _flush_python_stderr() -> None:
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass


@contextmanager
def capture_stderr() -> Iterator[Captured]:
    """Redirect fd 2 to a temp file inside the block; the result's `.text` is filled in
    when the block exits (also when it raises)."""
    cap = Captured()
    with _lock:
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 at all (a daemon with closed stdio): nothing to guard
            yield cap
            return
        try:
            with tempfile.TemporaryFile() as tmp:
                _flush_python_stderr()
                os.dup2(tmp.fileno(), 2)
                try:
                    yield cap
                finally:
                    _flush_python_stderr()
                    os.dup2(saved, 2)
                    tmp.seek(0)
                    cap.text = tmp.read().decode("utf-8", errors="replace")
                    if cap.text:
                        log.debug("captured native stderr: %s", cap.text)
        finally:
            os.close(saved)
