"""One pool for every loaded model (MusicVAE, MelodyRNN, GANSynth, NSynth): load once,
share between jobs, evict under a memory budget.

    model = model_pool.get(("musicvae", config, key), lambda: MusicVae.load(config, path))

- A model is keyed by what it was loaded from (family, config, the checkpoint's path and
  its files' mtime/size), so a re-imported model is loaded afresh and the old copy ages out.
- Inside `job_scope()` (the job runner wraps every job in one) a model taken with `get` is
  *in use* until the job ends; a model in use is never evicted. Outside a scope it is
  idle at once.
- When the models' total size passes the budget, idle models are evicted, least recently
  used first. A job that needs more than the budget still gets its model (the pool goes
  over budget rather than fail the job); it comes back under as jobs end.
- A model's size is the bytes of the arrays and tensors it holds (`model_bytes`), else
  the size of its checkpoint files (`size_hint`).

Budget: `MAGSTATION_MODEL_BUDGET_MB`, else `model_budget_mb` under `[engine]` in
config.toml, else half the machine's memory (at least 1 GB). No TensorFlow here.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterator

from engine.errors import BadInput

_MIN_DEFAULT_MB = 1024


def default_budget_bytes() -> int:
    """The budget from the environment, config.toml or the machine's memory."""
    env = os.environ.get("MAGSTATION_MODEL_BUDGET_MB")
    if env:
        try:
            mb = float(env)
            if mb <= 0:
                raise ValueError
        except ValueError:
            raise BadInput(f"MAGSTATION_MODEL_BUDGET_MB={env!r}: give a positive number of "
                           "megabytes, e.g. 4096", param="MAGSTATION_MODEL_BUDGET_MB") from None
        return int(mb * 1024 * 1024)
    try:
        from engine.config import load_engine_config
        mb_cfg = load_engine_config().model_budget_mb
    except Exception:  # a broken config.toml is reported where the engine starts
        mb_cfg = None
    if mb_cfg:
        return int(mb_cfg * 1024 * 1024)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 0
    return max(_MIN_DEFAULT_MB * 1024 * 1024, total // 2)


def model_bytes(model: Any, max_depth: int = 6) -> int:
    """Bytes of the numpy arrays and TF tensors/variables a model object holds, found
    through its attributes, lists, tuples and dicts (only into engine's own objects, so
    TensorFlow's internals are not walked). Each array counts once."""
    import numpy as np

    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> int:
        if id(obj) in seen or depth > max_depth:
            return 0
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            return int(obj.nbytes)
        if isinstance(obj, (str, bytes, int, float, bool, type(None))):
            return 0
        if isinstance(obj, dict):
            return sum(walk(v, depth + 1) for v in obj.values())
        if isinstance(obj, (list, tuple, set, frozenset)):
            return sum(walk(v, depth + 1) for v in obj)
        mod = type(obj).__module__ or ""
        if mod.startswith("tensorflow"):
            shape, dtype = getattr(obj, "shape", None), getattr(obj, "dtype", None)
            try:
                return int(shape.num_elements()) * int(dtype.size)
            except (AttributeError, TypeError, ValueError):
                return 0  # a tf.function, a layer...: not weights we can count
        if not mod.startswith("engine"):
            return 0
        total = 0
        for v in getattr(obj, "__dict__", {}).values():
            total += walk(v, depth + 1)
        for slot in getattr(type(obj), "__slots__", ()):
            total += walk(getattr(obj, slot, None), depth + 1)
        return total

    return walk(model, 0)


@dataclass
class _Entry:
    key: Hashable
    model: Any
    nbytes: int
    label: str
    users: int = 0  # running jobs holding it
    last_used: float = field(default_factory=time.monotonic)


# The leases of the job running in this thread/context: keys taken with `get`.
_scope: contextvars.ContextVar[list | None] = contextvars.ContextVar("model_pool_scope",
                                                                   default=None)


class ModelPool:
    def __init__(self, budget_bytes: int | None = None) -> None:
        self._budget = budget_bytes
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}
        self._loading: dict[Hashable, threading.Event] = {}
        self.evicted: list[str] = []  # labels of evicted models, oldest first (status, tests)

    @property
    def budget(self) -> int:
        if self._budget is None:
            self._budget = default_budget_bytes()
        return self._budget

    def set_budget(self, budget_bytes: int | None) -> None:
        """A new budget (None: read it again from the environment/config); evicts to fit."""
        with self._lock:
            self._budget = budget_bytes
            self._evict_to_fit(0)

    def get(self, key: Hashable, loader: Callable[[], Any], *, label: str = "",
            size_hint: int = 0) -> Any:
        """The model for `key`, loaded with `loader()` unless the pool has it (a load in
        progress for the same key is waited for, not repeated). In a `job_scope` the model
        stays in use until the scope ends."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._lease(entry)
                    return entry.model
                pending = self._loading.get(key)
                if pending is None:
                    pending = self._loading[key] = threading.Event()
                    self._evict_to_fit(size_hint)  # room before the load, where we can guess
                    break
            pending.wait()  # another job is loading it; then take it from the pool
        try:
            model = loader()
        except BaseException:
            with self._lock:
                del self._loading[key]
            pending.set()
            raise
        nbytes = model_bytes(model) or size_hint
        with self._lock:
            entry = _Entry(key, model, nbytes, label or str(key))
            self._entries[key] = entry
            self._lease(entry)
            del self._loading[key]
            self._evict_to_fit(0)
        pending.set()
        return model

    def _lease(self, entry: _Entry) -> None:
        entry.last_used = time.monotonic()
        leases = _scope.get()
        if leases is not None:
            entry.users += 1
            leases.append(entry.key)

    def _release(self, keys: list) -> None:
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.users = max(0, entry.users - 1)
                    entry.last_used = time.monotonic()
            self._evict_to_fit(0)

    def _evict_to_fit(self, incoming: int) -> None:
        """Evict idle models, least recently used first, until the models plus `incoming`
        bytes fit the budget (or only models in use are left). Holds self._lock."""
        total = sum(e.nbytes for e in self._entries.values()) + incoming
        budget = self.budget
        if total <= budget:
            return
        for entry in sorted(self._entries.values(), key=lambda e: e.last_used):
            if total <= budget:
                break
            if entry.users == 0:
                del self._entries[entry.key]
                self.evicted.append(entry.label)
                total -= entry.nbytes
        if len(self.evicted) > 100:
            del self.evicted[:-100]

    @contextlib.contextmanager
    def job_scope(self) -> Iterator[None]:
        """Models taken inside are in use (never evicted) until the block ends."""
        leases: list = []
        token = _scope.set(leases)
        try:
            yield
        finally:
            _scope.reset(token)
            self._release(leases)

    def peek(self, key: Hashable) -> Any:
        """The pooled model for `key`, or None; takes no lease."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.model if entry is not None else None

    def put(self, key: Hashable, model: Any, *, label: str = "") -> None:
        """Add a model loaded elsewhere (a benchmark, a test's shared fixture), idle."""
        with self._lock:
            self._entries[key] = _Entry(key, model, model_bytes(model), label or str(key))
            self._evict_to_fit(0)

    def discard(self, match: Callable[[Hashable], bool]) -> int:
        """Drop the idle models whose key `match`es (a model removed from disk)."""
        with self._lock:
            gone = [k for k, e in self._entries.items() if e.users == 0 and match(k)]
            for k in gone:
                del self._entries[k]
            return len(gone)

    def clear(self) -> None:
        """Forget every idle model (tests; models in use stay until their jobs end)."""
        self.discard(lambda k: True)

    def status(self) -> dict:
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: -e.last_used)
            return {"budget": self.budget, "used": sum(e.nbytes for e in entries),
                    "models": [{"model": e.label, "bytes": e.nbytes, "in_use": e.users}
                               for e in entries],
                    "evicted": list(self.evicted[-10:])}


POOL = ModelPool()


def get(key: Hashable, loader: Callable[[], Any], *, label: str = "", size_hint: int = 0) -> Any:
    return POOL.get(key, loader, label=label, size_hint=size_hint)


def job_scope():
    return POOL.job_scope()


def file_key(path: os.PathLike | str) -> tuple:
    """What changes when a checkpoint is replaced: the path and its files' mtime and size
    (a prefix's .index/.data files, a folder's contents, a single file). Every job asks,
    so a prefix's folder is listed with one scandir (pathlib's glob cost 30 us a job)."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        stats = [(f.name, *_mtime_size(f.stat())) for f in files]
    elif p.is_file():
        stats = [(p.name, *_mtime_size(p.stat()))]
    else:
        prefix = p.name + "."
        try:
            with os.scandir(p.parent) as entries:
                stats = sorted((e.name, *_mtime_size(e.stat())) for e in entries
                               if e.name.startswith(prefix) and e.is_file())
        except OSError:
            stats = []
    return (str(p.resolve()), tuple(stats))


def _mtime_size(st: os.stat_result) -> tuple[int, int]:
    return st.st_mtime_ns, st.st_size


def files_size(key: tuple) -> int:
    """The checkpoint files' total size from a `file_key` (a size hint before loading)."""
    return sum(size for _, _, size in key[1])
