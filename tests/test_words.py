"""Counted nouns, as every count on screen and in the CLI is written."""

from engine.words import counted


def test_one_is_singular_and_everything_else_plural():
    assert [counted(n, "note") for n in (0, 1, 2)] == ["0 notes", "1 note", "2 notes"]
    assert counted(3, "batch", "batches") == "3 batches" and counted(1, "batch", "batches") == "1 batch"
