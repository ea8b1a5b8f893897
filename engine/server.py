"""The engine server: accepts clients on a local socket (and TCP with a token), speaks the
protocol in docs/protocol.md, and hands model work to the JobRunner's worker thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import hmac
import itertools
import logging
import os
import signal
import socket
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from engine import __version__, api, methods, paths, player as player_mod, protocol as P
from engine.api.base import Params
from engine.context import JobContext
from engine.errors import (BadRequest, EngineError, ProtocolError, Unauthorized,
                           UnknownMethod)
from engine.jobs import JobRunner

log = logging.getLogger("magstation.engine")

# Limits that keep one careless or hostile client from taking the engine from others.
HELLO_TIMEOUT_S = 10.0  # a TCP connection must say hello (with the token) this soon
MAX_LOCAL_CLIENTS = 64  # unix-socket connections (only the owner can open them)
MAX_TCP_CLIENTS = 32  # TCP connections, authenticated or not
MAX_UNAUTHED = 8  # TCP connections that have not yet said hello
AUDIO_BACKLOG_BYTES = 8 << 20  # per listener: ~47 s of 44.1 kHz float32; older audio is dropped
REPLY_BACKLOG_BYTES = 64 << 20  # a client that reads none of its replies is disconnected
QUICK_WORKERS = 8  # threads for quick calls (transport, library lists): file work off the loop


class EngineAlreadyRunning(RuntimeError):
    pass


@dataclass(eq=False)
class Client:
    """One connection. Replies and events wait in `outbox` until its writer task sends
    them, so a client that does not read never blocks the loop: its audio backlog is cut
    from the oldest end, and its reply backlog is capped."""
    name: str
    writer: asyncio.StreamWriter
    tcp: bool = False
    authed: bool = False
    topics: set[str] = field(default_factory=set)
    requests: dict[str, str] = field(default_factory=dict)  # client request id -> job id
    closed: bool = False
    outbox: deque[tuple[bytes, float | None]] = field(default_factory=deque)  # (frame, audio seconds)
    audio_bytes: int = 0
    reply_bytes: int = 0
    dropped_frames: int = 0
    dropped_seconds: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)  # set when the outbox is empty
    quick: asyncio.Queue[tuple[str, methods.Method, Params]] = field(default_factory=asyncio.Queue)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def send(self, msg: P.EngineMessage, blob: bytes | None = None,
             audio_seconds: float | None = None) -> None:
        if self.closed:
            return
        frame = P.encode(msg, blob)
        self.outbox.append((frame, audio_seconds))
        self.idle.clear()
        if audio_seconds is None:
            self.reply_bytes += len(frame)
            if self.reply_bytes > REPLY_BACKLOG_BYTES:
                log.warning("client %s reads none of its replies; disconnecting it", self.name)
                self.close()
                return
        else:
            self.audio_bytes += len(frame)
            self._trim_audio()
        self.wake.set()

    def _trim_audio(self) -> None:
        """Drop the oldest audio while the backlog is over its cap (a slow listener)."""
        if self.audio_bytes <= AUDIO_BACKLOG_BYTES:
            return
        kept: deque[tuple[bytes, float | None]] = deque()
        for frame, secs in self.outbox:
            if secs is not None and self.audio_bytes > AUDIO_BACKLOG_BYTES:
                self.audio_bytes -= len(frame)
                self.dropped_frames += 1
                self.dropped_seconds += secs
            else:
                kept.append((frame, secs))
        self.outbox = kept

    def close(self) -> None:
        self.closed = True
        self.outbox.clear()
        self.wake.set()
        try:
            self.writer.close()
        except RuntimeError:
            pass


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
                 playback: str = "null", hello_timeout: float = HELLO_TIMEOUT_S,
                 warm: bool = False) -> None:
        if tcp is not None and not token:
            raise ValueError("TCP listening needs a token (MAGSTATION_TOKEN or --token-file)")
        self.socket_path = socket_path
        self.tcp = tcp
        self._token = token.encode("utf-8", "surrogatepass") if token else None
        self.hello_timeout = hello_timeout
        self.warm = warm
        self.clients: set[Client] = set()
        self._names = itertools.count(1)
        self._servers: list[asyncio.AbstractServer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = asyncio.Event()
        self._jobs_dirty = False
        self._quick_pool = concurrent.futures.ThreadPoolExecutor(
            QUICK_WORKERS, thread_name_prefix="magstation-quick")
        self.started = time.time()
        self.runner = runner or JobRunner(on_change=self._jobs_changed)
        if runner is not None:
            runner.on_change = self._jobs_changed
        methods.load_handlers()
        self.playback = playback
        self.player: player_mod.Player | None = None
        self._dropped_s = 0.0  # audio dropped for slow listeners since the engine started
        self.batch_watcher: Any = None  # engine.batch.runs.RunWatcher, once started

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.player = player_mod.Player.open(self.playback, self._send_audio_threadsafe,
                                             self._transport_changed_threadsafe)
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
        from engine.batch.runs import RunWatcher
        loop = self._loop
        self.batch_watcher = RunWatcher(lambda runs: _call_soon(loop, self._broadcast_batches, runs))
        self.batch_watcher.start()
        if self.warm:  # the first `s` of the day should not pay for loading and tracing
            self.runner.submit("engine.warm", {}, lambda kind, payload: None, owner="engine")

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
            _call_soon(self._loop, self._stopped.set)

    async def close(self) -> None:
        self.runner.shutdown()
        if self.batch_watcher is not None:
            self.batch_watcher.stop()
        if self.player is not None:
            self.player.close()
            if player_mod._PLAYER is self.player:
                player_mod.install(None)
            self.player = None
        for srv in self._servers:
            srv.close()
        for c in list(self.clients):
            c.close()
            for t in c.tasks:
                t.cancel()
        self._quick_pool.shutdown(wait=False, cancel_futures=True)
        if self.socket_path is not None:
            try:
                self.socket_path.unlink()
            except FileNotFoundError:
                pass

    # -- connections --------------------------------------------------------------------
    def _admit(self, tcp: bool) -> str | None:
        """Why a new connection is refused, or None to let it in."""
        local = sum(1 for c in self.clients if not c.tcp)
        remote = [c for c in self.clients if c.tcp]
        if not tcp:
            return (f"too many local connections ({MAX_LOCAL_CLIENTS}); close some clients"
                    if local >= MAX_LOCAL_CLIENTS else None)
        if len(remote) >= MAX_TCP_CLIENTS:
            return f"too many TCP connections ({MAX_TCP_CLIENTS}); close some listeners"
        if sum(1 for c in remote if not c.authed) >= MAX_UNAUTHED:
            return "too many connections waiting to say hello; try again shortly"
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        is_tcp = isinstance(writer.get_extra_info("peername"), tuple)
        refused = self._admit(is_tcp)
        if refused is not None:
            writer.write(P.encode(P.Error(id=None, error=P.ErrorInfo(code="unauthorized", message=refused))))
            writer.close()
            return
        client = Client(name=f"c{next(self._names)}", writer=writer, tcp=is_tcp, authed=not is_tcp)
        self.clients.add(client)
        client.tasks = [asyncio.create_task(self._write_loop(client)),
                        asyncio.create_task(self._quick_loop(client))]
        try:
            while not client.closed:
                try:
                    line = await self._read_line(client, reader)
                    if line is None:
                        break
                    self._dispatch(client, P.decode_client(line))
                except P.FrameError as e:
                    if not client.authed:  # garbage before hello: no second chance
                        self._send_error(client, None, Unauthorized(
                            f"expected a hello with the engine's token first ({e})"))
                        break
                    if e.request_id is not None or e.is_request:
                        self._send_error(client, e.request_id, BadRequest(str(e)))
                    else:
                        self._send_error(client, None, ProtocolError(str(e)))
                    if e.fatal:
                        break
                except EngineError as e:
                    self._send_error(client, getattr(e, "request_id", None), e)
                    if isinstance(e, Unauthorized):
                        break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            await self._drop(client)

    async def _read_line(self, client: Client, reader: asyncio.StreamReader) -> bytes | None:
        if client.authed:
            return await P.read_line(reader)
        try:
            return await asyncio.wait_for(P.read_line(reader), self.hello_timeout)
        except asyncio.TimeoutError:
            raise Unauthorized(f"no hello within {self.hello_timeout:g} s; connection closed") from None

    async def _write_loop(self, client: Client) -> None:
        """Send what is in the client's outbox, at the pace the client reads it."""
        try:
            while not client.closed:
                await client.wake.wait()
                client.wake.clear()
                while client.outbox and not client.closed:
                    if client.dropped_frames:
                        n, secs = client.dropped_frames, client.dropped_seconds
                        client.dropped_frames, client.dropped_seconds = 0, 0.0
                        self._dropped_s += secs
                        self._broadcast_output()
                        log.info("listener %s is slow: dropped %d audio frame(s)", client.name, n)
                        client.writer.write(P.encode(P.Event(event="audio_dropped", dropped=n,
                                                             seconds=round(secs, 3))))
                    frame, secs = client.outbox.popleft()
                    if secs is None:
                        client.reply_bytes -= len(frame)
                    else:
                        client.audio_bytes -= len(frame)
                    client.writer.write(frame)
                    await client.writer.drain()
                if not client.outbox:
                    client.idle.set()
        except (ConnectionError, RuntimeError):
            client.close()
        except asyncio.CancelledError:
            pass

    async def _quick_loop(self, client: Client) -> None:
        """This client's quick calls, in the order sent, each on a worker thread."""
        loop = asyncio.get_running_loop()
        try:
            while not client.closed:
                rid, m, params = await client.quick.get()
                try:
                    result = await loop.run_in_executor(self._quick_pool, _run_quick, m, params)
                except EngineError as e:
                    self._send_error(client, rid, e)
                else:
                    client.send(P.Result(id=rid, result=result))
                finally:
                    client.requests.pop(rid, None)
        except (asyncio.CancelledError, RuntimeError):
            pass  # the client left, or the engine is stopping

    async def _drop(self, client: Client) -> None:
        """A client went away: cancel its unfinished jobs; others are not affected."""
        self.clients.discard(client)
        if "audio" in client.topics:
            self._broadcast_output()  # one listener fewer
        n = self.runner.cancel_owner(client.name)
        if n:
            log.info("client %s disconnected; cancelled %d job(s)", client.name, n)
        if not client.closed and client.outbox:
            client.wake.set()
            try:  # let its last replies (an unauthorized error, say) go out first
                await asyncio.wait_for(client.idle.wait(), 5.0)
            except asyncio.TimeoutError:
                pass
        client.close()
        for t in client.tasks:
            t.cancel()

    def _send_error(self, client: Client, rid: str | None, e: EngineError) -> None:
        details = e.details
        try:
            msgspec.json.encode(details)
        except (TypeError, ValueError):
            details = {k: str(v) for k, v in details.items()}
        client.send(P.Error(id=rid, error=P.ErrorInfo(code=e.code, message=e.message,
                                                      details=details)))

    def _dispatch(self, client: Client, msg: P.ClientMessage) -> None:
        if isinstance(msg, P.Hello):
            self._hello(client, msg)
            return
        if not client.authed:
            raise Unauthorized("send hello with the engine's token first")
        if isinstance(msg, P.Request):
            rid = str(msg.id)
            try:
                self._request(client, rid, msg)
            except EngineError as e:
                e.request_id = rid  # type: ignore[attr-defined]
                raise
        else:
            rid = str(msg.id)
            job_id = client.requests.get(rid)
            if job_id is None or not self.runner.cancel(job_id):
                raise BadRequest(f"no running job with request id {rid!r} to cancel")

    def _hello(self, client: Client, msg: P.Hello) -> None:
        if msg.v != P.PROTOCOL_VERSION:
            raise ProtocolError(f"protocol version {msg.v!r} is not supported; this engine speaks "
                                f"version {P.PROTOCOL_VERSION}: upgrade the client or the engine")
        if self._token is not None and not client.authed:
            given = (msg.token or "").encode("utf-8", "surrogatepass")
            if not hmac.compare_digest(given, self._token):
                raise Unauthorized("wrong or missing token; use the engine's token "
                                   "(MAGSTATION_TOKEN or its token file)")
        client.authed = True
        client.name = f"{client.name}:{msg.client[:32]}"
        client.send(P.Welcome(engine=__version__, pid=os.getpid(), protocol=P.PROTOCOL_VERSION,
                              client_id=client.name))

    def _request(self, client: Client, rid: str, msg: P.Request) -> None:
        if rid in client.requests:
            raise BadRequest(f"request id {rid!r} is already in use by a running request")
        decl = api.DECLARED.get(msg.method)
        if decl is None:
            raise UnknownMethod(f"unknown method {msg.method!r}; `magstation methods` lists them",
                                method=msg.method)
        if decl.server:
            params = api.validate(decl, msg.params)
            client.send(P.Result(id=rid, result=self._server_method(client, decl.name, params)))
            return
        m = methods.get(msg.method)
        if not m.job:
            client.requests[rid] = "quick"
            client.quick.put_nowait((rid, m, m.validate(msg.params)))
            return
        loop = self._loop
        assert loop is not None

        def on_event(kind: str, payload: dict[str, Any]) -> None:  # worker thread
            _call_soon(loop, self._job_event, client, rid, kind, payload)

        job = self.runner.submit(msg.method, msg.params, on_event, owner=client.name)
        client.requests[rid] = job.id
        client.send(P.Accepted(id=rid, job=job.id, params=msgspec.to_builtins(job.params),
                               queued=sum(1 for j in self.runner.jobs() if j.state == "queued")))

    def _job_event(self, client: Client, rid: str, kind: str, payload: dict[str, Any]) -> None:
        if kind == "progress":
            client.send(P.Progress(id=rid, **payload))
            return
        client.requests.pop(rid, None)
        if kind == "result":
            client.send(P.Result(id=rid, **payload))
        else:
            client.send(P.Error(id=rid, error=P.ErrorInfo(**payload)))

    def _server_method(self, client: Client, name: str, params: Params) -> dict[str, Any]:
        if name == "engine.ping":
            return {"pong": True, "time": time.time()}
        if name == "engine.status":
            return {"engine": __version__, "pid": os.getpid(), "uptime_s": time.time() - self.started,
                    "clients": len(self.clients), "jobs": self.runner.active(),
                    "socket": str(self.socket_path) if self.socket_path else None,
                    "tcp_port": self.tcp_port}
        if name == "engine.methods":
            return methods_listing()
        if name == "engine.subscribe":
            assert isinstance(params, api.system.Subscribe)
            was_listener = "audio" in client.topics
            client.topics = set(params.topics)
            loop = asyncio.get_running_loop()
            if "jobs" in client.topics:  # current state first, then changes
                loop.call_soon(client.send, P.Event(event="jobs", jobs=self.runner.active()))
            if "batches" in client.topics and self.batch_watcher is not None:
                loop.call_soon(client.send, P.Event(event="batches", batches=self.batch_watcher.runs))
            if "transport" in client.topics and self.player is not None:
                loop.call_soon(client.send, P.Event(event="transport", transport=self.player.status()))
            if "config" in client.topics:
                loop.call_soon(client.send, P.Event(event="config", config=self.config_state()))
            if was_listener != ("audio" in client.topics):
                loop.call_soon(self._broadcast_output)
            elif "output" in client.topics:
                loop.call_soon(client.send, P.Event(event="output", output=self.output_state()))
            return {"topics": sorted(client.topics)}
        if name == "batch.runs":
            return {"runs": self.batch_watcher.runs if self.batch_watcher is not None else []}
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
            snapshot = P.Event(event="jobs", jobs=self.runner.active())
            for c in list(self.clients):
                if "jobs" in c.topics:
                    c.send(snapshot)

    def _broadcast_batches(self, runs: list[dict[str, Any]]) -> None:
        event = P.Event(event="batches", batches=runs)
        for c in list(self.clients):
            if "batches" in c.topics:
                c.send(event)

    def output_state(self) -> dict[str, Any]:
        """Where sound goes: this machine's device (or none, and why) and the listeners."""
        device = self.player.device.name if self.player is not None else "null"
        note = getattr(self.player.device, "note", "") if self.player is not None else ""
        listeners = sum(1 for c in self.clients if "audio" in c.topics and not c.closed)
        return {"device": device, "note": note, "listeners": listeners,
                "dropped_s": round(self._dropped_s, 3)}

    def config_state(self) -> dict[str, Any]:
        """How this engine runs: where clients reach it (a listener needs the TCP address
        through its tunnel), how it plays and what it may hold in memory. Sent once to a
        subscriber: it does not change while the engine runs."""
        from engine import model_pool
        host_port = None
        if self.tcp is not None and self.tcp_port is not None:
            host_port = f"{self.tcp[0]}:{self.tcp_port}"
        return {"engine": __version__, "pid": os.getpid(),
                "socket": str(self.socket_path) if self.socket_path else None,
                "tcp": host_port, "playback": self.playback, "warm": self.warm,
                "home": str(paths.home()), "model_budget_mb": model_pool.POOL.budget // (1 << 20)}

    def _broadcast_output(self) -> None:
        event = P.Event(event="output", output=self.output_state())
        for c in list(self.clients):
            if "output" in c.topics:
                c.send(event)

    def _transport_changed_threadsafe(self, status: dict[str, Any]) -> None:
        if self._loop is None:
            return
        _call_soon(self._loop, self._broadcast_transport, status)

    def _broadcast_transport(self, status: dict[str, Any]) -> None:
        event = P.Event(event="transport", transport=status)
        for c in list(self.clients):
            if "transport" in c.topics:
                c.send(event)

    def broadcast_audio(self, pcm: bytes, rate: int, meta: dict[str, Any]) -> int:
        """Send audio (or a transport change) to every client subscribed to 'audio'."""
        n = 0
        seconds = len(pcm) / 4 / rate if rate else 0.0
        for c in list(self.clients):
            if "audio" in c.topics:
                c.send(P.Event(event="audio", rate=rate, audio=meta), pcm, audio_seconds=seconds)
                n += 1
        return n

    def _send_audio_threadsafe(self, pcm: bytes, rate: int, meta: dict[str, Any]) -> None:
        assert self._loop is not None
        if meta.get("kind") == "play" and self.player is not None:
            meta = {**meta, "label": self.player.transport.label}  # set before the backend plays
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self.broadcast_audio(pcm, rate, meta)
        else:
            _call_soon(self._loop, self.broadcast_audio, pcm, rate, meta)


def _call_soon(loop: asyncio.AbstractEventLoop, func: Any, *args: Any) -> None:
    """Hand a call to the server's loop from another thread; a no-op once the loop has
    closed (a job finishing while the engine stops must not raise on its worker)."""
    try:
        loop.call_soon_threadsafe(func, *args)
    except RuntimeError:
        pass


def _run_quick(m: methods.Method, params: Params) -> dict[str, Any]:
    """A quick call on a worker thread: its result, checked, or a typed error."""
    try:
        return methods.check_result(m.name, m.func(params, JobContext(job_id=f"quick-{m.name}")))
    except EngineError:
        raise
    except Exception as e:  # a bug in a handler must not take the engine down
        raise EngineError(f"{m.name} failed: {type(e).__name__}: {e}",
                          traceback=traceback.format_exc(limit=8)) from None


def methods_listing() -> dict[str, Any]:
    """Every declared method with its one-line doc and its parameters' JSON schema."""
    methods.load_handlers()
    decls = sorted(api.DECLARED.values(), key=lambda d: d.name)
    return {"methods": [d.name for d in decls],
            "docs": {d.name: d.doc for d in decls},
            "schemas": {d.name: msgspec.json.schema(d.params) for d in decls}}


def run(socket_path: Path | None, tcp: tuple[str, int] | None = None, token: str | None = None,
        playback: str = "auto") -> int:
    """Entry point of the engine process. Returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        server = EngineServer(socket_path, tcp, token, playback=playback,
                              warm=os.environ.get("MAGSTATION_WARM", "1") != "0")
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
