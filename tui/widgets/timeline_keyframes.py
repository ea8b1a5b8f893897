"""The keyframe strip under the roll: the selected keyframe (its name, time and
instrument seed) and the copied instrument; how to make keyframes when there are none.
The keyframes themselves are drawn on the roll's lane (tui/widgets/timeline_arrangement.py)."""

from __future__ import annotations

from rich.markup import escape
from textual.reactive import reactive

from tui.pane_state import Keyframe
from tui.widgets.timeline_text import TimelineText


class KeyframeStrip(TimelineText):
    keyframes: reactive[list[Keyframe]] = reactive(list)
    selected: reactive[int | None] = reactive(None)
    clipboard_seed: reactive[int | None] = reactive(None)
    insert_key: reactive[str] = reactive("i")  # the keys as the user's keymap has them
    sample_key: reactive[str] = reactive("s")

    def markup(self) -> str:
        keys = self.keyframes
        seed = self.clipboard_seed
        clip = f" · clipboard seed {seed}" if seed is not None else ""
        if self.selected is None or not keys or self.selected >= len(keys):
            return (f"no keyframes: [b]{escape(self.insert_key)}[/] inserts one at the cursor, "
                    f"[b]{escape(self.sample_key)}[/] lays them out{clip}")
        k = keys[self.selected]
        name = f" “{escape(k.name)}”" if k.name else ""
        return (f"keyframe {self.selected + 1}/{len(keys)}{name} at {k.time:.3f} s · "
                f"instrument seed {k.seed}{clip}")
