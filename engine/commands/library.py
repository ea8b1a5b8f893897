"""`magstation library ...`: the sample library without the workstation.

Runs in this process against the same database as the engine (SQLite in WAL mode lets
both work at once)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine import api
from engine.api.base import field_help


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("library", help="scan, list, tag and import sounds")
    lib = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    s = lib.add_parser("scan", help="index sounds/, your library and your folders")
    s.add_argument("--rehash", action="store_true", help="read unchanged files again too")
    s.set_defaults(func=lambda a: _cmd("library.scan", {"rehash": a.rehash}))

    s = lib.add_parser("list", help="list indexed sounds (TEXT matches names and tags)")
    s.add_argument("text", nargs="?", default="", help=field_help(api.library.List, "text"))
    s.add_argument("--tag", default="", help=field_help(api.library.List, "tag"))
    s.add_argument("--json", action="store_true", help="print the full records as JSON")
    s.set_defaults(func=cmd_list)

    s = lib.add_parser("add", help="add a folder of your own sounds (then scan)")
    s.add_argument("folder", type=Path, help="a folder of your own sounds")
    s.set_defaults(func=lambda a: _cmd("library.add_folder", {"path": str(a.folder.expanduser().resolve())}))

    s = lib.add_parser("add-batch", help="add a batch's results (grids as tagged sets)")
    s.add_argument("out", type=Path, help=field_help(api.library.AddBatch, "out"))
    s.set_defaults(func=lambda a: _cmd("library.add_batch", {"out": str(a.out.expanduser().resolve())}))

    s = lib.add_parser("import", help="copy a WAV, FLAC or MP3 into your library")
    s.add_argument("file", type=Path, help="a WAV, FLAC or MP3 file to copy into your library")
    s.add_argument("--name", default=None, help="file name in the library")
    s.set_defaults(func=lambda a: _cmd("library.import", {
        "path": str(a.file.expanduser().resolve()), "name": a.name}))

    s = lib.add_parser("tag", help="tag a sound: PATH +add -remove ...")
    s.add_argument("path", type=Path, help="the sound whose tags change")
    s.add_argument("tags", nargs="+", help="+tag adds, -tag removes (use -- before the first -tag)")
    s.set_defaults(func=cmd_tag)


def _cmd(method: str, params: dict) -> int:
    _run(method, params)
    return 0


def _run(method: str, params: dict, show: bool = True) -> dict:
    from engine.local import run_method
    result = run_method(method, params)
    if show:
        print(json.dumps(result, indent=2))
    return result


def cmd_list(args: argparse.Namespace) -> int:
    res = _run("library.list", {"text": args.text, "tag": args.tag}, show=False)
    if args.json:
        print(json.dumps(res["sounds"], indent=2))
        return 0
    for s in res["sounds"]:
        if s["status"] == "ok":
            info = f"{s['duration']:7.2f} s {s['rate']:6d} Hz {s['channels']} ch"
        else:
            info = f"{s['status']:>27s}"
        tags = " ".join(s["tags"])
        print(f"{info}  {s['path']}" + (f"  [{tags}]" if tags else ""))
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    add = [t[1:] if t.startswith("+") else t for t in args.tags if not t.startswith("-")]
    remove = [t[1:] for t in args.tags if t.startswith("-")]
    return _cmd("library.tag", {"path": str(args.path.expanduser().resolve()), "add": add, "remove": remove})
