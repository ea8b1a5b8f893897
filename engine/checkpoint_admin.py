"""Looking after installed checkpoints beyond pull/import/verify (engine/checkpoints.py):
removing one, and finding the partial download a pull would resume.

Kept apart from checkpoints.py so the installing code stays one module; this one only
reads the manifest and the install folders through checkpoints' public functions.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path, PurePosixPath

from engine import checkpoints as ck
from engine.errors import BadRequest, ModelNotInstalled
from engine.paths import checkpoints_dir


def partial_download(info: ck.CheckpointInfo, url: str | None = None) -> Path:
    """Where `ck.pull` keeps the unfinished download of `info` (it may not exist): the
    same name pull derives from the URL, so a later pull resumes it."""
    src = url or info.url
    fname = PurePosixPath(urllib.parse.urlparse(src).path).name or info.archive_filename
    return checkpoints_dir() / ck.DOWNLOADS / (fname + ".part")


def partial_bytes(info: ck.CheckpointInfo) -> int:
    """Bytes of an interrupted download of `info` that the next pull resumes (0: none)."""
    if not info.url or info.custom or info.shipped:
        return 0
    try:
        return partial_download(info).stat().st_size
    except OSError:
        return 0


def remove(name: str) -> Path:
    """Delete installed checkpoint NAME (and any partial download of it); returns the
    folder removed. Refuses the starter models that ship with magstation and anything
    that is not a folder directly inside the checkpoints folder."""
    info = ck.get_info(name)
    if info.shipped:
        raise BadRequest(f"{info.name} ships with magstation (checkpoints/{info.shipped}) and "
                         f"is what the panes fall back to; it cannot be removed", name=info.name)
    folder = info.install_dir
    root = checkpoints_dir()
    if folder.is_symlink() or folder.parent.resolve() != root.resolve():
        raise BadRequest(f"{folder} is not a folder magstation installed into {root}; remove "
                         f"it by hand if you mean to", name=info.name, path=str(folder))
    part = partial_download(info) if info.url and not info.custom else None
    had_part = part is not None and part.is_file()
    if not folder.is_dir():
        if had_part:
            part.unlink(missing_ok=True)
            return part
        raise ModelNotInstalled(f"{info.name} is not installed ({folder} does not exist)",
                                name=info.name)
    # Move it aside first: a half-deleted folder must never look installed.
    trash = folder.with_name(f".{folder.name}.removing-{os.getpid()}")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)
    if had_part:
        part.unlink(missing_ok=True)
    return folder
