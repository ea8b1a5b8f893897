"""The command palette's pane actions: every binding of every pane, by name.

"export", "sample" or "model" find the actions of each pane that has one; running one
shows its pane and runs the action there, as its key would.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.keys import keys_as_written, long_description

if TYPE_CHECKING:
    from tui.panes.base import Pane


@dataclass(frozen=True)
class PaneAction:
    pane_id: str
    text: str  # "Drums: Export pattern (MIDI + WAV)"
    keys: str  # as written, the keymap applied
    action: str
    binding_id: str


def pane_actions(app) -> Iterator[PaneAction]:
    """One per (pane, action): a second key for the same action is not a second command."""
    from tui.panes import PANES

    keymap = app.keymap_keys
    for pane in PANES:
        seen: set[str] = set()
        for b in pane.BINDINGS:
            if b.action in seen:
                continue
            seen.add(b.action)
            keys = keymap.get(b.id, b.key) if b.id else b.key
            yield PaneAction(pane.PANE_ID, f"{pane.TITLE}: {long_description(b)}",
                             keys_as_written(keys), b.action, b.id or "")


class PaneActionsProvider(Provider):
    async def _run(self, item: PaneAction) -> None:
        app = self.app
        app.action_show_pane(item.pane_id)
        pane: Pane = app.query_one(f"#pane-{item.pane_id}")
        await pane.run_action(item.action)

    def _help(self, item: PaneAction) -> str:
        return f"key {item.keys} · {item.binding_id}"

    async def discover(self) -> Hits:
        for item in pane_actions(self.app):
            yield DiscoveryHit(item.text, partial(self._run, item), help=self._help(item))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for item in pane_actions(self.app):
            score = max(matcher.match(item.text), matcher.match(item.binding_id) * 0.9)
            if score > 0:
                yield Hit(score, matcher.highlight(item.text), partial(self._run, item),
                          help=self._help(item))
