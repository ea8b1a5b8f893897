"""The help screen: every key binding, generated from the bindings themselves.

It opens at the pane you are in (its section first), shows keys as people write them
(`[`, `.`, `{`) with the user's keymap applied, and filters as you type: a row stays when
the text is in its keys, its description or its id.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.keys import keys_as_written, long_description


@dataclass(frozen=True)
class HelpRow:
    keys: str  # as written: "[", "u, ctrl+z"
    description: str
    binding_id: str

    def matches(self, words: list[str]) -> bool:
        text = f"{self.keys} {self.description} {self.binding_id}".lower()
        return all(w in text for w in words)


def help_rows(bindings: list[Binding], keymap: dict[str, str]) -> list[HelpRow]:
    rows: list[HelpRow] = []
    for b in bindings:
        keys = keymap.get(b.id, b.key) if b.id else b.key
        rows.append(HelpRow(keys_as_written(keys), long_description(b), b.id or ""))
    return rows


def describe_rows(title: str, rows: list[HelpRow]) -> Text:
    """A section as text (not markup: keys such as `[` are shown as they are)."""
    width = max((len(r.keys) for r in rows), default=0)
    out = Text(title, style="bold")
    for r in rows:
        out.append("\n  ")
        out.append(f" {r.keys} ", style="reverse")
        out.append(" " * (width - len(r.keys)) + f"  {r.description}  ")
        out.append(r.binding_id, style="dim")
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,f1", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list[HelpRow]]]) -> None:
        """`sections`: (title, rows), the current pane's first."""
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]magstation — keys[/b]   type to filter · esc closes · ctrl+p runs "
                         "any action by name · rebind in keymap.toml (docs/keys.md)",
                         id="help-title")
            yield Input(placeholder="filter: a key or a word (export, temperature, [)",
                        id="help-filter")
            for i, (title, rows) in enumerate(self.sections):
                yield Static(describe_rows(title, rows), classes="help-section", id=f"help-{i}")

    def on_mount(self) -> None:
        self.query_one("#help-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter(event.value)

    def filter(self, text: str) -> None:
        words = text.lower().split()
        for i, (title, rows) in enumerate(self.sections):
            shown = [r for r in rows if r.matches(words)]
            section = self.query_one(f"#help-{i}", Static)
            section.display = bool(shown)
            section.update(describe_rows(title, shown))

    def visible_text(self) -> str:
        """What the sections show now (for tests and screen readers)."""
        return "\n".join(str(s.render()) for s in self.query(".help-section").results(Static)
                         if s.display)
