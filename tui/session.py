"""The autosaved session: which pane is open and each pane's state, so nothing the user
made is lost when the TUI or the engine dies. Saved atomically as JSON.

Loading checks the file against the panes' declared state (tui/pane_state.py): a file
that is not readable JSON of this version is put aside whole; inside a readable one, each
pane field that has the wrong shape or type is put aside on its own (into
`session.json.damaged-<time>` beside it, as JSON) and the pane uses its default there,
while everything else is kept. `warning` then says what was put aside and where.

A pane asks for its state with `typed(pane, Kind)`: from then on the session keeps that
Struct (the very object the pane changes) and saves it, with any keys this version does
not declare (a newer magstation may have written them) kept beside it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from engine import paths
from engine.fsutil import atomic_write_text
from tui.pane_state import PaneState, split_pane_state

S = TypeVar("S", bound=PaneState)

SESSION_VERSION = 1


class Session:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.home() / "session.json"
        self.pane = "drums"
        self.panes: dict[str, dict[str, Any] | PaneState] = {}  # a Struct once a pane asked
        self.extras: dict[str, dict[str, Any]] = {}  # keys a typed pane's Struct does not declare
        self.dirty = False
        self.warning = ""  # set when a damaged session file (or part of one) was put aside

    def _aside_path(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        return aside

    def load(self) -> "Session":
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict) or data.get("version") != SESSION_VERSION:
                raise ValueError("unknown session format")
        except FileNotFoundError:
            return self
        except (OSError, ValueError, RecursionError) as e:  # bad UTF-8 and JSON are ValueErrors
            # Keep the damaged file for the user; start clean rather than crash.
            aside = self._aside_path()
            try:
                self.path.rename(aside)
            except OSError:
                aside = self.path
            self.warning = f"the saved session {self.path} could not be read ({e}); kept it as {aside}"
            return self
        self._load_parts(data)
        return self

    def _load_parts(self, data: dict[str, Any]) -> None:
        """Keep what fits of a readable session; put the damaged parts aside."""
        aside: dict[str, Any] = {}
        why: dict[str, str] = {}
        pane = data.get("pane", self.pane)
        if isinstance(pane, str):
            self.pane = pane
        else:
            aside["pane"], why["pane"] = pane, f"expected a pane name, got {type(pane).__name__}"
        panes = data.get("panes", {})
        if not isinstance(panes, dict):
            aside["panes"], why["panes"] = panes, f"expected an object, got {type(panes).__name__}"
            panes = {}
        put_aside: dict[str, Any] = {}
        for name, state in panes.items():
            kept, dropped, reasons = split_pane_state(name, state)
            if isinstance(state, dict):
                self.panes[name] = kept
            if dropped:
                put_aside[name] = dropped
                why.update({(f"{name}.{k}" if k != "*" else name): r for k, r in reasons.items()})
        if put_aside:
            aside["panes"] = put_aside
        if not aside:
            return
        self.dirty = True  # the next autosave writes the session without the damaged parts
        target = self._aside_path()
        record = {"session": str(self.path), "put_aside": time.time(), "version": SESSION_VERSION,
                  **aside, "why": why}
        names = ", ".join(why)
        try:
            atomic_write_text(target, json.dumps(record, indent=1))
        except OSError as e:
            self.warning = (f"the saved session {self.path} had damaged parts ({names}); they "
                            f"could not be kept aside ({e}) and were dropped")
            return
        self.warning = (f"the saved session {self.path} had damaged parts ({names}): put aside in "
                        f"{target}; the rest of the session is kept")

    def typed(self, pane: str, kind: type[S]) -> S:
        """The pane's state as its declared Struct, made from what was loaded on first use
        (every field was checked on load; a combination that still does not fit gives the
        defaults)."""
        current = self.panes.get(pane)
        if isinstance(current, kind):
            return current
        raw = current if isinstance(current, dict) else {}
        declared = set(kind.__struct_fields__)
        self.extras[pane] = {k: v for k, v in raw.items() if k not in declared}
        try:
            state = msgspec.convert({k: v for k, v in raw.items() if k in declared}, kind)
        except msgspec.ValidationError:
            state = kind()
        self.panes[pane] = state
        return state

    def put(self, pane: str, state: PaneState) -> None:
        """Replace a typed pane's state (autosaved)."""
        self.panes[pane] = state
        self.dirty = True

    def as_json(self, pane: str) -> dict[str, Any]:
        """One pane's state as it is saved."""
        state = self.panes.get(pane, {})
        if isinstance(state, PaneState):
            return {**self.extras.get(pane, {}), **msgspec.to_builtins(state)}
        return dict(state)

    def get(self, pane: str) -> dict[str, Any]:
        """A pane's state as loaded (checked field by field), before its pane asked for it
        typed; a pane this version does not know keeps its dict here."""
        state = self.panes.setdefault(pane, {})
        assert isinstance(state, dict), f"the {pane} pane's state is typed: use typed()"
        return state

    def set_pane(self, pane: str) -> None:
        if pane != self.pane:
            self.pane = pane
            self.dirty = True

    def save(self) -> None:
        data = {"version": SESSION_VERSION, "saved": time.time(), "pane": self.pane,
                "panes": {name: self.as_json(name) for name in self.panes}}
        atomic_write_text(self.path, json.dumps(data, indent=1))
        self.dirty = False

    def save_if_dirty(self) -> None:
        if self.dirty:
            self.save()
