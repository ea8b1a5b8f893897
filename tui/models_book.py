"""What the TUI knows about models: the engine's `models.list`, the pulls in flight, and
the engine calls behind the Models screen (pull, cancel, import, verify, remove).

One `ModelBook` lives on the app (`app.models`), so a pull keeps going, and its progress
stays known, when the Models screen is closed. Whenever something changes it posts
`ModelsChanged`; the app redraws the panes' missing-model lines and the Models screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

from engine import api
from tui.engine_link import Cancelled, Done, Failed, JobControl

if TYPE_CHECKING:
    from tui.app import MagstationApp


class ModelsChanged(Message):
    """The model list changed (`full`), or only a pull's progress: then the panes redraw
    just their model lines, not everything."""

    def __init__(self, full: bool = True) -> None:
        super().__init__()
        self.full = full

    def can_replace(self, message: Message) -> bool:
        # Textual asks the older message whether the newer one (`message`) supersedes it:
        # a full change is never dropped for a progress-only one.
        return isinstance(message, ModelsChanged) and (message.full or not self.full)


@dataclass
class PullState:
    """A pull in flight: bytes done of total, the engine's ETA, and its request (cancel)."""
    name: str
    done: float = 0.0
    total: float = 0.0
    eta_s: float | None = None
    message: str = "queued"
    control: JobControl = field(default_factory=JobControl)  # cancels it
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA …"
    s = int(round(seconds))
    return f"ETA {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"ETA {s // 60}:{s % 60:02d}"


class ModelBook:
    def __init__(self, app: "MagstationApp") -> None:
        self.app = app
        self.rows: dict[str, dict[str, Any]] = {}  # name -> a models.list row, in list order
        self.checkpoints_dir = ""
        self.loaded = False
        self.pulls: dict[str, PullState] = {}
        self.verified: dict[str, str] = {}  # name -> the last verify's verdict, one line
        self.list_error = ""  # why the last models.list failed

    # -- looking up ---------------------------------------------------------------------
    def row(self, name: str | None) -> dict[str, Any] | None:
        """The row of a name or alias (the timeline says `acoustic_only`)."""
        if not name:
            return None
        if name in self.rows:
            return self.rows[name]
        return next((r for r in self.rows.values() if name in r.get("aliases", ())), None)

    def installed(self, name: str | None) -> bool | None:
        """True/False once the engine has said; None while not known (no list yet, or a
        name the engine does not know: a checkpoint path, say)."""
        r = self.row(name)
        return None if r is None else bool(r["installed"])

    def mark(self, name: str | None) -> str:
        """A chooser's mark: ✓ installed, ✗ not (M opens the Models screen), nothing if unknown."""
        state = self.installed(name)
        if state is None:
            return ""
        pull = self.pulls.get(self.row(name)["name"])
        if pull is not None:
            return " [yellow]↓[/]"
        return " [green]✓[/]" if state else " [red]✗[/]"

    def note_missing(self, name: str) -> None:
        """A job said NAME is not installed: believe it until the next list."""
        r = self.row(name)
        if r is not None and r["installed"]:
            r["installed"] = False
            self.changed()

    def changed(self, full: bool = True) -> None:
        self.app.post_message(ModelsChanged(full))

    # -- engine calls -------------------------------------------------------------------
    async def refresh(self) -> None:
        outcome = await self.app.engine.run_job(api.models.List())
        if not isinstance(outcome, Done):  # shown on the Models screen, not as a toast
            self.list_error = getattr(outcome, "message", "cancelled")
            return
        listing = outcome.result
        self.list_error = ""
        self.rows = {r["name"]: r for r in listing["models"]}
        self.checkpoints_dir = listing["checkpoints_dir"]
        self.loaded = True
        self.changed()

    def pull(self, name: str) -> None:
        if name in self.pulls:
            return
        self.pulls[name] = PullState(name)
        self.changed()
        self.app.run_worker(self._pull(name), group=f"pull-{name}")

    async def _pull(self, name: str) -> None:
        st = self.pulls[name]

        def progress(msg: dict[str, Any]) -> None:
            st.done, st.total = msg.get("done", 0.0), msg.get("total", 0.0)
            st.eta_s, st.message = msg.get("eta_s"), msg.get("message", "")
            self.changed(full=False)
        outcome = await self.app.engine.run_job(api.models.Pull(name=name), progress, st.control)
        if isinstance(outcome, Cancelled):
            self.app.notify(f"{name}: download paused; pull it again to resume", timeout=4)
        elif isinstance(outcome, Failed):
            self.app.notify(f"{name}: pull failed: {outcome.message}", severity="error", timeout=10,
                            markup=False)
        else:
            self.app.notify(f"{name} is installed", timeout=4)
        self.pulls.pop(name, None)
        await self.refresh()

    async def cancel_pull(self, name: str) -> bool:
        st = self.pulls.get(name)
        if st is None:
            return False
        await st.control.cancel()
        st.message = "cancelling"
        self.changed()
        return True

    async def import_path(self, path: str) -> str | None:
        """Import a file or folder on the engine's machine; the installed name, or None."""
        outcome = await self.app.engine.run_job(api.models.Import(path=path))
        if not isinstance(outcome, Done):
            self.app.notify(f"import failed: {getattr(outcome, 'message', 'cancelled')}",
                            severity="error", timeout=10, markup=False)
            return None
        res = outcome.result
        await self.refresh()
        self.app.notify(f"imported {res['name']} to {res['path']}", timeout=5, markup=False)
        return str(res["name"])

    async def verify(self, name: str) -> None:
        self.verified[name] = "verifying…"
        self.changed()
        outcome = await self.app.engine.run_job(api.models.Verify(name=name))
        if isinstance(outcome, Failed):
            self.verified[name] = (f"not installed: {outcome.message}" if outcome.missing_model
                                   else f"problem: {outcome.message}")
        elif isinstance(outcome, Done):
            res = outcome.result
            if res["ok"]:
                self.verified[name] = f"OK: {res['checked']} variables checked"
            else:
                first = res["problems"][0] if res["problems"] else ""
                self.verified[name] = (f"{len(res['problems'])} problem(s), e.g. {first}; "
                                       f"reinstall: {res['fix']}")
        severity = "information" if self.verified[name].startswith("OK") else "error"
        self.app.notify(f"{name}: {self.verified[name]}", severity=severity, timeout=8,
                        markup=False)
        self.changed()

    async def remove(self, name: str) -> bool:
        outcome = await self.app.engine.run_job(api.models.Remove(name=name))
        if not isinstance(outcome, Done):
            self.app.notify(f"{name}: not removed: {getattr(outcome, 'message', 'cancelled')}",
                            severity="error", timeout=8, markup=False)
            return False
        self.verified.pop(name, None)
        await self.refresh()
        self.app.notify(f"removed {name}", timeout=4)
        return True
