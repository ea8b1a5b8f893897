"""Sample library methods: scan, list, tag, folders, import, overview, audition (plays
through the engine's player).

Quick database reads and writes (`list`, `tag`, `add_folder`, `remove_folder`) are answered
at once (a quick call, not queued), so browsing never waits behind a long model job. Anything
that reads audio is a job on the worker.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any

from engine import player
from engine.api import library as api
from engine.context import JobContext
from engine.errors import BadRequest, EngineError
from engine.methods import JobFunc, method
from engine.store import StoreError, get_store


def _db_errors(func: JobFunc) -> JobFunc:
    """A database problem becomes an engine error the client can show, not a dropped link."""
    @functools.wraps(func)
    def wrapped(params: Any, ctx: JobContext) -> dict:
        try:
            return func(params, ctx)
        except sqlite3.Error as e:
            raise EngineError(f"the library database {get_store().path} failed: {e}. "
                              "If it keeps happening, move the file aside and rescan.") from e
        except StoreError as e:
            raise EngineError(str(e)) from e
    return wrapped


def _folders() -> list[dict[str, Any]]:
    from engine import library
    return [{"path": str(p), "kind": kind, "exists": p.is_dir()}
            for p, kind in library.roots(get_store())]


@method("library.scan")
@_db_errors
def scan(params: api.Scan, ctx: JobContext) -> dict:
    from engine import library

    return library.scan(get_store(), ctx, only=params.only or None, rehash=params.rehash)


@method("library.list")
@_db_errors
def list_sounds(params: api.List, ctx: JobContext) -> dict:
    store = get_store()
    limit = params.limit
    sounds = store.list_sounds(text=params.text.strip(), tag=params.tag.strip().lower(),
                               root=params.folder, limit=limit)
    return {"sounds": [s.to_dict() for s in sounds], "truncated": len(sounds) == limit,
            "tags": store.all_tags(), "folders": _folders()}


@method("library.add_folder")
@_db_errors
def add_folder(params: api.AddFolder, ctx: JobContext) -> dict:
    from engine import library

    folder = library.add_folder(get_store(), params.path)
    return {"folder": str(folder), "folders": _folders()}


@method("library.remove_folder")
@_db_errors
def remove_folder(params: api.RemoveFolder, ctx: JobContext) -> dict:
    if not get_store().remove_folder(params.path):
        raise BadRequest(f"{params.path} is not one of your added folders", param="path")
    return {"removed": params.path, "folders": _folders()}


@method("library.tag")
@_db_errors
def tag(params: api.Tag_, ctx: JobContext) -> dict:
    from engine import library

    def as_list(v: list[str] | str) -> list[str]:
        return [v] if isinstance(v, str) else v

    tags = library.tag(get_store(), params.path, as_list(params.add), as_list(params.remove))
    return {"path": params.path, "tags": tags}


@method("library.import")
@_db_errors
def import_sound(params: api.Import, ctx: JobContext) -> dict:
    from engine import library

    if params.name is not None and not params.name.strip():
        raise BadRequest(f"name must be a file name, got {params.name!r}", param="name")
    return library.import_file(get_store(), params.path, ctx, name=params.name)


@method("library.overview")
@_db_errors
def overview(params: api.Overview, ctx: JobContext) -> dict:
    from engine import library

    return library.overview(get_store(), params.path, params.columns, params.bands, ctx)


@method("library.audition")
@_db_errors
def audition(params: api.Audition, ctx: JobContext) -> dict:
    from engine import library

    samples, rate, result = library.audition_audio(get_store(), params.path, params.model_rate, ctx)
    status = player.get().audition(samples, rate, label=Path(result["path"]).name,
                                   loop=params.loop, layer=params.layer)
    return {**result, **status, "played": True, "played_rate": rate,
            "model_rate": params.model_rate}


@method("library.add_batch")
@_db_errors
def add_batch(params: api.AddBatch, ctx: JobContext) -> dict:
    from engine import library

    return library.add_batch(get_store(), params.out, ctx)
