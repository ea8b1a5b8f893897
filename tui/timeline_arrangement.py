"""The timeline's arithmetic on time and keyframes, free of widgets: columns of a zoom,
Magenta's keyframe layout, where a keyframe may move. Keyframes are tui.pane_state
Keyframe Structs kept sorted by time."""

from __future__ import annotations

import random

from msgspec.structs import replace

from tui.pane_state import Keyframe
from tui.typed_numbers import number_in_range

ZOOMS = (0.025, 0.05, 0.0625, 0.125, 0.25, 0.5, 1.0)  # seconds per column
SECS_RANGE = (0.5, 120.0)  # seconds per instrument that `s` accepts


def new_seed() -> int:
    return random.randrange(2**31)


def column(t: float, secs_per_col: float) -> int:
    """The column of time `t` (a hair of rounding error does not move it back one)."""
    return int(t / secs_per_col + 1e-9)


def layout_keyframes(total_time: float, secs: float) -> list[Keyframe]:
    """Magenta's layout: max(2, total // secs) random instruments spread evenly over the
    piece, first at 0 and last at the end."""
    n = max(2, int(total_time / secs))
    step = total_time / (n - 1) if n > 1 else 0.0
    return [Keyframe(time=round(i * step, 4), seed=new_seed()) for i in range(n)]


def key_at(keys: list[Keyframe], t: float, secs_per_col: float) -> int | None:
    """The keyframe in the column of `t` (one keyframe per column), or None."""
    col = column(t, secs_per_col)
    return next((i for i, k in enumerate(keys) if column(k.time, secs_per_col) == col), None)


def moved_time(keys: list[Keyframe], i: int, cols: int, secs_per_col: float) -> float | None:
    """Where keyframe `i` lands `cols` columns on, or None where it would pass a
    neighbour or the start."""
    t = round((column(keys[i].time, secs_per_col) + cols) * secs_per_col, 6)
    lo = keys[i - 1].time if i > 0 else None
    hi = keys[i + 1].time if i + 1 < len(keys) else None
    if t < 0 or (lo is not None and t <= lo) or (hi is not None and t >= hi):
        return None
    return t


def scroll_to_show(scroll: int, columns: int, cursor: float, playhead: float | None,
                   secs_per_col: float) -> int:
    """The first column to show so that the cursor (and a playing playhead) is on screen."""
    col = column(cursor, secs_per_col)
    if col < scroll:
        scroll = col
    elif col >= scroll + columns:
        scroll = col - columns + 1
    if playhead is not None:
        pcol = int(playhead / secs_per_col)
        if not scroll <= pcol < scroll + columns:
            scroll = max(0, pcol - columns // 4)
    return scroll


def parse_secs(text: str) -> float:
    """Seconds per instrument as typed; ValueError says what is allowed."""
    return number_in_range(text, *SECS_RANGE, "seconds per instrument")


def with_key(keys: list[Keyframe], t: float, seed: int, name: str,
             secs_per_col: float) -> list[Keyframe]:
    """`keys` with an instrument at `t`: one keyframe per column, so a keyframe already in
    that column gets the instrument instead."""
    i = key_at(keys, t, secs_per_col)
    if i is None:
        return sorted([*keys, Keyframe(time=t, seed=seed, name=name)], key=lambda k: k.time)
    return [replace(k, seed=seed, name=name) if j == i else k for j, k in enumerate(keys)]


def with_changed(keys: list[Keyframe], i: int, **changes: object) -> list[Keyframe]:
    """`keys` with keyframe `i` changed (its time only where `moved_time` allows)."""
    return [replace(k, **changes) if j == i else k for j, k in enumerate(keys)]
