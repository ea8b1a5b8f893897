"""A pane's persistent missing-model line: which of the models the pane needs is not
installed, and that `M` opens the Models screen at it. Hidden while nothing is missing
(or while the engine has not said yet). Not a toast: it stays while it is true."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

MODELS_KEY = "M"


class ModelLine(Static):
    DEFAULT_CSS = """
    ModelLine {
        height: auto;
        color: $warning;
        display: none;
    }
    ModelLine.-missing {
        display: block;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.missing: list[str] = []  # model names, the first is where `M` opens
        self.needs: list[tuple[str, str | None]] = []

    def show(self, needs: list[tuple[str, str | None]]) -> None:
        """`needs`: (what the pane uses it for, model name); a None name needs nothing."""
        self.needs = list(needs)
        self.redraw()

    def redraw(self) -> None:
        """Draw again from the app's ModelBook (a pull's progress changed)."""
        book = getattr(self.app, "models", None)
        if book is None:
            return
        parts, missing = [], []
        for what, name in self.needs:
            if not name or book.installed(name) is not False:
                continue
            row = book.row(name)
            missing.append(row["name"])
            pull = book.pulls.get(row["name"])
            state = (f"downloading {pull.fraction:.0%}" if pull is not None
                     else f"not installed ({row.get('size_text', '?')})")
            parts.append(f"{what} [b]{escape(name)}[/] {state}")
        self.missing = missing
        self.set_class(bool(missing), "-missing")
        if missing:
            self.update("⚠ " + " · ".join(parts) + f" — [b]{MODELS_KEY}[/] opens Models")
