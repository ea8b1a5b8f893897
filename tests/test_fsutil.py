"""Atomic writes: all or nothing, with ordinary file permissions."""

from __future__ import annotations

import os
import stat

import pytest

from engine.fsutil import atomic_write, atomic_write_text


def test_new_files_get_ordinary_permissions_and_existing_keep_theirs(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "hello")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    atomic_write_text(path, "again")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "again"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = atomic_write_text(tmp_path / "keep.txt", "precious")

    def half(fh):
        fh.write(b"partial")
        raise OSError("disk full")
    with pytest.raises(OSError):
        atomic_write(path, half)
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
