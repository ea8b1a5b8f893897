"""`magstation listen`: play the engine's auditions on this machine."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

SSH_HINT = """On the GPU server:   MAGSTATION_TOKEN=SECRET magstation engine --tcp 127.0.0.1:7171
On your laptop:      ssh -N -L 7171:127.0.0.1:7171 you@gpu-server
                     MAGSTATION_TOKEN=SECRET magstation listen --connect 127.0.0.1:7171
(or put the secret in a 0600 file and pass --token-file FILE on both sides)"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("listen", help="hear the engine's auditions here (through an SSH tunnel)",
                       description="Connects to an engine and plays every audition on this "
                                   "machine's sound device.\n\n" + SSH_HINT,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--connect", metavar="HOST:PORT", help="the engine's TCP address (a tunnel)")
    where.add_argument("--socket", type=Path, help="the engine's local socket (or a forwarded one)")
    p.add_argument("--token-file", type=Path, default=None,
                   help="a 0600 file holding the engine's token (default: env MAGSTATION_TOKEN, "
                        "else $MAGSTATION_HOME/token if it exists); needed with --connect")
    p.add_argument("--token", default=None,
                   help="the token itself (discouraged: visible in `ps`)")
    p.add_argument("--backend", choices=["auto", "local", "null"], default="local",
                   help="where to play: this machine's device (local, the default: stops when "
                        "there is none), auto (the device, else silent with a warning) or null "
                        "(testing the connection)")
    p.set_defaults(func=cmd_listen)


def cmd_listen(args: argparse.Namespace) -> int:
    from engine import paths
    from engine.listener import Endpoint, Listener, NoListenerDevice, open_listener_backend

    if args.connect:
        host, _, port = args.connect.rpartition(":")
        if not host or not port.isdigit():
            print(f"magstation listen: --connect wants HOST:PORT, got {args.connect!r}", file=sys.stderr)
            return 2
        from engine.tokens import TokenError, engine_token
        try:
            token = args.token or engine_token(args.token_file)
        except TokenError as e:
            print(f"magstation listen: {e}", file=sys.stderr)
            return 2
        if not token:
            print("magstation listen: --connect needs the engine's token\n\n" + SSH_HINT,
                  file=sys.stderr)
            return 2
        endpoint = Endpoint(host=host, port=int(port), token=token)
    else:
        endpoint = Endpoint(socket=args.socket or paths.default_socket_path())
    try:
        backend, warning = open_listener_backend(args.backend)
    except NoListenerDevice as e:
        print(f"magstation listen: {e}", file=sys.stderr)
        return 2
    if warning:
        print(f"magstation listen: {warning}", file=sys.stderr, flush=True)

    def played(info: dict) -> None:
        level = f"{info['peak_db']:.0f} dBFS" if info["peak_db"] > -1e9 else "silent"
        loop = ", looping" if info["loop"] else ""
        name = f"{info['label']}: " if info.get("label") else ""
        print(f"♪ {name}{info['seconds']:.2f} s at {info['rate']} Hz, peak {level}{loop}", flush=True)

    listener = Listener(endpoint, backend, on_play=played,
                        on_status=lambda s: print(f"magstation listen: {s}", file=sys.stderr, flush=True))

    async def run() -> None:
        # `kill`, a closed terminal or a dropped SSH session end it like ctrl+c: with the summary
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, listener.stop)
        await listener.run()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
        print(f"magstation listen: {listener.summary()}", file=sys.stderr, flush=True)
    if listener.failure:
        print(f"magstation listen: stopped: {listener.failure}", file=sys.stderr)
        return 2
    return 0
