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


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path
