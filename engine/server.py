"""The engine server: accepts clients on a local socket (and TCP with a token), speaks the
protocol in docs/protocol.md, and hands model work to the JobRunner's worker thread."""

from __future__ import annotations

import asyncio
import errno
import hmac
import itertools
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import __version__, methods, paths, player as player_mod, protocol as P
from engine.errors import (BadRequest, EngineError, ProtocolError, Unauthorized,
                           UnknownMethod)
from engine.jobs import JobRunner

log = logging.getLogger("magstation.engine")

# Answered on the server's own loop at once; everything else is a job for the worker.
SERVER_METHODS = {
    "engine.ping": "Answer at once: is the engine alive?",
    "engine.status": "Version, pid, uptime, clients and the queued/running jobs.",
    "engine.methods": "Every method this engine answers, with its description.",
    "engine.subscribe": "Receive broadcasts: topics 'jobs' (queue snapshots) and 'audio' (listeners).",
    "engine.shutdown": "Stop the engine (running jobs are cancelled).",
}
TOPICS = ("jobs", "audio")


class EngineAlreadyRunning(RuntimeError):
    pass


@dataclass(eq=False)
class Client:
    name: str
    writer: asyncio.StreamWriter
    authed: bool = False
    topics: set[str] = field(default_factory=set)
    requests: dict[str, str] = field(default_factory=dict)  # client request id -> job id
    closed: bool = False

    def send(self, msg: dict[str, Any], blob: bytes | None = None) -> None:
        if self.closed:
            return
        try:
            self.writer.write(P.encode({"v": P.PROTOCOL_VERSION, **msg}, blob))
        except (ConnectionError, RuntimeError):
            self.closed = True


def check_stale_socket(path: Path) -> None:
    """Remove a socket file nobody answers on; refuse to start if an engine answers."""
    if not path.exists() and not path.is_socket():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError, socket.timeout, OSError):
        log.info("removing stale socket %s", path)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return
    finally:
        probe.close()
    raise EngineAlreadyRunning(
        f"an engine is already serving on {path}; use it, or stop it with "
        f"`magstation engine stop` before starting another")


class EngineServer:
    def __init__(self, socket_path: Path | None = None, tcp: tuple[str, int] | None = None,
                 token: str | None = None, runner: JobRunner | None = None,
                 playback: str = "null") -> None:
        if tcp is not None and not token:
            raise ValueError("TCP listening needs a token (--token or MAGSTATION_TOKEN)")
        self.socket_path = socket_path
        self.tcp = tcp
        self.token = token
        self.clients: set[Client] = set()
        self._names = itertools.count(1)
        self._servers: list[asyncio.AbstractServer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = asyncio.Event()
        self._jobs_dirty = False
        self.started = time.time()
        self.runner = runner or JobRunner(on_change=self._jobs_changed)
        if runner is not None:
            runner.on_change = self._jobs_changed
        methods.load_handlers()
        self.playback = playback
        self.player: player_mod.Player | None = None

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.player = player_mod.Player.open(self.playback, self._send_audio_threadsafe)
        player_mod.install(self.player)
        if self.socket_path is not None:
            paths.ensure_dir(self.socket_path.parent)
            check_stale_socket(self.socket_path)
            old = os.umask(0o177)  # the socket is born 0600: only this user may connect
            try:
                srv = await asyncio.start_unix_server(self._serve, path=str(self.socket_path),
                                                      limit=P.MAX_LINE)
            finally:
                os.umask(old)
            os.chmod(self.socket_path, 0o600)
            self._servers.append(srv)
        if self.tcp is not None:
            srv = await asyncio.start_server(self._serve, self.tcp[0], self.tcp[1], limit=P.MAX_LINE)
            self._servers.append(srv)
        asyncio.create_task(self._broadcast_jobs_loop())

    @property
    def tcp_port(self) -> int | None:
        for srv in self._servers:
            for s in srv.sockets:
                if s.family in (socket.AF_INET, socket.AF_INET6):
                    return s.getsockname()[1]
        return None

    async def serve_forever(self) -> None:
        await self.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._stopped.set)
            except (NotImplementedError, RuntimeError):
                pass
        await self._stopped.wait()
        await self.close()

    def request_stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    async def close(self) -> None:
        self.runner.shutdown()
        if self.player is not None:
            self.player.close()
            if player_mod._PLAYER is self.player:
                player_mod.install(None)
            self.player = None
        for srv in self._servers:
            srv.close()
        for c in list(self.clients):
            c.closed = True
            c.writer.close()
        if self.socket_path is not None:
            try:
                self.socket_path.unlink()
            except FileNotFoundError:
                pass

    # -- connections --------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        is_tcp = isinstance(peer, tuple)
        client = Client(name=f"c{next(self._names)}", writer=writer, authed=not is_tcp)
        self.clients.add(client)
        try:
            while True:
                try:
                    frame = await P.read_frame(reader)
                except P.FrameError as e:
                    client.send({"type": P.ERROR, "id": None, "error": ProtocolError(str(e)).to_dict()})
                    if e.fatal:
                        break
                    continue
                if frame is None:
                    break
                msg, _blob = frame
                try:
                    self._dispatch(client, msg)
                except EngineError as e:
                    client.send({"type": P.ERROR, "id": msg.get("id"), "error": e.to_dict()})
                    if isinstance(e, Unauthorized):
                        break
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._drop(client)

    def _drop(self, client: Client) -> None:
        """A client went away: cancel its unfinished jobs; others are not affected."""
        client.closed = True
        self.clients.discard(client)
        n = self.runner.cancel_owner(client.name)
        if n:
            log.info("client %s disconnected; cancelled %d job(s)", client.name, n)
        try:
            client.writer.close()
        except RuntimeError:
            pass

    def _dispatch(self, client: Client, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == P.HELLO:
            self._hello(client, msg)
            return
        if not client.authed:
            raise Unauthorized("send hello with the engine's token first")
        if kind == P.REQUEST:
            self._request(client, msg)
        elif kind == P.CANCEL:
            job_id = client.requests.get(str(msg.get("id")))
            if job_id is None or not self.runner.cancel(job_id):
                raise BadRequest(f"no running request with id {msg.get('id')!r} to cancel")
        else:
            raise ProtocolError(f"unknown message type {kind!r}; expected hello, request or cancel")

    def _hello(self, client: Client, msg: dict[str, Any]) -> None:
        v = msg.get("v")
        if v != P.PROTOCOL_VERSION:
            raise ProtocolError(f"protocol version {v!r} is not supported; this engine speaks "
                                f"version {P.PROTOCOL_VERSION}: upgrade the client or the engine")
        if self.token is not None and not client.authed:
            given = msg.get("token") or ""
            if not hmac.compare_digest(str(given), self.token):
                raise Unauthorized("wrong or missing token; pass the engine's --token")
        client.authed = True
        if isinstance(msg.get("client"), str):
            client.name = f"{client.name}:{msg['client'][:32]}"
        client.send({"type": P.WELCOME, "engine": __version__, "pid": os.getpid(),
                     "protocol": P.PROTOCOL_VERSION, "client_id": client.name})

    def _request(self, client: Client, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool):
            raise BadRequest("every request needs an id (a string or an integer)")
        rid = str(rid)
        name = msg.get("method")
        params = msg.get("params", {})
        if not isinstance(name, str):
            raise BadRequest("request without a method name")
        if not isinstance(params, dict):
            raise BadRequest("params must be a JSON object")
        if rid in client.requests:
            raise BadRequest(f"request id {rid!r} is already in use by a running job")
        if name in SERVER_METHODS:
            client.send({"type": P.RESULT, "id": rid, "result": self._server_method(client, name, params),
                         "cached": False})
            return
        m = methods.get(name)  # raises UnknownMethod
        if not m.job:
            from engine.context import JobContext
            client.send({"type": P.RESULT, "id": rid, "result": m.func(params, JobContext()),
                         "cached": False})
            return
        loop = self._loop
        assert loop is not None

        def on_event(kind: str, payload: dict[str, Any]) -> None:  # worker thread
            loop.call_soon_threadsafe(self._job_event, client, rid, kind, payload)

        job = self.runner.submit(name, params, on_event, owner=client.name)
        client.requests[rid] = job.id
        client.send({"type": P.ACCEPTED, "id": rid, "job": job.id, "params": job.params,
                     "queued": sum(1 for j in self.runner.jobs() if j.state == "queued")})

    def _job_event(self, client: Client, rid: str, kind: str, payload: dict[str, Any]) -> None:
        if kind == "progress":
            client.send({"type": P.PROGRESS, "id": rid, **payload})
            return
        client.requests.pop(rid, None)
        if kind == "result":
            client.send({"type": P.RESULT, "id": rid, **payload})
        else:
            client.send({"type": P.ERROR, "id": rid, "error": payload})

    def _server_method(self, client: Client, name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == "engine.ping":
            return {"pong": True, "time": time.time()}
        if name == "engine.status":
            return {"engine": __version__, "pid": os.getpid(), "uptime_s": time.time() - self.started,
                    "clients": len(self.clients), "jobs": self.runner.active(),
                    "socket": str(self.socket_path) if self.socket_path else None,
                    "tcp_port": self.tcp_port}
        if name == "engine.methods":
            reg = methods.load_handlers()
            return {"methods": sorted([*SERVER_METHODS, *reg]),
                    "docs": {**SERVER_METHODS, **{k: m.doc for k, m in reg.items()}}}
        if name == "engine.subscribe":
            topics = params.get("topics", [])
            bad = [t for t in topics if t not in TOPICS] if isinstance(topics, list) else topics
            if bad:
                raise BadRequest(f"unknown topics {bad!r}; choose from {list(TOPICS)}")
            client.topics = set(topics)
            if "jobs" in client.topics:
                asyncio.get_running_loop().call_soon(
                    client.send, {"type": P.EVENT, "event": "jobs", "jobs": self.runner.active()})
            return {"topics": sorted(client.topics)}
        if name == "engine.shutdown":
            assert self._loop is not None
            self._loop.call_later(0.05, self._stopped.set)
            return {"stopping": True}
        raise UnknownMethod(name)

    # -- broadcasts ---------------------------------------------------------------------
    def _jobs_changed(self) -> None:  # any thread
        self._jobs_dirty = True

    async def _broadcast_jobs_loop(self) -> None:
        """Job-list snapshots to subscribers, at most 20 a second (progress floods collapse)."""
        while True:
            await asyncio.sleep(0.05)
            if not self._jobs_dirty:
                continue
            self._jobs_dirty = False
            snapshot = {"type": P.EVENT, "event": "jobs", "jobs": self.runner.active()}
            for c in list(self.clients):
                if "jobs" in c.topics:
                    c.send(snapshot)

    def broadcast_audio(self, pcm: bytes, rate: int, meta: dict[str, Any]) -> int:
        """Send audio (or a transport change) to every client subscribed to 'audio'."""
        n = 0
        for c in list(self.clients):
            if "audio" in c.topics:
                c.send({"type": P.EVENT, "event": "audio", "rate": rate, "audio": meta}, pcm)
                n += 1
        return n

    def _send_audio_threadsafe(self, pcm: bytes, rate: int, meta: dict[str, Any]) -> None:
        assert self._loop is not None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self.broadcast_audio(pcm, rate, meta)
        else:
            self._loop.call_soon_threadsafe(self.broadcast_audio, pcm, rate, meta)


def run(socket_path: Path | None, tcp: tuple[str, int] | None = None, token: str | None = None,
        playback: str = "auto") -> int:
    """Entry point of the engine process. Returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        server = EngineServer(socket_path, tcp, token, playback=playback)
        asyncio.run(server.serve_forever())
    except EngineAlreadyRunning as e:
        log.error("%s", e)
        print(f"magstation engine: {e}", flush=True)
        return 3
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            print(f"magstation engine: address in use: {e}", flush=True)
            return 3
        raise
    return 0
