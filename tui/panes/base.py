"""What every pane shares: an id and title, access to the session and the engine link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Vertical

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
