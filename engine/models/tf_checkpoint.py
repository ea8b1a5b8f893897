"""Reading TF V2 checkpoints (`<prefix>.index` + `<prefix>.data-*`) by variable name.

Accepts a checkpoint prefix, a directory holding one, or a `.tar` of one (extracted once,
with path sanitisation, into the cache). Every failure becomes a CheckpointError that
names the file or variable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np

from engine.errors import CheckpointError
from engine.paths import cache_dir, ensure_dir

_REDOWNLOAD = "download it again (or run `magstation models verify`)"


def _file_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


def _prefix_in_dir(directory: Path) -> Path:
    state = directory / "checkpoint"
    if state.is_file():
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(str(directory))
        if latest and Path(latest + ".index").is_file():
            return Path(latest)
    indexes = sorted(directory.rglob("*.index"))
    if not indexes:
        raise CheckpointError(
            f"no checkpoint (*.index file) in {directory}; {_REDOWNLOAD}", path=str(directory))
    return indexes[0].with_suffix("")


def _extract_tar(tar_path: Path) -> Path:
    """Extract once into the cache, keyed by the tar's path, size and mtime."""
    key = hashlib.sha256(f"{tar_path.resolve()}|{_file_key(tar_path)}".encode()).hexdigest()[:16]
    target = cache_dir() / "checkpoints" / f"{tar_path.stem}-{key}"
    done = target / ".complete"
    if not done.is_file():
        tmp = target.with_name(target.name + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        ensure_dir(tmp)  # 0700, like every folder in the engine's home
        try:
            with tarfile.open(tar_path) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise CheckpointError(f"cannot unpack {tar_path}: {e}; {_REDOWNLOAD}",
                                  path=str(tar_path)) from e
        (tmp / ".complete").write_text("ok")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return _prefix_in_dir(target)


def resolve_prefix(path: str | os.PathLike) -> Path:
    """The checkpoint prefix for a prefix, a directory, or a `.tar` file."""
    p = Path(path).expanduser()
    if p.is_dir():
        prefix = _prefix_in_dir(p)
    elif p.is_file() and tarfile.is_tarfile(p):
        prefix = _extract_tar(p)
    elif p.suffix == ".index" and p.is_file():
        prefix = p.with_suffix("")
    else:
        prefix = p
    index = Path(str(prefix) + ".index")
    if not index.is_file():
        raise CheckpointError(f"checkpoint file {index} is missing; {_REDOWNLOAD}",
                              path=str(index))
    shards = list(prefix.parent.glob(prefix.name + ".data-*"))
    if not shards:
        raise CheckpointError(
            f"checkpoint data file {prefix}.data-00000-of-00001 is missing; {_REDOWNLOAD}",
            path=f"{prefix}.data-00000-of-00001")
    return prefix


def checkpoint_key(prefix: Path) -> str:
    """Changes whenever any file of the checkpoint changes (size or mtime)."""
    files = [Path(str(prefix) + ".index"), *sorted(prefix.parent.glob(prefix.name + ".data-*"))]
    return f"{prefix.resolve()}|" + "|".join(_file_key(f) for f in files)


def variable_shapes(prefix: Path) -> dict[str, tuple[int, ...]]:
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        return {k: tuple(v) for k, v in reader.get_variable_to_shape_map().items()}
    except (tf.errors.OpError, ValueError) as e:
        raise CheckpointError(f"cannot read checkpoint {prefix}: {_first_line(e)}; {_REDOWNLOAD}",
                              path=str(prefix)) from e


def read_variables(prefix: Path, names: list[str]) -> dict[str, np.ndarray]:
    """The named tensors as float32 arrays; CheckpointError names a missing or unreadable
    variable."""
    import tensorflow as tf

    shapes = variable_shapes(prefix)
    missing = [n for n in names if n not in shapes]
    if missing:
        raise CheckpointError(
            f"checkpoint {prefix} has no variable `{missing[0]}`"
            + (f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else "")
            + f"; is it the right model? {_REDOWNLOAD}",
            path=str(prefix), variable=missing[0])
    reader = tf.train.load_checkpoint(str(prefix))
    out: dict[str, np.ndarray] = {}
    for name in names:
        try:
            value = reader.get_tensor(name)
        except (tf.errors.OpError, ValueError, IndexError) as e:  # IndexError: short read
            raise CheckpointError(
                f"checkpoint {prefix} is damaged: reading `{name}` failed "
                f"({_first_line(e)}); {_REDOWNLOAD}", path=str(prefix), variable=name) from e
        value = np.asarray(value, dtype=np.float32)
        if value.shape != shapes[name]:
            raise CheckpointError(f"checkpoint {prefix}: `{name}` has shape {value.shape}, "
                                  f"index says {shapes[name]}; {_REDOWNLOAD}",
                                  path=str(prefix), variable=name)
        out[name] = value
    return out


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
