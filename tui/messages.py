"""Messages the engine link posts to the app, and the ones panes send each other through
the app (a pane never touches another pane's state)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class EngineStateChanged(Message):
    """The engine connection changed: starting, ready, down or restarting."""

    def __init__(self, state: str, detail: str = "") -> None:
        super().__init__()
        self.state = state
        self.detail = detail


class TransportChanged(Message):
    """The engine's player changed (pushed by the engine, never polled)."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__()
        self.status = status

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TransportChanged)


def transport_position(status: dict[str, Any], now: float) -> float | None:
    """Seconds into the sound at `now` (wall clock) from a transport status: its position
    when the engine sent it plus the time since (its `at`), wrapped when it loops; None
    once a sound that does not loop has ended. Panes move their playheads with it between
    events, so nobody polls the engine."""
    at = float(status.get("at") or now)
    pos = float(status.get("position_s") or 0.0) + max(0.0, now - at)
    duration = float(status.get("duration_s") or 0.0)
    if status.get("loop") and duration > 0:
        return pos % duration
    return None if pos >= duration else pos


class OutputChanged(Message):
    """Where sound goes changed: the device (or none), listeners, dropped audio; with the
    engine's config (its TCP address, for the fix when nothing hears it)."""

    def __init__(self, output: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.output = output
        self.config = config or {}

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OutputChanged)


class JobsChanged(Message):
    """A snapshot of the engine's queued and running jobs."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.jobs = jobs

    def can_replace(self, message: Message) -> bool:
        # A flood of progress snapshots collapses into the newest one.
        return isinstance(message, JobsChanged)


class BatchesChanged(Message):
    """The batch runs on this machine and their progress (engine/batch/runs.py records)."""

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.runs = runs

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchesChanged)


class SendToMix(Message):
    """A pane asks the mixer to take a sound as its next source (the library's `x`)."""

    def __init__(self, path: str, name: str) -> None:
        super().__init__()
        self.path = path
        self.name = name


class MixSourcesChanged(Message):
    """The mixer's sources changed (the library shows how many of its slots are used)."""

    def __init__(self, sources: list[str], capacity: int) -> None:
        super().__init__()
        self.sources = sources
        self.capacity = capacity


class ShowInLibrary(Message):
    """Open the library pane filtered to `filter` (e.g. `#batch:NAME`, a batch's set)."""

    def __init__(self, filter: str) -> None:
        super().__init__()
        self.filter = filter
