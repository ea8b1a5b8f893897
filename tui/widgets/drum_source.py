"""Where the drum pattern on screen came from (method, seed, temperature, model, sources,
edited): one line drawn from its provenance, a reactive attribute the pane sets."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tui.drum_pattern import describe


class DrumSource(Widget):
    DEFAULT_CSS = "DrumSource { height: auto; }"

    provenance: reactive[dict[str, Any] | None] = reactive(None)

    def render(self) -> str:
        return f"on screen: {escape(describe(self.provenance))}"
