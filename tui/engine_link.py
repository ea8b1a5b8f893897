"""The TUI's connection to the engine: starts it on demand, notices when it dies,
restarts it and reconnects, and relays job snapshots to the app. No TensorFlow."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from textual.app import App

from engine import launcher, paths
from engine import errors
from engine.client import EngineClient, EngineUnavailable, ProgressCallback, Request
from engine.api.base import Params
from engine.api.system import Subscribe
from tui.messages import (BatchesChanged, EngineStateChanged, JobsChanged, OutputChanged,
                          TransportChanged)

STARTING, READY, DOWN = "starting", "ready", "down"


# -- what a job came to: run_job never raises for an engine-side outcome ----------------
@dataclass(frozen=True)
class Done:
    result: dict[str, Any]
    params: dict[str, Any] | None = None  # as the engine ran them (the seed it drew filled in)
    cached: bool = False


@dataclass(frozen=True)
class Cancelled:
    message: str = "cancelled"


@dataclass(frozen=True)
class Failed:
    message: str  # for the user: names the file or parameter and the fix
    code: str = "engine_error"  # engine/errors.py's codes; "unavailable" when no engine answers

    @property
    def missing_model(self) -> bool:
        return self.code == errors.ModelNotInstalled.code


JobOutcome = Union[Done, Cancelled, Failed]


@dataclass
class JobControl:
    """Handed to `run_job` by a caller that may cancel: `cancel()` works before the
    engine has accepted the job (it is then cancelled as soon as it is) and after."""
    request: Request | None = None
    cancel_asked: bool = False
    progress: dict[str, Any] = field(default_factory=dict)  # the latest progress message

    async def cancel(self) -> None:
        self.cancel_asked = True
        if self.request is not None:
            try:
                await self.request.cancel()
            except (EngineUnavailable, OSError):  # the link is gone: nothing left to cancel
                pass


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
        self.config: dict[str, Any] = {}  # how the engine runs (its TCP address, ...), pushed once
        self._cancels: set[asyncio.Task[None]] = set()  # cancels of abandoned jobs in flight
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
                await client.call(Subscribe(topics=["jobs", "transport", "output", "batches", "config"]))
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
            self.app.post_message(OutputChanged(self.output, self.config))
        elif kind == "config" and msg.get("config"):
            self.config = msg["config"]
            if self.output:
                self.app.post_message(OutputChanged(self.output, self.config))

    async def start_request(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                            on_progress: ProgressCallback | None = None) -> Request:
        """Send a request: a typed params struct of engine/api/ (it names its method), or
        a method name and params. While the engine (re)starts, it waits for it."""
        await self.ready()
        assert self.client is not None
        return await self.client.start(method, params, on_progress)

    async def ready(self) -> None:
        """Wait until the engine is connected (at once when it is)."""
        while self.client is None or not self.client.connected:
            if self._task is None or self._task.done() or self._stopping:
                raise EngineUnavailable("the engine is not connected")
            await self._ready.wait()

    async def run_job(self, params: Params, on_progress: ProgressCallback | None = None,
                      control: JobControl | None = None) -> JobOutcome:
        """Run one engine method to its end: Done, Cancelled or Failed, never an exception
        for what the engine (or its absence) answers. Waits for the engine while it
        (re)starts. `control` lets the caller cancel and see the latest progress."""
        control = control or JobControl()

        def progress(msg: dict[str, Any]) -> None:
            control.progress = msg
            if on_progress is not None:
                on_progress(msg)
        try:
            control.request = await self.start_request(params, on_progress=progress)
            if control.cancel_asked:
                await control.request.cancel()
            result = await control.request.result()
        except errors.JobCancelled as e:
            return Cancelled(e.message)
        except errors.EngineError as e:
            return Failed(e.message, e.code)
        except (EngineUnavailable, OSError) as e:
            return Failed(f"the engine is not reachable ({e}); ctrl+r restarts it", "unavailable")
        except asyncio.CancelledError:
            # The caller gave up (a pane's worker replaced by a newer one): the engine must
            # not spend its worker on a result nobody waits for, ahead of the newer job.
            if control.request is not None:
                self._abandoned(control.request)
            raise
        return Done(result, control.request.params, control.request.cached)

    def _abandoned(self, request: Request) -> None:
        async def cancel() -> None:
            try:
                await request.cancel()
                await request.result()  # its answer, taken so that nothing is left unread
            except (errors.EngineError, EngineUnavailable, OSError):  # cancelled, or gone
                pass
        task = asyncio.get_running_loop().create_task(cancel())
        self._cancels.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._cancels.discard)

    async def call(self, method: str | Params, params: dict[str, Any] | Params | None = None,
                   on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        req = await self.start_request(method, params, on_progress)
        return await req.result()
