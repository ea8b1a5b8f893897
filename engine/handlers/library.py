"""Sample library methods: scan, list, tag, folders, import, overview, audition (plays
through the engine's player).

Quick database reads and writes (`list`, `tag`, `add_folder`, `remove_folder`) are answered
at once on the server thread, so browsing never waits behind a long model job. Anything
that reads audio is a job on the worker.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any

from engine import player
from engine.context import JobContext
from engine.errors import BadRequest, EngineError
from engine.methods import JobFunc, method
from engine.store import get_store

OVERVIEW_COLUMNS = (8, 1024)
OVERVIEW_BANDS = (4, 64)


def _db_errors(func: JobFunc) -> JobFunc:
    """A database problem becomes an engine error the client can show, not a dropped link."""
    @functools.wraps(func)
    def wrapped(params: dict, ctx: JobContext) -> dict:
        try:
            return func(params, ctx)
        except sqlite3.Error as e:
            raise EngineError(f"the library database {get_store().path} failed: {e}. "
                              "If it keeps happening, move the file aside and rescan.") from e
    return wrapped


def _str(params: dict, key: str, default: str | None = None) -> str:
    v = params.get(key, default)
    if not isinstance(v, str) or (default is None and not v):
        raise BadRequest(f"{key} must be a non-empty string, got {v!r}")
    return v


def _str_list(params: dict, key: str) -> list[Any]:
    v = params.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise BadRequest(f"{key} must be a list of strings, got {v!r}")
    return v


def _bool(params: dict, key: str) -> bool:
    v = params.get(key, False)
    if not isinstance(v, bool):
        raise BadRequest(f"{key} must be true or false, got {v!r}")
    return v


def _int(params: dict, key: str, default: int, lo: int, hi: int) -> int:
    v = params.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise BadRequest(f"{key} must be an integer from {lo} to {hi}, got {v!r}")
    return v


def _folders() -> list[dict[str, Any]]:
    from engine import library
    return [{"path": str(p), "kind": kind, "exists": p.is_dir()}
            for p, kind in library.roots(get_store())]


@method("library.scan", cacheable=False, light=True)
@_db_errors
def scan(params: dict, ctx: JobContext) -> dict:
    """Index the sound folders (shipped `sounds/`, your library, added folders) by content
    hash. `only`: a list of those folders to scan; `rehash`: re-read unchanged files too.
    Bad files are recorded with the reason, never stop the scan."""
    from engine import library
    only = _str_list(params, "only") or None
    return library.scan(get_store(), ctx, only=only, rehash=_bool(params, "rehash"))


@method("library.list", job=False, cacheable=False)
@_db_errors
def list_sounds(params: dict, ctx: JobContext) -> dict:
    """Indexed sounds whose name or tags contain `text`, carrying `tag`, under `folder`
    (all optional; `limit` caps the count). Also every tag and library folder."""
    store = get_store()
    limit = _int(params, "limit", 5000, 1, 100_000)
    text = _str(params, "text", "")
    tag = _str(params, "tag", "").strip().lower()
    folder = _str(params, "folder", "")
    sounds = store.list_sounds(text=text.strip(), tag=tag, root=folder, limit=limit)
    return {"sounds": [s.to_dict() for s in sounds], "truncated": len(sounds) == limit,
            "tags": store.all_tags(), "folders": _folders()}


@method("library.add_folder", job=False, cacheable=False)
@_db_errors
def add_folder(params: dict, ctx: JobContext) -> dict:
    """Add a folder of your own sounds (`path`, absolute) to the library; rescan to index it."""
    from engine import library
    folder = library.add_folder(get_store(), _str(params, "path"))
    return {"folder": str(folder), "folders": _folders()}


@method("library.remove_folder", job=False, cacheable=False)
@_db_errors
def remove_folder(params: dict, ctx: JobContext) -> dict:
    """Stop scanning an added folder (`path`); its sounds leave the index, files stay."""
    path = _str(params, "path")
    if not get_store().remove_folder(path):
        raise BadRequest(f"{path} is not one of your added folders")
    return {"removed": path, "folders": _folders()}


@method("library.tag", job=False, cacheable=False)
@_db_errors
def tag(params: dict, ctx: JobContext) -> dict:
    """Add (`add`) and remove (`remove`) tags on the sound at `path`; returns its tags."""
    from engine import library
    path = _str(params, "path")
    tags = library.tag(get_store(), path, _str_list(params, "add"), _str_list(params, "remove"))
    return {"path": path, "tags": tags}


@method("library.import", cacheable=False, light=True)
@_db_errors
def import_sound(params: dict, ctx: JobContext) -> dict:
    """Copy a WAV, FLAC or MP3 file (`path`, absolute) into your library folder, optionally
    as `name`. The original is not touched; a 16 kHz mono copy is kept for the models."""
    from engine import library
    name = params.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise BadRequest(f"name must be a file name, got {name!r}")
    return library.import_file(get_store(), _str(params, "path"), ctx, name=name)


@method("library.overview", cacheable=False, light=True)
@_db_errors
def overview(params: dict, ctx: JobContext) -> dict:
    """Waveform envelope (`min`/`max` in `columns` slices) and a `bands` x `columns`
    log-magnitude spectrogram (0..1, low band first) of the sound at `path`."""
    from engine import library
    columns = _int(params, "columns", 120, *OVERVIEW_COLUMNS)
    bands = _int(params, "bands", 16, *OVERVIEW_BANDS)
    return library.overview(get_store(), _str(params, "path"), columns, bands, ctx)


@method("library.audition", cacheable=False, light=True)
@_db_errors
def audition(params: dict, ctx: JobContext) -> dict:
    """Play the sound at `path`: the original file at its own rate, or with `model_rate`
    the 16 kHz version the models hear (`buffer_path`, prepared either way). `loop` and
    `layer` (over what is playing) are optional. Returns the player's status."""
    from engine import library
    model_rate = _bool(params, "model_rate")
    loop, layer = _bool(params, "loop"), _bool(params, "layer")
    samples, rate, result = library.audition_audio(get_store(), _str(params, "path"),
                                                   model_rate, ctx)
    status = player.get().audition(samples, rate, label=Path(result["path"]).name,
                                   loop=loop, layer=layer)
    return {**result, **status, "played": True, "played_rate": rate, "model_rate": model_rate}
