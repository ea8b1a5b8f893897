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
    p.add_argument("action", nargs="?", choices=["run", "status", "stop"], default="run")
    p.add_argument("--socket", type=Path, default=None,
                   help="local socket path (default: %(default)s → $MAGSTATION_HOME/engine.sock)")
    p.add_argument("--tcp", metavar="HOST:PORT", default=None,
                   help="also listen on TCP (needs --token); use 127.0.0.1 with an SSH tunnel")
    p.add_argument("--token", default=os.environ.get("MAGSTATION_TOKEN"),
                   help="shared secret clients must send over TCP (env MAGSTATION_TOKEN)")
    p.add_argument("--playback", choices=["auto", "local", "null"],
                   default=os.environ.get("MAGSTATION_PLAYBACK", "auto"),
                   help="where auditions sound here: this machine's device (auto falls back "
                        "to silence when there is none) or null; remote listeners always hear them")
    p.set_defaults(func=cmd_engine)

    p = sub.add_parser("tui", help="open the workstation (the default)")
    p.set_defaults(func=lambda a: __import__("tui.app", fromlist=["run_app"]).run_app())

    p = sub.add_parser("methods", help="list what the engine can do")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("run", help="run any engine method: magstation run METHOD '{json params}'")
    p.add_argument("method")
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
        tcp = _parse_tcp(args.tcp)
        if tcp is not None and not args.token:
            print("magstation engine: --tcp needs --token (or MAGSTATION_TOKEN)", file=sys.stderr)
            return 2
        return run(sock, tcp, args.token, args.playback)
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


def cmd_methods(args: argparse.Namespace) -> int:
    from engine import methods
    from engine.server import SERVER_METHODS
    reg = methods.load_handlers()
    docs = {**SERVER_METHODS, **{k: m.doc for k, m in reg.items()}}
    for name in sorted(docs):
        doc = docs[name].splitlines()[0] if docs[name] else ""
        print(f"{name:28s} {doc}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as e:
        print(f"magstation run: params are not valid JSON: {e}", file=sys.stderr)
        return 2
    if args.engine:
        from engine.client import EngineClient

        async def remote() -> dict:
            c = EngineClient("cli")
            await c.connect_unix(paths.default_socket_path())
            try:
                return await c.call(args.method, params)
            finally:
                await c.close()
        result = asyncio.run(remote())
    else:
        from engine.local import run_method
        result = run_method(args.method, params)
    print(json.dumps(result, indent=2))
    return 0
