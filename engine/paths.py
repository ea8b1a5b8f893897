"""Where magstation keeps its files. One place for every path the engine and TUI share."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """User data: the SQLite store, result cache, autosaved session, logs.

    `MAGSTATION_HOME` overrides it (tests point it at a temp dir).
    """
    env = os.environ.get("MAGSTATION_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "magstation"


def checkpoints_dir() -> Path:
    """Installed model checkpoints: the project's `checkpoints/` unless
    `MAGSTATION_CHECKPOINTS` says otherwise."""
    env = os.environ.get("MAGSTATION_CHECKPOINTS")
    return Path(env).expanduser() if env else PROJECT_ROOT / "checkpoints"


def cache_dir() -> Path:
    return home() / "cache"


def default_socket_path() -> Path:
    """The engine's local socket. Kept short: AF_UNIX paths are limited to ~107 bytes."""
    env = os.environ.get("MAGSTATION_SOCKET")
    if env:
        return Path(env).expanduser()
    return home() / "engine.sock"


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def is_private(path: str | os.PathLike) -> bool:
    """True when `path` is the engine's home or inside it: the engine's own files
    (store, caches, logs, session), which only this user may read."""
    try:
        Path(path).expanduser().resolve().relative_to(home().resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def ensure_dir(path: Path, mode: int = PRIVATE_DIR_MODE) -> Path:
    """Make `path` and any missing parents with `mode` (0700), whatever the umask.
    Folders inside the engine's home that already exist and belong to this user are
    tightened to `mode` as well; anything else that exists is left as it is."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            continue  # another thread made it
        os.chmod(d, mode)  # mkdir's mode is cut by the umask
    if is_private(path):
        top = home().resolve()
        d = path.resolve()
        while True:
            _tighten(d, mode)
            if d == top or d == d.parent:
                break
            d = d.parent
    return path


def _tighten(d: Path, mode: int) -> None:
    try:
        st = d.stat()
        if st.st_uid == os.geteuid() and st.st_mode & 0o7777 != mode:
            os.chmod(d, mode)
    except OSError:
        pass
