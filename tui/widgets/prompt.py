"""The workstation's one prompt style: a small modal dialog. Ask for a line of text
(paths complete with →; a live filter sees each edit), ask yes/no, or pick from a list."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


def complete_path(value: str) -> str | None:
    """The first file or folder name that completes `value` (a folder gets its /)."""
    if not value or value.endswith(("/.", "/..")):
        return None
    expanded = Path(value).expanduser()
    folder, prefix = (expanded, "") if value.endswith("/") else (expanded.parent, expanded.name)
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith(prefix) and not n.startswith("."))
    except OSError:
        return None
    if not names:
        return None
    rest = names[0][len(prefix):] + ("/" if (folder / names[0]).is_dir() else "")
    return value + rest if rest else None


class PathSuggester(Suggester):
    """Completes file and folder names as a path is typed (→ accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)


class AskText(ModalScreen[str | None]):
    """One line of input; enter answers, escape cancels (None). `paths`: → completes file
    and folder names. `on_change`: called with the text at each edit (a live filter)."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "", *,
                 paths: bool = False, on_change: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder
        self.paths, self.on_change = paths, on_change

    def compose(self) -> ComposeResult:
        hint = "enter: OK · escape: cancel" + (" · →: complete the path" if self.paths else "")
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            yield Input(value=self.value, placeholder=self.placeholder, id="answer",
                        suggester=PathSuggester() if self.paths else None)
            yield Label(f"[dim]{hint}[/]")

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.on_change is not None:
            self.on_change(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question: y answers yes; n or escape no."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            yield Label("[b]y[/b] yes · [b]n[/b] no · escape: no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class Choose(ModalScreen[int | None]):
    """Pick one line of a list (newest last in `labels`, shown first); enter picks."""

    BINDINGS = [("escape", "cancel", "Close")]

    def __init__(self, title: str, labels: list[str]) -> None:
        super().__init__()
        self.title_text, self.labels = title, labels

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield OptionList(*[Option(text, id=str(i)) for i, text in reversed(list(enumerate(self.labels)))])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
