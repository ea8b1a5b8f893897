"""The drum grid's chain strip: which pattern of the chain is on screen (◆ among ◇), the
keys that step through it and play it all, and where the whole chain came from. Empty
while there is no chain. Drawn from reactive attributes the pane sets."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tui.drum_pattern import describe


class DrumChain(Widget):
    DEFAULT_CSS = "DrumChain { height: auto; }"

    length: reactive[int] = reactive(0)  # patterns in the chain; 0: no chain
    index: reactive[int] = reactive(0)
    provenance: reactive[dict[str, Any] | None] = reactive(None)  # the whole chain's source
    keys: reactive[tuple[str, str, str]] = reactive(("n", "p", "P"))  # next, previous, play all

    def render(self) -> str:
        if not self.length:
            return ""
        marks = "".join("◆" if i == self.index else "◇" for i in range(self.length))
        whence = escape(describe(self.provenance)) if self.provenance else ""
        next_key, previous_key, play_key = (escape(k) for k in self.keys)
        return (f"chain {self.index + 1}/{self.length} {marks}   ({next_key}/{previous_key} step · "
                f"{play_key} plays it all)" + (f"   chain: {whence}" if whence else ""))
