"""The TUI's connection to the engine: starts it on demand, notices when it dies,
restarts it and reconnects, and relays job snapshots to the app. No TensorFlow."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path
from typing import Any, Callable

from textual.app import App

from engine import launcher, paths
from engine.client import EngineClient, EngineUnavailable, ProgressCallback, Request
from engine.api.base import Params
from engine.api.system import Subscribe
from tui.messages import (BatchesChanged, EngineStateChanged, JobsChanged, OutputChanged,
                          TransportChanged)

STARTING, READY, DOWN = "starting", "ready", "down"


class EngineLink:
    def __init__(self, app: App, socket_path: Path | None = None, autostart: bool = True,
                 retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)) -> None:
        self.app = app
        self.socket_path = socket_path or paths.default_socket_path()
        self.autostart = autostart
        self.retry_delays = retry_delays
        self.state = STARTING
        self.detail = ""
        self.client: EngineClient | None = None
        self.restarts = 0
        self.history: deque[str] = deque(maxlen=32)  # recent states, newest last
        self.transport: dict[str, Any] = {}  # the player, as the engine last pushed it
        self.output: dict[str, Any] = {}  # where sound goes, as the engine last pushed it
        self.batches: list[dict[str, Any]] = []  # batch runs, as the engine last pushed them
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._ready = asyncio.Event()  # set while connected: requests wait on it
        self._stopping = False
        self.pid: int | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _set(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self.history.append(state)
        if state == READY:
            self._ready.set()
        else:
            self._ready.clear()
        self.app.post_message(EngineStateChanged(state, detail))

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            self._set(STARTING, "starting the engine" if attempt == 0 else "restarting the engine")
            try:
                if self.autostart:
                    await asyncio.to_thread(launcher.ensure_engine, self.socket_path)
                client = EngineClient("tui")
                self._closed.clear()
                client.on_close = self._closed.set
                client.on_event = self._on_event
                welcome = await client.connect_unix(self.socket_path)
                await client.call(Subscribe(topics=["jobs", "transport", "output", "batches"]))
            except (EngineUnavailable, RuntimeError, OSError) as e:
                delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
                self._set(DOWN, f"{e}; retrying in {delay:g} s")
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self.client = client
            attempt = 0
            self.pid = welcome.get("pid")
            self._set(READY, f"pid {self.pid}")
            await self._closed.wait()
            self.client = None
            if self._stopping:
                return
            self.restarts += 1
            self.app.post_message(JobsChanged([]))
            self.transport = {}
            self._set(DOWN, "the engine stopped; restarting it")

    def _on_event(self, msg: dict[str, Any], blob: bytes | None) -> None:
        kind = msg.get("event")
        if kind == "jobs":
            self.app.post_message(JobsChanged(list(msg.get("jobs") or [])))
        elif kind == "transport" and msg.get("transport"):
            self.transport = msg["transport"]
            self.app.post_message(TransportChanged(self.transport))
        elif kind == "batches":
            self.batches = list(msg.get("batches") or [])
            self.app.post_message(BatchesChanged(self.batches))
        elif kind == "output" and msg.get("output"):
            self.output = msg["output"]
            self.app.post_message(OutputChanged(self.output))

    async def start_request(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                            on_progress: ProgressCallback | None = None) -> Request:
        """Send a request: a typed params struct of engine/api/ (it names its method), or
        a method name and params. While the engine (re)starts, it waits for it."""
        while self.client is None or not self.client.connected:
            if self._task is None or self._task.done() or self._stopping:
                raise EngineUnavailable("the engine is not connected")
            await self._ready.wait()
        return await self.client.start(method, params, on_progress)

    async def call(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                   on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        req = await self.start_request(method, params, on_progress)
        return await req.result()
