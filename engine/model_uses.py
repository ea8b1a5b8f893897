"""What in magstation uses a checkpoint: shown by `models.list` and the Models screen.

Keyed by config (then family). When the manifest declares roles for a checkpoint, those
are shown instead (see `uses`)."""

from __future__ import annotations

from engine.checkpoints import CheckpointInfo

BY_CONFIG: dict[str, tuple[str, ...]] = {
    "cat-drums_2bar_small": ("drum grid: sample, A→B",),
    "nade-drums_2bar_full": ("drum grid: sample, A→B",),
    "groovae_2bar_humanize": ("drum grid: humanize",),
    "groovae_2bar_tap_fixed_velocity": ("drum grid: tap → drums",),
    "cat-mel_2bar_big": ("melody sample / interpolate (CLI)",),
    "hierdec-trio_16bar": ("trios (engine)",),
    "performance_with_dynamics": ("timeline: continue",),
}
BY_FAMILY: dict[str, tuple[str, ...]] = {
    "gansynth": ("timeline: render",),
    "nsynth": ("latent mix",),
    "melody_rnn": ("timeline: continue", "melody continue (CLI)"),
}


def uses(info: CheckpointInfo) -> list[str]:
    roles = getattr(info, "roles", None)  # the manifest's own roles, where it has them
    if roles:
        return [str(r) for r in roles]
    return list(BY_CONFIG.get(info.config) or BY_FAMILY.get(info.family) or ())
