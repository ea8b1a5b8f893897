"""What every pane shares: an id and title, its typed state in the session, the engine
link.

A pane declares `STATE` (a PaneState Struct of tui/pane_state.py, every field with its
default) and reads `self.state.field`; `_set(field=value)` replaces the Struct in the
session (autosaved) and redraws. What the pane shows is drawn by widgets with reactive
attributes that the pane sets from its state; panes tell each other things with
messages (tui/messages.py), never by touching another pane's state."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generic, TypeVar

import msgspec
from textual.containers import Vertical

from engine.api.base import Params
from tui.engine_link import Done, Failed, JobControl, JobOutcome
from tui.keys import keys_as_written
from tui.pane_state import PaneState

S = TypeVar("S", bound=PaneState)

if TYPE_CHECKING:
    from tui.app import MagstationApp
    from tui.widgets.job_progress import JobProgress


class Pane(Vertical, Generic[S]):
    PANE_ID: ClassVar[str] = ""
    STATE: ClassVar[type[PaneState]]
    TITLE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""  # the number key that shows this pane
    can_focus = True

    @property
    def mag(self) -> "MagstationApp":
        from tui.app import MagstationApp
        assert isinstance(self.app, MagstationApp)
        return self.app

    @property
    def state(self) -> S:
        """This pane's part of the autosaved session: its STATE Struct (change it with
        `_set`, or change a mutable field in place and call `saved()`)."""
        return self.mag.session.typed(self.PANE_ID, self.STATE)  # type: ignore[return-value]

    def saved(self) -> None:
        self.mag.session.dirty = True

    def transport_changed(self, status: dict[str, Any]) -> None:
        """The engine's player changed (pushed by the engine; see TransportChanged)."""

    def engine_state_changed(self, state: str) -> None:
        """The engine connection changed: starting, ready or down (a restart)."""

    def _redraw(self) -> None:
        """Show the pane's state again (each pane draws its own)."""

    # -- engine jobs and what went wrong (a pane composes a ProblemLine) ------------------
    async def run_job(self, params: Params, topic: str, progress: "JobProgress | None" = None,
                      control: JobControl | None = None, label: str = "",
                      fix: str = "", says: Callable[[str], str] | None = None) -> JobOutcome:
        """Run an engine job for this pane: `progress` (a JobProgress) follows it, a
        failure stays on the pane's ProblemLine under `topic` (worded by `says` from the
        engine's message, with `fix`, the action that helps) until the same topic next
        succeeds. Never raises for the engine's answer."""
        if progress is not None:
            progress.start(label or topic)
        outcome = await self.mag.engine.run_job(
            params, progress.progress if progress is not None else None, control)
        if self.closing_down:  # the app closed while it ran: nothing left to show it on
            raise asyncio.CancelledError
        if progress is not None:  # what a finished job made shows in the pane itself
            progress.clear() if isinstance(outcome, Done) else progress.finish(outcome)
        if isinstance(outcome, Failed):  # no engine: its message has the fix (ctrl+r), not `fix`
            self.problem(topic, says(outcome.message) if says else outcome.message,
                         "" if outcome.code == "unavailable" else fix)
        else:
            self.solved(topic)
        return outcome

    @property
    def closing_down(self) -> bool:
        """The app is closing and this pane's widgets are going (or gone)."""
        return not self.is_attached or self._closing or self._pruning  # Textual's own flags

    def problem(self, topic: str, text: str, fix: str = "") -> None:
        """Say on the pane (and in Messages) what cannot be done; a pane without a
        ProblemLine shows a toast instead."""
        from tui.widgets.problem_line import ProblemLine
        lines = self.query(ProblemLine).results(ProblemLine)
        line = next(lines, None)
        if line is None:
            self.mag.notify(text + (f" ({fix})" if fix else ""), severity="error")
            return
        line.set(topic, text, fix)
        self.mag.notices.add(text + (f" ({fix})" if fix else ""), "error", self.TITLE)

    def solved(self, topic: str) -> None:
        from tui.widgets.problem_line import ProblemLine
        for line in self.query(ProblemLine).results(ProblemLine):
            line.clear(topic)

    # -- models (a pane shows what it needs in a ModelLine; `M` opens the Models screen) --
    def models_changed(self) -> None:
        """The engine's model list changed: redraw (choosers' marks, the missing line)."""
        if self.is_mounted and not self.closing_down:
            self._redraw()

    def missing_models(self) -> list[str]:
        """The models this pane needs that are not installed (its ModelLine's)."""
        from tui.widgets.model_line import ModelLine
        return [name for line in self.query(ModelLine).results(ModelLine) for name in line.missing]

    def _set(self, **changes: Any) -> None:
        """Change pane state: autosaved and shown."""
        self.mag.session.put(self.PANE_ID, msgspec.structs.replace(self.state, **changes))
        self.saved()
        self._redraw()

    def _field(self, name: str) -> Any:
        """A field the panes that generate share (`seed`, `seed_locked`)."""
        return getattr(self.state, name)

    def key(self, name: str) -> str:
        """The key of this pane's binding `name` as written, the user's keymap applied (for
        hints such as "r renders"); the first one when it has several."""
        binding_id = f"{self.PANE_ID}.{name}"
        keymap: dict[str, str] = getattr(self.app, "keymap_keys", {})
        for b in self.BINDINGS:
            if b.id == binding_id:
                return keys_as_written(keymap.get(binding_id, b.key)).split(", ")[0]
        raise KeyError(f"{binding_id} is not a binding")

    # -- seeds (panes that generate keep `seed` and `seed_locked` in their state) -----

    def locked_seed(self) -> int | None:
        """The locked seed, or None so the engine draws one (and reports it back)."""
        return self._field("seed") if self._field("seed_locked") else None

    def action_lock_seed(self) -> None:
        self._set(seed_locked=not self._field("seed_locked"))

    def action_set_seed(self) -> None:
        from tui.widgets.prompt import AskText

        def answer(text: str | None) -> None:
            if text is None:
                return
            if not text.strip().isdigit():
                self.mag.notify(f"a seed is a whole number, not {text!r}", severity="warning")
                return
            self._set(seed=int(text.strip()), seed_locked=True)
        self.mag.push_screen(AskText(f"Seed (locked until you press {self.key('lock_seed')}):",
                                     str(self._field("seed"))), answer)
