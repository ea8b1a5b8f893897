"""The bottom bar: engine state on the left, running jobs with progress bars on the right."""

from __future__ import annotations

from typing import Any

from rich.errors import MarkupError
from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar, Static

from engine.words import counted

STATE_STYLE = {"ready": "green", "starting": "yellow", "down": "red"}
MAX_JOBS_SHOWN = 3


def listen_fix(config: dict[str, Any]) -> str:
    """The one command that lets someone hear this engine, from what its config says;
    the command first, so a narrow status bar cuts the explanation, not the command."""
    tcp = config.get("tcp")
    if tcp:
        port = str(tcp).rpartition(":")[2]
        return (f"on your machine: ssh -L {port}:{tcp} SERVER, then magstation listen --connect "
                f"127.0.0.1:{port} (no sound device here, no listener)")
    return ("run `magstation listen` here (no sound device, no listener; for one on another "
            "machine set [engine] tcp in config.toml)")


def output_label(output: dict[str, Any], config: dict[str, Any] | None = None) -> str:
    """Where sound goes, always on screen: the device and listeners, or, when nothing can
    hear it, that and the one-line fix."""
    if not output:
        return ""
    n = int(output.get("listeners") or 0)
    listeners = counted(n, "listener")
    dropped = f" · [yellow]{output['dropped_s']:.0f}s dropped[/]" if output.get("dropped_s") else ""
    device = output.get("device") or "null"
    if device == "null":
        if n:
            return f"♪ no device here · {listeners}{dropped}"
        return "[yellow]♪ nothing hears it[/] · " + escape(listen_fix(config or {}))
    return f"♪ {device} · {listeners}{dropped}"


def job_label(job: dict[str, Any]) -> str:
    eta = job.get("eta_s")
    eta_s = f" {eta:4.0f}s left" if isinstance(eta, (int, float)) else ""
    state = "queued " if job.get("state") == "queued" else ""
    return f"{state}{job.get('method', '?')}{eta_s}"


def set_text(widget: Static, text: str) -> None:
    """Show `text` (markup) in a Static or Label: nothing is drawn when it shows that
    already, and only the widget is drawn again, with no new layout of the screen, when
    its size stays: as many cells as before, or one line that still fits a widget whose
    width does not follow its text. Progress snapshots arrive several times a second while
    a job runs, and a layout redraws the whole screen, a keypress's frame included."""
    if widget.content == text:
        return
    cells = _cells(text)
    old = widget.content
    same_width = isinstance(old, str) and _cells(old) == cells
    width = widget.styles.width
    fits_line = ((width is None or not width.is_auto) and widget.size.height == 1
                 and cells <= widget.content_size.width)
    widget.update(text, layout=not (same_width or fits_line))


def _cells(markup: str) -> int:
    try:
        return Text.from_markup(markup).cell_len
    except MarkupError:  # not markup after all: then its own length
        return len(markup)


class JobRow(Horizontal):
    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(classes="job-row")
        self.job = job
        self.label = Label(job_label(job), classes="job-label")
        self.bar = ProgressBar(total=None, show_eta=False, classes="job-bar")

    def compose(self) -> ComposeResult:
        yield self.label
        yield self.bar

    def on_mount(self) -> None:
        self.refresh_job(self.job)

    def refresh_job(self, job: dict[str, Any]) -> None:
        self.job = job
        if not self.label.is_mounted:
            return  # mounted but not composed yet (a fast second update): on_mount draws it
        set_text(self.label, job_label(job))
        total = job.get("total") or 0
        if total > 0:
            self.bar.update(total=total, progress=job.get("done", 0))


class StatusBar(Horizontal):
    """Shows what the engine is doing; updated by the app from engine messages.

    Engine messages can arrive before the bar is mounted or while the app closes: the
    bar keeps the latest state and shows it whenever its parts are on screen."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.engine_label = Label("engine: starting", id="engine-state")
        self.output_label = Label("", id="sound-output")
        self.jobs_box = Horizontal(id="jobs")
        self.more_label = Label("", id="jobs-more")
        self._jobs: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield self.engine_label
        yield self.output_label
        yield self.jobs_box
        yield self.more_label

    def on_mount(self) -> None:
        self.set_jobs(self._jobs)

    def set_engine(self, state: str, detail: str) -> None:
        color = STATE_STYLE.get(state, "white")
        set_text(self.engine_label, f"[{color}]●[/] engine {state}" + (f" · {detail}" if detail else ""))
        self.engine_label.set_class(state == "down", "engine-down")

    def set_output(self, output: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        set_text(self.output_label, output_label(output, config))

    def set_jobs(self, jobs: list[dict[str, Any]]) -> None:
        self._jobs = jobs
        box = self.jobs_box
        if not box.is_attached:
            return
        shown = jobs[:MAX_JOBS_SHOWN]
        rows = {r.job["job"]: r for r in box.query(JobRow)}
        keep = {j["job"] for j in shown}
        for job_id, row in rows.items():
            if job_id not in keep:
                row.remove()
        for job in shown:
            if job["job"] in rows:
                rows[job["job"]].refresh_job(job)
            else:
                box.mount(JobRow(job))
        more = len(jobs) - len(shown)
        set_text(self.more_label, f"+{more} more" if more > 0 else "")
