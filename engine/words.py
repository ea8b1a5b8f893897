"""Small wording helpers shared by the engine's messages and the TUI (no dependencies)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """"1 note", "3 notes", "0 notes"; `plural` where adding "s" is wrong."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
