"""The help screen: every key binding, generated from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def describe_bindings(title: str, bindings: list) -> str:
    lines = [f"[b]{title}[/b]"]
    for b in bindings:
        if isinstance(b, Binding):
            key, desc = b.key, b.description
        else:
            key, desc = b[0], b[2] if len(b) > 2 else b[1]
        keys = ", ".join(k.strip() for k in key.split(","))
        lines.append(f"  [reverse] {keys} [/reverse]  {desc}")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,question_mark,f1", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]magstation — keys[/b]   (esc closes; ctrl+p opens the command palette)",
                         id="help-title")
            for title, bindings in self.sections:
                yield Static(describe_bindings(title, bindings), classes="help-section")
