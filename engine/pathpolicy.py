"""The engine's one policy for the files a request names (docs/paths.md).

Reading -- `readable_file(path, what)`: `~` is expanded and only a regular file (or a
symlink to one) is accepted. A folder, a named pipe (FIFO), a device (`/dev/zero`), a
socket or a missing file is refused with a `BadInput` that names the file, the request
parameter (`what`) and the fix. The check is a `stat`, never an `open`: opening a FIFO
blocks until a writer comes, and reading a device may never end. `read_bytes` also opens
without blocking (O_NONBLOCK) and checks the open file again, so a file swapped for a
FIFO between the check and the read is refused as well.

Writing -- `output_file(folder, name, overwrite=..., what=...)` (and `planned_outputs`
for several files at once) only ever answers paths *inside* the chosen folder:

- a name must be a plain file name: not empty, no `/` (or the OS's other separator), no
  NUL, not `.` or `..`, valid UTF-8, at most 255 bytes; anything else is a `BadRequest`
  naming the parameter. Nothing is silently cut down to a base name.
- an existing entry (a file, a symlink -- dangling or not --, a FIFO...) is never
  replaced unless `overwrite`; `OutputExists` lists what is there. A folder in the way
  is a `BadRequest` even with `overwrite`.
- folders: a user's folder must exist, or be missing only its last component when
  `create_folder` (a `folder` parameter) -- the engine then makes just that folder, never
  its parents. A `path` parameter's folder must exist. Folders inside the engine's own
  home ($MAGSTATION_HOME) are the engine's and are made as needed, 0700.
- the checks have no side effects: the folder is made by the first write
  (engine.fsutil.atomic_write, a temp file in the same folder renamed onto the name).
  The rename replaces a symlink *itself*, so a link at the target is never followed to
  write outside the folder; without `overwrite` the rename is a no-clobber link, so a
  file that appears in between is not replaced either.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from engine import paths
from engine.errors import BadInput, BadRequest, OutputExists

NAME_MAX = 255  # bytes, the usual limit of one path component

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def _as_path(path: str | os.PathLike, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise BadRequest(f"`{what}` must be the path of a file, got {path!r}", param=what)
    p = Path(os.fspath(path))
    if "\x00" in str(p):
        raise BadRequest(f"`{what}` contains a NUL character; give a real path", param=what)
    try:
        return p.expanduser()
    except RuntimeError:  # "~nosuchuser/..."
        return p


# ------------------------------------------------------------------------------ reading

def readable_file(path: str | os.PathLike, what: str, *, expect: str = "a file",
                  noun: str = "file") -> Path:
    """`path` (with `~` expanded) if it is a regular file; `BadInput` otherwise, with
    `details` path, param (= `what`) and reason (missing / not_a_file / unreadable).
    Never opens the file, so it cannot block. `expect` says what the user should give,
    e.g. "a SoundFont (.sf2)"; `noun` names it in "no such <noun>"."""
    p = _as_path(path, what)
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise BadInput(f"{p}: no such {noun} (`{what}`), cannot read it. Check the path.",
                       path=str(p), param=what, reason="missing") from None
    except OSError as e:
        raise BadInput(f"{p}: cannot be read ({e.strerror}) (`{what}`). Check the path and "
                       "its permissions.", path=str(p), param=what, reason="unreadable") from None
    _require_regular(p, st.st_mode, what, expect)
    return p


def _require_regular(p: Path, mode: int, what: str, expect: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = _kind(mode)
    fix = (f"give the path of {expect} inside it" if stat.S_ISDIR(mode)
           else f"the engine reads only regular files: give the path of {expect}")
    raise BadInput(f"{p} is {kind}, not a regular file (`{what}`); {fix}.",
                   path=str(p), param=what, reason="not_a_file", kind=kind)


def read_bytes(path: str | os.PathLike, what: str, *, expect: str = "a file",
               noun: str = "file", max_bytes: int | None = None) -> bytes:
    """The contents of a regular file (see `readable_file`), opened without blocking and
    checked again once open. `max_bytes`: a bigger file is a `BadInput` (too_large)."""
    p = readable_file(path, what, expect=expect, noun=noun)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        raise BadInput(f"{p}: cannot be read ({e.strerror}) (`{what}`). Check the path and "
                       "its permissions.", path=str(p), param=what, reason="unreadable") from None
    try:
        st = os.fstat(fd)
        _require_regular(p, st.st_mode, what, expect)  # swapped since the stat?
        if max_bytes is not None and st.st_size > max_bytes:
            raise BadInput(f"{p}: the file is too large ({st.st_size / 2**20:.1f} MiB, limit "
                           f"{max_bytes / 2**20:.0f} MiB) (`{what}`); is it really {expect}?",
                           path=str(p), param=what, reason="too_large")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as e:
        raise BadInput(f"{p}: cannot be read ({e.strerror}) (`{what}`). Check the path and "
                       "its permissions.", path=str(p), param=what, reason="unreadable") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:  # it grew while we read
        raise BadInput(f"{p}: the file is too large (limit {max_bytes / 2**20:.0f} MiB) "
                       f"(`{what}`)", path=str(p), param=what, reason="too_large")
    return data


# ------------------------------------------------------------------------------ writing

def check_name(name: object, what: str) -> str:
    """`name` if it is a plain file name (see the module doc), else `BadRequest`."""
    if not isinstance(name, str) or not name:
        raise BadRequest(f"`{what}` must be a file name, got {name!r}", param=what)
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    bad = None
    if "\x00" in name:
        bad = "contains a NUL character"
    elif any(s in name for s in seps):
        bad = "contains a path separator (/)"
    elif name in (".", ".."):
        bad = "is a folder reference"
    else:
        try:
            size = len(name.encode("utf-8"))
        except UnicodeEncodeError:
            bad = "is not valid text (UTF-8)"
        else:
            if size > NAME_MAX:
                bad = f"is too long ({size} bytes, at most {NAME_MAX})"
    if bad:
        raise BadRequest(f"`{what}` {name!r} {bad}: give a plain file name; files are only "
                         "written inside the folder you chose", param=what, name=repr(name))
    return name


def _check_folder(folder: Path, what: str, create_folder: bool) -> None:
    """BadRequest unless `folder` is a folder, or may be made by the first write."""
    try:
        st = folder.stat()
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise BadRequest(f"{folder}: cannot use this folder ({e.strerror}) (`{what}`)",
                         path=str(folder), param=what) from None
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise BadRequest(f"{folder} is {_kind(st.st_mode)}, not a folder (`{what}`); "
                             "choose a folder", path=str(folder), param=what)
        return
    if paths.is_private(folder):
        return  # the engine's own home: made as needed, 0700
    if create_folder and folder.parent.is_dir():
        return  # just this folder is made, with the first write
    hint = (f"its parent {folder.parent} does not exist either" if create_folder
            else "create it first, or choose a folder that exists")
    raise BadRequest(f"{folder}: no such folder (`{what}`); {hint}. Nothing was created.",
                     path=str(folder), param=what)


def planned_outputs(folder: str | os.PathLike, names: Iterable[str], *, overwrite: bool,
                    what: str = "name", folder_what: str = "folder",
                    create_folder: bool = True) -> list[Path]:
    """`folder/name` for each name, once every check of the module doc passed: names are
    plain, the folder can be used, nothing is in the way unless `overwrite`
    (`OutputExists` lists every existing file). No side effects."""
    checked = [check_name(n, what) for n in names]
    fp = _as_path(folder, folder_what)
    _check_folder(fp, folder_what, create_folder)
    targets = [fp / n for n in checked]
    existing = []
    for t in targets:
        try:
            st = t.lstat()  # the entry itself: a symlink is not followed
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISDIR(st.st_mode):
            raise BadRequest(f"{t} is a folder; choose another name (`{what}`)",
                             path=str(t), param=what)
        existing.append(str(t))
    if existing and not overwrite:
        raise OutputExists(f"{', '.join(existing)} already exist(s); choose another name or "
                           "confirm overwrite", paths=existing, path=existing[0])
    return targets


def output_file(folder: str | os.PathLike, name: str, *, overwrite: bool,
                what: str = "name", folder_what: str = "folder",
                create_folder: bool = True) -> Path:
    """`folder/name` for one file; see `planned_outputs`."""
    return planned_outputs(folder, [name], overwrite=overwrite, what=what,
                           folder_what=folder_what, create_folder=create_folder)[0]


def output_path(path: str | os.PathLike, *, overwrite: bool, what: str = "path") -> Path:
    """A full output path given as one parameter: its folder must exist (or be inside
    the engine's home), its last part must be a plain name, an existing file is only
    replaced with `overwrite`."""
    p = _as_path(path, what)
    if p.name in ("", ".", "..") or str(p).endswith(("/", os.sep)):
        raise BadRequest(f"`{what}` {str(path)!r} must end with a file name", param=what)
    return output_file(p.parent, p.name, overwrite=overwrite, what=what, folder_what=what,
                       create_folder=False)


def work_folder(folder: str | os.PathLike) -> Path:
    """A job's own folder (ctx.work_dir), made if missing: 0700 inside the engine's home;
    elsewhere (the CLI's `--out` folder) as a plain `mkdir -p` under the user's umask."""
    p = Path(folder)
    if paths.is_private(p):
        return paths.ensure_dir(p)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadRequest(f"cannot make the folder {p}: {e.strerror or e}", path=str(p)) from None
    return p
