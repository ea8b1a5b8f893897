"""Atomic writes of user data: a temp file in the same folder, fsync, then rename.
Files under the engine's home are private (0600 in 0700 folders)."""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

from engine import paths
from engine.errors import OutputExists

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import (os.umask can only be read by setting it)


def atomic_write(path: str | os.PathLike, writer: Callable[[IO[bytes]], None], *,
                 replace: bool = True) -> Path:
    """Call `writer` with a binary file object, then move the result onto `path`.

    Readers see either the old file or the complete new one, never a partial one;
    if `writer` raises, the temp file is removed and `path` is untouched. The temp file
    is made in `path`'s own folder, so the final rename never crosses file systems.

    The rename replaces the directory entry: a symlink at `path` is replaced, not
    followed. With `replace=False` an existing entry is never replaced (`OutputExists`),
    even one that appeared while `writer` ran.

    Files inside the engine's home (paths.is_private) are 0600 in 0700 folders whatever
    the umask; a user's file gets the mode a plain open() would give it (or keeps the
    mode of the file it replaces).
    """
    target = Path(path)
    private = paths.is_private(target)
    if private:
        paths.ensure_dir(target.parent)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    # hidden, and short enough for a 255-byte name limit whatever the target's length
    short = os.fsdecode(os.fsencode(target.name)[:200])
    fd, tmp = tempfile.mkstemp(prefix=f".{short}.", suffix=".part", dir=target.parent)
    try:
        if private:
            mode = paths.PRIVATE_FILE_MODE
        else:
            try:
                st = target.lstat()
                mode = (st.st_mode & 0o777 if stat.S_ISREG(st.st_mode)
                        else 0o666 & ~_UMASK)
            except OSError:
                mode = 0o666 & ~_UMASK
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            _link_no_clobber(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def _link_no_clobber(tmp: str, target: Path) -> None:
    """Put `tmp` at `target` unless something is there (then OutputExists)."""
    from engine.errors import OutputExists

    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExists(f"{target} already exists. Choose another name or confirm "
                           "overwrite.", path=str(target)) from None
    except OSError:  # no hard links here (FAT, some network shares): check, then rename
        if os.path.lexists(target):
            raise OutputExists(f"{target} already exists. Choose another name or confirm "
                               "overwrite.", path=str(target)) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def staged_path(target: Path) -> Path:
    """A hidden temporary name beside `target` (same folder, so placing it is a rename)."""
    return target.with_name(f".{target.name[:200]}.{os.getpid()}.staged")


@contextmanager
def written_together(targets: Sequence[Path], overwrite: bool) -> Iterator[list[Path]]:
    """Yields a temporary path beside each target; write them all in the block. When the
    block ends they are placed together (place_all); if it raises, none is and the
    temporaries are removed."""
    staged = [(staged_path(t), t) for t in targets]
    try:
        yield [tmp for tmp, _ in staged]
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    place_all(staged, overwrite)


def place_all(staged: list[tuple[Path, Path]], overwrite: bool) -> None:
    """Move staged files (tmp, target) onto their targets, all or none: an export of a
    WAV and its MIDI is both or neither. Without `overwrite`, a file that appeared
    meanwhile stops it all (OutputExists) and what was placed is taken back."""

    placed: list[Path] = []
    try:
        for tmp, target in staged:
            if overwrite:
                os.replace(tmp, target)
            else:
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise OutputExists(f"{target} already exists. Choose another name or "
                                       f"confirm overwrite.", path=str(target)) from None
                except OSError:  # no hard links here: check, then rename
                    if os.path.lexists(target):
                        raise OutputExists(f"{target} already exists. Choose another name "
                                           f"or confirm overwrite.", path=str(target)) from None
                    os.replace(tmp, target)
            placed.append(target)
    except BaseException:
        if not overwrite:
            for t in placed:
                try:
                    os.unlink(t)
                except OSError:
                    pass
        raise
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
