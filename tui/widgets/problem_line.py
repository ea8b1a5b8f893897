"""A pane's persistent problem lines: what the pane cannot do right now and the action
that fixes it ("the file kick.wav is not a WAV — o opens another"). A line stays until
its cause is gone (the next try of the same thing works, or the pane clears it), unlike
a toast that fades; each line is also kept in the app's Messages log. Hidden while
there is nothing to say. Missing models have their own line (ModelLine)."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class ProblemLine(Static):
    DEFAULT_CSS = """
    ProblemLine {
        height: auto;
        color: $error;
        display: none;
    }
    ProblemLine.-shown {
        display: block;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.problems: dict[str, tuple[str, str]] = {}  # topic -> (what went wrong, the fix)

    def set(self, topic: str, text: str, fix: str = "") -> None:
        """Show `text` for `topic` (one line per topic: a newer one replaces it)."""
        self.problems[topic] = (text, fix)
        self._draw()

    def clear(self, topic: str | None = None) -> None:
        """The cause of `topic` is gone (None: every topic)."""
        if topic is None:
            self.problems.clear()
        else:
            self.problems.pop(topic, None)
        self._draw()

    def text_of(self, topic: str) -> str:
        return self.problems.get(topic, ("", ""))[0]

    def _draw(self) -> None:
        self.set_class(bool(self.problems), "-shown")
        self.update("\n".join(f"✗ {escape(text)}" + (f" — [b]{escape(fix)}[/]" if fix else "")
                              for text, fix in self.problems.values()))
