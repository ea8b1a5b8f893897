"""Finding NaN and infinities in JSON-like values (request params, job results), fast
when there are none. Plain Python, no numpy: the TUI and the CLI import it too."""

from __future__ import annotations

import math
from typing import Any


def all_finite(v: Any) -> bool:
    """No float in `v` is inf or nan. A list of numbers is checked with one fsum (a finite
    sum means finite terms); only what that cannot settle is walked. A drum job's result
    (thousands of numbers) took ~1 ms with a walk that named every place."""
    try:
        if isinstance(v, float):
            return math.isfinite(v)
        if isinstance(v, dict):
            return all(all_finite(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            try:
                if math.isfinite(math.fsum(v)):
                    return True
            except (TypeError, ValueError, OverflowError):
                pass  # not all numbers, or inf/nan/overflow: look at each
            return all(all_finite(x) for x in v)
    except RecursionError:
        return False  # deep nesting: first_non_finite decides
    return True


def first_non_finite(v: Any) -> tuple[str, float] | None:
    """Where the first NaN/infinity in `v` is (a path such as `a.b[3]`, "" for `v`
    itself) and its value; None when every number is finite."""
    stack: list[tuple[Any, str]] = [(v, "")]
    while stack:
        x, where = stack.pop()
        if isinstance(x, float) and not math.isfinite(x):
            return where.lstrip("."), x
        if isinstance(x, dict):
            stack.extend((val, f"{where}.{k}") for k, val in x.items())
        elif isinstance(x, (list, tuple)):
            stack.extend((val, f"{where}[{i}]") for i, val in enumerate(x))
    return None
