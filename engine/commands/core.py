"""Core commands: the engine process itself, the TUI, listing and running methods."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from engine import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("engine", help="run the engine process (or: engine status|stop)")
    p.add_argument("action", nargs="?", choices=["run", "status", "stop"], default="run",
                   help="run the engine here (default), or ask a running one for its status or to stop")
    p.add_argument("--socket", type=Path, default=None,
                   help="local socket path (default: %(default)s → $MAGSTATION_HOME/engine.sock)")
    p.add_argument("--tcp", metavar="HOST:PORT", default=None,
                   help="also listen on TCP (needs a token); use 127.0.0.1 with an SSH tunnel")
    p.add_argument("--token-file", type=Path, default=None,
                   help="a file (mode 0600) holding the secret TCP clients must send; default: "
                        "env MAGSTATION_TOKEN, else $MAGSTATION_HOME/token if it exists")
    p.add_argument("--token", default=None,
                   help="the secret itself (discouraged: every user of the machine sees it in "
                        "`ps`; use MAGSTATION_TOKEN or --token-file)")
    p.add_argument("--playback", choices=["auto", "local", "null"],
                   default=os.environ.get("MAGSTATION_PLAYBACK", "auto"),
                   help="where auditions sound here: this machine's device (auto falls back "
                        "to silence when there is none) or null; remote listeners always hear them")
    p.set_defaults(func=cmd_engine)

    p = sub.add_parser("tui", help="open the workstation (the default)")
    p.set_defaults(func=lambda a: __import__("tui.app", fromlist=["run_app"]).run_app())

    p = sub.add_parser("methods", help="list what the engine can do, with every parameter")
    p.add_argument("method", nargs="?", help="show only this method")
    p.add_argument("--json", action="store_true", help="print the JSON schema of the params")
    p.set_defaults(func=cmd_methods)

    _add_call(sub)

    p = sub.add_parser("run", help="run any engine method: magstation run METHOD '{json params}'")
    p.add_argument("method", help="the method name (`magstation methods` lists them)")
    p.add_argument("params", nargs="?", default="{}", help="JSON object")
    p.add_argument("--engine", action="store_true",
                   help="send it to the running engine instead of running it in this process")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("doctor", help="check TensorFlow and the GPU in this process")
    p.set_defaults(func=lambda a: cmd_run(argparse.Namespace(method="engine.tf_info", params="{}",
                                                             engine=False)))


def _parse_tcp(value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"magstation engine: --tcp wants HOST:PORT, got {value!r}")
    return host, int(port)


def cmd_engine(args: argparse.Namespace) -> int:
    sock = args.socket or paths.default_socket_path()
    if args.action == "run":
        from engine.server import run
        from engine.tokens import TokenError, engine_token
        tcp = _parse_tcp(args.tcp)
        if args.token:
            print("magstation engine: warning: --token is visible to every user in `ps`; "
                  "use MAGSTATION_TOKEN or --token-file", file=sys.stderr)
        try:
            token = args.token or engine_token(args.token_file)
        except TokenError as e:
            print(f"magstation engine: {e}", file=sys.stderr)
            return 2
        if tcp is not None and not token:
            print("magstation engine: --tcp needs a token: set MAGSTATION_TOKEN or write one "
                  "to a 0600 file and pass --token-file", file=sys.stderr)
            return 2
        return run(sock, tcp, token, args.playback)
    from engine.client import EngineClient, EngineUnavailable

    async def talk() -> int:
        c = EngineClient("cli")
        try:
            await c.connect_unix(sock)
        except EngineUnavailable as e:
            print(f"magstation: {e}", file=sys.stderr)
            return 1
        try:
            method = "engine.status" if args.action == "status" else "engine.shutdown"
            print(json.dumps(await c.call(method), indent=2))
            return 0
        finally:
            await c.close()
    return asyncio.run(talk())


def _add_call(sub: argparse._SubParsersAction) -> None:
    """`magstation call METHOD --param value ...`: every declared method, its options made
    from its params struct (engine/cli_options.py)."""
    from engine import api
    from engine.cli_options import add_options

    p = sub.add_parser("call", help="run any engine method with options made from its "
                                    "declaration: magstation call METHOD --help")
    p.add_argument("--engine", action="store_true",
                   help="send it to the running engine instead of running it in this process")
    calls = p.add_subparsers(dest="method", metavar="METHOD", required=True)
    for decl in sorted(api.DECLARED.values(), key=lambda d: d.name):
        if decl.server or decl.name.startswith("test."):
            continue
        mp = calls.add_parser(decl.name, help=decl.summary, description=decl.doc)
        add_options(mp, decl.params)
        mp.set_defaults(func=cmd_call, decl=decl)


def cmd_call(args: argparse.Namespace) -> int:
    from engine.cli_options import params_from_args

    params = params_from_args(args.decl.params, args)
    return _run_and_print(args.method, params, args.engine)


def cmd_methods(args: argparse.Namespace) -> int:
    from engine import api
    from engine.api.base import field_help
    from engine.server import methods_listing

    listing = methods_listing()
    names = [args.method] if args.method else listing["methods"]
    unknown = [n for n in names if n not in api.DECLARED]
    if unknown:
        print(f"magstation methods: unknown method {unknown[0]!r}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({n: {"doc": listing["docs"][n], "params": listing["schemas"][n]}
                          for n in names}, indent=2))
        return 0
    for name in names:
        decl = api.DECLARED[name]
        print(f"{name:28s} {decl.summary}")
        for field in decl.params.__struct_fields__:
            print(f"    {field:22s} {field_help(decl.params, field)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as e:
        print(f"magstation run: params are not valid JSON: {e}", file=sys.stderr)
        return 2
    return _run_and_print(args.method, params, args.engine)


def _run_and_print(method: str, params: dict, engine: bool) -> int:
    if engine:
        from engine.client import EngineClient

        async def remote() -> dict:
            c = EngineClient("cli")
            await c.connect_unix(paths.default_socket_path())
            try:
                return await c.call(method, params)
            finally:
                await c.close()
        result = asyncio.run(remote())
    else:
        from engine.local import run_method
        result = run_method(method, params)
    print(json.dumps(result, indent=2))
    return 0
