"""What in magstation uses a checkpoint: shown by `models.list` and the Models screen.

Where the manifest gives the model roles (`[roles]`, read by `checkpoints.roles_of`), those
are the answer, in words; for a model in no role (imported under its own name) a table by
config and family."""

from __future__ import annotations

from engine import checkpoints
from engine.checkpoints import CheckpointInfo

ROLE_WORDS: dict[str, str] = {
    "drums.sample": "drum grid: sample",
    "drums.interpolate": "drum grid: A→B",
    "drums.humanize": "drum grid: humanize",
    "drums.tap": "drum grid: tap → drums",
    "melody.continue": "timeline: continue",
    "melody.sample": "melody sample",
    "melody.interpolate": "melody interpolate",
    "trio.sample": "trio sample",
    "trio.interpolate": "trio interpolate",
    "gansynth.render": "timeline: render",
    "nsynth.synth": "latent mix",
}
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
    """The manifest's roles for the model, in words; for a model in no role (one imported
    under a name of its own) what its config or family is used by."""
    roles = checkpoints.roles_of(info.name)
    if roles:
        return list(dict.fromkeys(ROLE_WORDS.get(r, r) for r in roles))
    return list(BY_CONFIG.get(info.config) or BY_FAMILY.get(info.family) or ())
