"""The C heap (glibc malloc): how freed memory goes back to the system.

Much of TensorFlow's CPU memory comes from malloc (its oneDNN allocator pools the
large tensors itself, in regions it never returns). By default glibc raises
its mmap threshold (and its trim threshold with it) each time a large block is
freed, so soon every block up to 32 MB is carved from the heap and freed heap pages
stay resident: the per-note temporaries leave holes the process keeps, and the notes
a render keeps land on top of them. Measured on GANSynth's whole benchmark run
(`python -m bench.native_gansynth`, peak RSS): 906 MB by default, 871 MB with both
settings below (each alone: ~885 MB). Lower fixed thresholds (128 KB - 4 MB) saved
nearly as much but cost 3-8% of batch-8 speed (large blocks then come from fresh,
zeroed pages); the trim itself costs nothing measurable.

No-ops where the C library is not glibc (macOS, musl).
"""

from __future__ import annotations

import ctypes
import threading
from functools import cache

_M_MMAP_THRESHOLD = -3  # mallopt parameter number (malloc.h)
# glibc's largest (and its dynamic default's final) mmap threshold; setting it
# fixes it there and keeps the trim threshold at its 128 KB default.
_MMAP_THRESHOLD = 32 << 20

_lock = threading.Lock()
_tuned = False


@cache
def _glibc() -> ctypes.CDLL | None:
    """The process's own symbols (libc is loaded already: no library search, which
    would run `ldconfig` at every start); None where they hold no glibc malloc."""
    try:
        lib = ctypes.CDLL(None)
    except OSError:
        return None
    return lib if hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt") else None


def tune_heap() -> None:
    """Fix glibc's mmap threshold (once per process) so the heap top is trimmed
    after large frees instead of being kept as a 64 MB cushion."""
    global _tuned
    with _lock:
        if _tuned:
            return
        _tuned = True
        libc = _glibc()
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


def release_free_heap() -> None:
    """Return the heap's free pages to the system (`malloc_trim`). A few ms; call it
    after a burst of large temporaries (a GANSynth batch), not in tight loops."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
