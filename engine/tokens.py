"""Where the engine's TCP token comes from: MAGSTATION_TOKEN, or a token file only its
owner can read (never the command line, where `ps` shows it to every user). No TF here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine import paths


class TokenError(Exception):
    """The token file cannot be used; the message says how to fix it."""


def default_token_file() -> Path:
    return paths.home() / "token"


def read_token_file(path: Path) -> str:
    """The token in `path` (first line, stripped). Refused when others may read the file."""
    try:
        st = path.stat()
    except OSError as e:
        raise TokenError(f"cannot read the token file {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise TokenError(f"the token file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise TokenError(f"the token file {path} can be read by others (mode "
                         f"{stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {path}`")
    try:
        text = path.read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TokenError(f"cannot read the token file {path}: {e}") from None
    if not text or not text[0].strip():
        raise TokenError(f"the token file {path} is empty; put a long random secret in it")
    return text[0].strip()


def engine_token(token_file: Path | None = None) -> str | None:
    """The token: MAGSTATION_TOKEN, else `token_file`, else the default token file if it
    exists, else None (no TCP)."""
    if token_file is not None:
        return read_token_file(token_file.expanduser())
    env = os.environ.get("MAGSTATION_TOKEN")
    if env:
        return env
    default = default_token_file()
    if default.exists():
        return read_token_file(default)
    return None
