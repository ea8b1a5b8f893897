"""An asyncio client for the engine. The TUI, the CLI and the listener use it.
No TensorFlow here."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any, Awaitable, Callable

import msgspec

from engine import errors, protocol as P
from engine.api.base import Params, method_of

ProgressCallback = Callable[[dict[str, Any]], None]
EventCallback = Callable[[dict[str, Any], bytes | None], None]


class EngineUnavailable(ConnectionError):
    """The engine is not running or went away."""


class Request:
    """One request in flight: await `result()`, or `cancel()` it."""

    def __init__(self, client: "EngineClient", rid: str, on_progress: ProgressCallback | None) -> None:
        self.client = client
        self.id = rid
        self.on_progress = on_progress
        self.job: str | None = None
        self.params: dict[str, Any] | None = None  # as the engine ran them (seed filled in)
        self.cached = False
        self._future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def result(self) -> dict[str, Any]:
        return await self._future

    async def cancel(self) -> None:
        await self.client._send(P.Cancel(id=self.id))

    def _deliver(self, msg: P.EngineMessage) -> bool:
        """Handle a message for this request; True when the request is finished."""
        if isinstance(msg, P.Accepted):
            self.job, self.params = msg.job, msg.params
        elif isinstance(msg, P.Progress):
            if self.on_progress is not None:
                self.on_progress(P.as_dict(msg))
        elif isinstance(msg, P.Result):
            self.cached = msg.cached
            if not self._future.done():
                self._future.set_result(msg.result)
            return True
        elif isinstance(msg, P.Error):
            if not self._future.done():
                self._future.set_exception(errors.from_dict(msgspec.to_builtins(msg.error)))
            return True
        return False

    def _fail(self, exc: BaseException) -> None:
        if not self._future.done():
            self._future.set_exception(exc)


class EngineClient:
    def __init__(self, name: str = "client") -> None:
        self.name = name
        self.welcome: dict[str, Any] = {}
        self.on_event: EventCallback | None = None
        self.on_close: Callable[[], Awaitable[None] | None] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, Request] = {}
        self._ids = itertools.count(1)
        self._read_task: asyncio.Task[None] | None = None
        self._hello: asyncio.Future[dict[str, Any]] | None = None

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect_unix(self, path: str | Path, timeout: float = 5.0) -> dict[str, Any]:
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path), limit=P.MAX_LINE), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise EngineUnavailable(f"no engine answers on {path}: {e}") from None
        return await self._start(r, w, None, timeout)

    async def connect_tcp(self, host: str, port: int, token: str, timeout: float = 5.0) -> dict[str, Any]:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port, limit=P.MAX_LINE), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise EngineUnavailable(f"no engine answers on {host}:{port}: {e}") from None
        return await self._start(r, w, token, timeout)

    async def _start(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, token: str | None,
                     timeout: float) -> dict[str, Any]:
        self._reader, self._writer = r, w
        self._hello = asyncio.get_running_loop().create_future()
        self._read_task = asyncio.create_task(self._read_loop())
        await self._send(P.Hello(v=P.PROTOCOL_VERSION, client=self.name, token=token or None))
        try:
            self.welcome = await asyncio.wait_for(self._hello, timeout)
        except BaseException:
            await self.close()
            raise
        return self.welcome

    async def _send(self, msg: P.ClientMessage) -> None:
        if not self.connected:
            raise EngineUnavailable("not connected to the engine")
        assert self._writer is not None
        self._writer.write(P.encode(msg))
        try:
            await self._writer.drain()
        except ConnectionError as e:
            raise EngineUnavailable(f"lost the engine: {e}") from None

    async def start(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                    on_progress: ProgressCallback | None = None) -> Request:
        """Send a request and return its handle at once. `method` may be a typed params
        struct (engine/api/), which names its method."""
        if isinstance(method, Params):
            method, params = method_of(method), method
        raw = msgspec.to_builtins(params) if isinstance(params, Params) else (params or {})
        rid = f"{self.name}-{next(self._ids)}"
        req = Request(self, rid, on_progress)
        self._pending[rid] = req
        try:
            await self._send(P.Request(id=rid, method=method, params=raw))
        except BaseException:
            self._pending.pop(rid, None)
            raise
        return req

    async def call(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                   on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Send a request and wait for its result (raises the engine's typed error)."""
        req = await self.start(method, params, on_progress)
        return await req.result()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, RuntimeError):
                pass
        if self._read_task is not None and self._read_task is not asyncio.current_task():
            await asyncio.gather(self._read_task, return_exceptions=True)

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                try:
                    frame = await P.read_engine_frame(self._reader)
                except P.FrameError:
                    break
                if frame is None:
                    break
                msg, blob = frame
                self._handle(msg, blob)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            lost = EngineUnavailable("the engine connection closed")
            for req in self._pending.values():
                req._fail(lost)
            self._pending.clear()
            if self._hello is not None and not self._hello.done():
                self._hello.set_exception(lost)
            if self._writer is not None:
                self._writer.close()
            if self.on_close is not None:
                res = self.on_close()
                if asyncio.iscoroutine(res):
                    await res

    def _handle(self, msg: P.EngineMessage, blob: bytes | None) -> None:
        if isinstance(msg, P.Welcome):
            if self._hello is not None and not self._hello.done():
                self._hello.set_result(P.as_dict(msg))
            return
        if isinstance(msg, P.Event):
            if self.on_event is not None:
                self.on_event(P.as_dict(msg), blob)
            return
        req = self._pending.get(msg.id) if msg.id is not None else None
        if req is None:
            if isinstance(msg, P.Error) and self._hello is not None and not self._hello.done():
                self._hello.set_exception(errors.from_dict(msgspec.to_builtins(msg.error)))
            return
        if req._deliver(msg):
            self._pending.pop(req.id, None)
