"""Numbers the user types into a prompt, checked against their range; the ValueError
says what is allowed (the pane shows it)."""

from __future__ import annotations


def number_in_range(text: str, lo: float, hi: float, what: str, hint: str = "") -> float:
    """`text` as a number from lo to hi (NaN and infinities are outside every range)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        raise ValueError(f"{what} must be a number from {lo:g} to {hi:g}" + (f" ({hint})" if hint else ""))
    return value
