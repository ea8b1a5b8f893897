"""Every message the app has shown (toasts fade after seconds; this list keeps the last
200 of the session). Opened from the command palette ("Messages"); escape closes it."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEEP = 200
SEVERITY_STYLE = {"information": "", "warning": "yellow", "error": "bold red"}


@dataclass(frozen=True)
class Notice:
    at: float  # time.time()
    severity: str
    title: str
    message: str

    def line(self) -> Text:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.at))
        text = Text(f"{stamp}  ", style="dim")
        if self.title:
            text.append(f"{self.title}: ", style="bold")
        text.append(self.message, style=SEVERITY_STYLE.get(self.severity, ""))
        return text


class NoticeLog:
    """The session's notices, oldest first, at most KEEP."""

    def __init__(self) -> None:
        self._items: deque[Notice] = deque(maxlen=KEEP)

    def add(self, message: str, severity: str = "information", title: str = "") -> Notice:
        notice = Notice(time.time(), severity, title, message)
        self._items.append(notice)
        return notice

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def text(self) -> str:
        """Every message, one per line (what tests and the screen read)."""
        return "\n".join(n.message for n in self._items)


class NoticesScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    NoticesScreen { align: center middle; }
    NoticesScreen > VerticalScroll { width: 90%; height: 80%; border: round $accent;
                                     background: $surface; padding: 0 1; }
    """

    def __init__(self, log: NoticeLog) -> None:
        super().__init__()
        self.log_items = list(log)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="notices") as box:
            box.border_title = "messages, newest first (escape closes)"
            if not self.log_items:
                yield Static("no messages yet")
            for notice in reversed(self.log_items):
                yield Static(notice.line())
