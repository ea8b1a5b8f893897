"""A pane's model chooser: auto (None: the first installed model the job's role lists),
then each model of the role, best first, as the manifest's `[roles]` (and the starter
models' `fallback_for`) say: one list, in checkpoints/manifest, for the engine's choice and
the pane's. Reads the manifest (no TensorFlow); each press re-reads it only if it changed."""

from __future__ import annotations


def choices(role: str) -> list[str | None]:
    from engine.checkpoints import role_models
    return [None, *role_models(role)]


def next_choice(role: str, current: str | None) -> str | None:
    """The model after `current` (auto after the last; auto for one the role lacks)."""
    names = choices(role)
    if current not in names:
        return None
    return names[(names.index(current) + 1) % len(names)]
