"""The base of the timeline's text widgets: each draws itself from its reactive
attributes (a change repaints it), `markup()` saying what it shows."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class TimelineText(Static):
    def markup(self) -> str:
        return ""

    def render(self) -> Content:  # type: ignore[override]
        return Content.from_markup(self.markup())
