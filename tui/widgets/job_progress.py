"""One line that follows an engine job: a bar with percent and ETA, what the job says it
is doing, and how it ended. Every pane that runs a long job shows one of these (fed by
`EngineLink.run_job`'s progress and outcome), so long work looks the same everywhere."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.engine_link import Cancelled, Done, Failed, JobOutcome

IDLE, RUNNING, DONE, CANCELLED, FAILED = "idle", "running", "done", "cancelled", "failed"
BAR_CELLS = 20


def fmt_eta(seconds: float | None) -> str:
    """1m05s, 2h03m; '?' when unknown."""
    if seconds is None:
        return "?"
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def progress_bar(fraction: float, cells: int = BAR_CELLS) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * cells))
    return "█" * filled + "░" * (cells - filled)


class JobProgress(Widget):
    """`start(label)`, then `progress(msg)` for each progress message, then
    `finish(outcome)`. Hidden while idle; `cancel_hint` names the key that cancels."""

    DEFAULT_CSS = """
    JobProgress { height: 1; }
    JobProgress.-idle { display: none; }
    """

    label: reactive[str] = reactive("")
    status: reactive[str] = reactive(IDLE)
    done: reactive[float] = reactive(0.0)
    total: reactive[float] = reactive(0.0)
    eta_s: reactive[float | None] = reactive(None)
    message: reactive[str] = reactive("")

    def __init__(self, cancel_hint: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cancel_hint = cancel_hint
        self.add_class("-idle")

    def watch_status(self, status: str) -> None:
        self.set_class(status == IDLE, "-idle")

    def start(self, label: str, message: str = "queued") -> None:
        self.label, self.done, self.total, self.eta_s = label, 0.0, 0.0, None
        self.message, self.status = message, RUNNING

    def progress(self, msg: dict[str, Any]) -> None:
        """An engine progress message (`done`, `total`, `eta_s`, `message`)."""
        self.done = float(msg.get("done") or 0.0)
        self.total = float(msg.get("total") or 0.0)
        self.eta_s = msg.get("eta_s")
        self.message = str(msg.get("message") or "")

    def finish(self, outcome: JobOutcome, message: str = "") -> None:
        if isinstance(outcome, Done):
            self.status, self.message = DONE, message or "done"
            self.done = self.total = self.total or 1.0
        elif isinstance(outcome, Cancelled):
            self.status, self.message = CANCELLED, message or outcome.message
        elif isinstance(outcome, Failed):
            self.status, self.message = FAILED, message or outcome.message
        self.eta_s = None

    def clear(self) -> None:
        self.status = IDLE

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total > 0 else 0.0

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.label:
            text.append(f"{self.label} ", style="bold")
        if self.status == RUNNING:
            text.append(progress_bar(self.fraction), style="green")
            text.append(f" {self.fraction:4.0%}")
            if self.eta_s is not None:
                text.append(f" · ETA {fmt_eta(self.eta_s)}")
            if self.message:
                text.append(f" · {self.message}", style="dim")
            if self.cancel_hint:
                text.append(f" · {self.cancel_hint} cancels", style="dim")
        else:
            style = {DONE: "green", CANCELLED: "yellow", FAILED: "red"}.get(self.status, "")
            text.append(f"{self.status}: {self.message}" if self.message else self.status, style=style)
        return text
