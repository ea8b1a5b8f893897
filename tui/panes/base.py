"""What every pane shares: an id and title, access to the session and the engine link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Vertical

from tui.keys import keys_as_written

if TYPE_CHECKING:
    from tui.app import MagstationApp


class Pane(Vertical):
    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""  # the number key that shows this pane
    can_focus = True

    @property
    def mag(self) -> "MagstationApp":
        from tui.app import MagstationApp
        assert isinstance(self.app, MagstationApp)
        return self.app

    @property
    def state(self) -> dict[str, Any]:
        """This pane's part of the autosaved session (mutate, then call `saved()`)."""
        return self.mag.session.get(self.PANE_ID)

    def saved(self) -> None:
        self.mag.session.dirty = True

    def transport_changed(self, status: dict[str, Any]) -> None:
        """The engine's player changed (pushed by the engine; see TransportChanged)."""

    def engine_state_changed(self, state: str) -> None:
        """The engine connection changed: starting, ready or down (a restart)."""

    def _redraw(self) -> None:
        """Show the pane's state again (each pane draws its own)."""

    # -- models (a pane shows what it needs in a ModelLine; `M` opens the Models screen) --
    def models_changed(self) -> None:
        """The engine's model list changed: redraw (choosers' marks, the missing line)."""
        if self.is_mounted:
            self._redraw()

    def missing_models(self) -> list[str]:
        """The models this pane needs that are not installed (its ModelLine's)."""
        from tui.widgets.model_line import ModelLine
        return [name for line in self.query(ModelLine).results(ModelLine) for name in line.missing]

    def _set(self, **changes: Any) -> None:
        """Change pane state: autosaved and shown."""
        self.state.update(changes)
        self.saved()
        self._redraw()

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
        return self.state["seed"] if self.state["seed_locked"] else None

    def action_lock_seed(self) -> None:
        self._set(seed_locked=not self.state["seed_locked"])

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
                                     str(self.state["seed"])), answer)
