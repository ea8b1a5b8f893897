"""The autosaved session: which pane is open and each pane's state, so nothing the user
made is lost when the TUI or the engine dies. Saved atomically as JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from engine import paths
from engine.fsutil import atomic_write_text

SESSION_VERSION = 1


class Session:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.home() / "session.json"
        self.pane = "drums"
        self.panes: dict[str, dict[str, Any]] = {}
        self.dirty = False
        self.warning = ""  # set when a damaged session file was put aside

    def load(self) -> "Session":
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict) or data.get("version") != SESSION_VERSION:
                raise ValueError("unknown session format")
            self.pane = str(data.get("pane", self.pane))
            self.panes = {k: v for k, v in data.get("panes", {}).items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            # Keep the damaged file for the user; start clean rather than crash.
            aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            try:
                self.path.rename(aside)
            except OSError:
                aside = self.path
            self.warning = f"the saved session {self.path} could not be read ({e}); kept it as {aside}"
        return self

    def get(self, pane: str) -> dict[str, Any]:
        return self.panes.setdefault(pane, {})

    def update(self, pane: str, **state: Any) -> None:
        self.get(pane).update(state)
        self.dirty = True

    def set_pane(self, pane: str) -> None:
        if pane != self.pane:
            self.pane = pane
            self.dirty = True

    def save(self) -> None:
        data = {"version": SESSION_VERSION, "saved": time.time(), "pane": self.pane, "panes": self.panes}
        atomic_write_text(self.path, json.dumps(data, indent=1))
        self.dirty = False

    def save_if_dirty(self) -> None:
        if self.dirty:
            self.save()
