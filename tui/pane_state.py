"""The shape of each pane's autosaved state, declared with msgspec Structs.

The session file is checked against these on load (tui/session.py): a field whose value
does not fit its declared type is put aside and the pane falls back to its default, so a
damaged or hand-edited session.json never crashes a pane. A pane moved to typed state
keeps its state as the Struct itself (`Pane.state`, `Session.typed`).

Every field is optional (the panes fill in defaults on mount). Keys not declared here are
kept as they are: a newer magstation may have written them. Constraints go as far as
the panes rely on them (a drum pattern has 9 rows of one length, the timeline's zoom
indexes ZOOMS, ...). No heavy imports: the TUI must stay light.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

# Kept in step with the panes (importing them here would pull in Textual and the engine's
# music code; tests/test_session.py checks that these agree).
NUM_DRUM_CLASSES = 9
MAX_MIX_SOURCES = 4
NUM_ZOOMS = 7  # len(tui.panes.timeline.ZOOMS)

Num = Union[int, float]  # a JSON number, kept as written (ints stay ints)
Positive = Annotated[float, Meta(gt=0)]
NonNegative = Annotated[float, Meta(ge=0)]
Velocity = int  # Pattern.from_dict clamps to 0..127
XY = Annotated[list[Annotated[float, Meta(ge=0, le=1)]], Meta(min_length=2, max_length=2)]
Overrides = dict[str, dict[str, Any]]  # model_overrides: {kind: {"checkpoint": ..., ...}}


class _Record(Struct, kw_only=True, omit_defaults=True):
    """Base of every declaration: unknown keys are ignored (and kept by the session)."""


class PaneState(_Record):
    """A pane's whole state. A pane moved to typed state gives every field its default
    (what a new session starts with) and reads `self.state.field`; UNSET fields belong to
    panes that still fill their defaults in on mount."""


# -- drums ------------------------------------------------------------------------------
class DrumPattern(_Record):
    """tui.drum_pattern.Pattern's dict form: velocities and offsets per class and step."""
    velocities: Annotated[list[list[Velocity]], Meta(min_length=NUM_DRUM_CLASSES,
                                                     max_length=NUM_DRUM_CLASSES)]
    offsets: Union[list[list[float]], None, UnsetType] = UNSET
    qpm: Union[Positive, UnsetType] = UNSET
    provenance: Union[dict[str, Any], None, UnsetType] = UNSET

    def __post_init__(self) -> None:
        steps = {len(row) for row in self.velocities}
        if len(steps) != 1 or 0 in steps:
            raise ValueError(f"a pattern needs {NUM_DRUM_CLASSES} rows of one length, not empty")
        if self.offsets and [len(r) for r in self.offsets] != [len(r) for r in self.velocities]:
            raise ValueError("the offsets must have the velocities' shape")


class DrumHistoryEntry(_Record):
    method: str
    patterns: Annotated[list[DrumPattern], Meta(min_length=1)]
    seed: Union[int, None, UnsetType] = UNSET
    model: Union[str, None, UnsetType] = UNSET
    temperature: Union[Num, None, UnsetType] = UNSET
    time: Union[Num, UnsetType] = UNSET
    swing: Union[float, UnsetType] = UNSET
    provenance: Union[dict[str, Any], None, UnsetType] = UNSET


class DrumsState(PaneState):
    pattern: Union[DrumPattern, UnsetType] = UNSET
    temperature: Union[float, UnsetType] = UNSET
    seed: Union[int, UnsetType] = UNSET
    seed_locked: Union[bool, UnsetType] = UNSET
    interp_steps: Union[int, UnsetType] = UNSET
    slots: Union[dict[str, DrumPattern], UnsetType] = UNSET
    chain: Union[list[DrumPattern], UnsetType] = UNSET
    chain_index: Union[Annotated[int, Meta(ge=0)], UnsetType] = UNSET
    history: Union[list[DrumHistoryEntry], UnsetType] = UNSET
    swing: Union[float, UnsetType] = UNSET
    model: Union[str, None, UnsetType] = UNSET
    last_model: Union[str, None, UnsetType] = UNSET
    export_folder: Union[str, UnsetType] = UNSET
    soundfont: Union[str, None, UnsetType] = UNSET
    model_overrides: Union[Overrides, UnsetType] = UNSET
    keep_hits: Union[bool, UnsetType] = UNSET
    ends: Union[Literal["yours", "model"], UnsetType] = UNSET
    chain_provenance: Union[dict[str, Any], None, UnsetType] = UNSET
    last_taps: Union[str, UnsetType] = UNSET


# -- mix --------------------------------------------------------------------------------
class MixRecipe(_Record):
    """What a render is made of: the sources and their blend (slider weights, or the XY
    pad's point with four sources), the stretch, the seed (None: the engine draws one)."""
    sources: Annotated[list[str], Meta(min_length=1, max_length=MAX_MIX_SOURCES)]
    weights: Union[Annotated[list[float], Meta(max_length=MAX_MIX_SOURCES)], None] = None
    xy: Union[XY, None] = None
    stretch: Positive = 1.0
    seed: Union[int, None] = None
    model: Union[str, None] = None
    checkpoint: Union[str, None] = None


class MixRender(_Record):
    """One render in the queue: "queued", "running", then "done", "partial" (cancelled
    part way: the audio so far), "cancelled", "failed" or "interrupted" (the TUI stopped)."""
    id: int
    recipe: MixRecipe
    status: str = "queued"
    done: Union[Num, None] = 0  # samples made (the engine's progress)
    total: Union[Num, None] = 0
    eta_s: Union[Num, None] = None
    elapsed_s: Union[Num, None] = None
    seconds: Union[Num, None] = None
    samples: Union[int, None] = None
    queued_at: Num = 0.0
    wav_path: Union[str, None] = None
    kept: Union[str, None] = None  # where `k` kept it in the library
    error: Union[str, None] = None


class MixPlot(_Record):
    plot: list[list[float]]
    frames: Annotated[int, Meta(gt=0)]
    seconds: NonNegative


class MixState(PaneState):
    sources: list[str] = msgspec.field(default_factory=list)  # at most MAX_MIX_SOURCES used
    weights: list[float] = msgspec.field(default_factory=list)  # one slider per source
    selected: Annotated[int, Meta(ge=0)] = 0
    mode: Literal["sliders", "xy"] = "sliders"
    xy: XY = msgspec.field(default_factory=lambda: [0.5, 0.5])
    stretch: Positive = 1.0
    seed: int = 1
    seed_locked: bool = False
    renders: list[MixRender] = msgspec.field(default_factory=list)
    result_index: Annotated[int, Meta(ge=0)] = 0
    plots: dict[str, MixPlot] = msgspec.field(default_factory=dict)  # by source path
    next_id: int = 1
    model_overrides: Overrides = msgspec.field(default_factory=dict)


# -- library ----------------------------------------------------------------------------
class LibraryState(PaneState):
    filter: str = ""  # what the user typed: words and #tags
    selected: Union[str, None] = None  # the selected sound's path


# -- timeline ---------------------------------------------------------------------------
class Keyframe(_Record):
    time: NonNegative
    seed: int
    name: Union[str, UnsetType] = UNSET


Note = tuple[Num, Num, Num, Num, Annotated[int, Meta(ge=0)]]  # start, end, pitch, velocity, track


class TimelineRender(_Record):
    path: Union[str, None, UnsetType] = UNSET
    midi_path: Union[str, None, UnsetType] = UNSET
    duration: Union[Num, None, UnsetType] = UNSET
    warnings: Union[list[str], None, UnsetType] = UNSET
    renderer: Union[Literal["gansynth", "soundfont"], UnsetType] = UNSET
    soundfont: Union[str, None, UnsetType] = UNSET


class TimelineSource(_Record):
    """What `G` generated: the file, the model that made it, its seed and what was asked."""
    path: str
    model: str
    seed: int
    what: str


class TimelineState(PaneState):
    midi: Union[str, None, UnsetType] = UNSET
    tracks: Union[list[int], UnsetType] = UNSET
    keyframes: Union[list[Keyframe], UnsetType] = UNSET
    secs_per_instrument: Union[Positive, UnsetType] = UNSET
    zoom: Union[Annotated[int, Meta(ge=0, lt=NUM_ZOOMS)], UnsetType] = UNSET
    cursor: Union[NonNegative, UnsetType] = UNSET
    model: Union[str, UnsetType] = UNSET
    renderer: Union[Literal["gansynth", "soundfont"], UnsetType] = UNSET
    soundfont: Union[str, None, UnsetType] = UNSET  # an .sf2 for the renderer; None: General MIDI
    checkpoint: Union[str, None, UnsetType] = UNSET
    export_dir: Union[str, UnsetType] = UNSET
    render: Union[TimelineRender, None, UnsetType] = UNSET
    added: Union[list[Note], UnsetType] = UNSET
    continue_bars: Union[Annotated[int, Meta(ge=1)], UnsetType] = UNSET
    continue_temperature: Union[Positive, UnsetType] = UNSET
    continue_model: Union[str, None, UnsetType] = UNSET  # None: auto (installed, else starter)
    continue_checkpoint: Union[str, None, UnsetType] = UNSET
    primer_text: Union[str, UnsetType] = UNSET
    generate_text: Union[str, UnsetType] = UNSET
    source: Union[TimelineSource, None, UnsetType] = UNSET
    model_overrides: Union[Overrides, UnsetType] = UNSET


PANE_STATES: dict[str, type[PaneState]] = {
    "drums": DrumsState,
    "mix": MixState,
    "library": LibraryState,
    "timeline": TimelineState,
}


# -- checking -----------------------------------------------------------------------------
def _keep_unknown(original: Any, checked: Any) -> Any:
    """`checked` (msgspec's builtins, types made right) with the keys msgspec ignored put
    back from `original`, at every depth (tuples become JSON's lists)."""
    if isinstance(checked, tuple):
        checked = list(checked)
    if isinstance(original, dict) and isinstance(checked, dict):
        return {**original, **{k: _keep_unknown(original.get(k), v) for k, v in checked.items()}}
    if isinstance(original, list) and isinstance(checked, list) and len(original) == len(checked):
        return [_keep_unknown(o, c) for o, c in zip(original, checked)]
    return checked


def check_field(kind: type[_Record], name: str, value: Any) -> Any:
    """The value of field `name` of `kind`, checked (ints where floats are declared become
    floats); raises msgspec.ValidationError when it does not fit."""
    checked = msgspec.convert({name: value}, kind)
    built = msgspec.to_builtins(checked)
    return _keep_unknown(value, built.get(name, value))


def split_pane_state(pane: str, state: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(kept, put aside, why) for one pane's saved state: every declared field is checked
    on its own; a state that is not even an object is put aside whole (as "*")."""
    if not isinstance(state, dict):
        return {}, {"*": state}, {"*": f"expected an object, got {type(state).__name__}"}
    kind = PANE_STATES.get(pane)
    if kind is None:  # a pane this version does not know: keep it untouched
        return dict(state), {}, {}
    kept: dict[str, Any] = {}
    aside: dict[str, Any] = {}
    why: dict[str, str] = {}
    declared = set(kind.__struct_fields__)
    for key, value in state.items():
        if key not in declared:
            kept[key] = value
            continue
        try:
            kept[key] = check_field(kind, key, value)
        except msgspec.ValidationError as e:
            aside[key] = value
            why[key] = str(e)
    return kept, aside, why


def validate(pane: str, state: dict[str, Any]) -> Any:
    """The typed form of a pane's state (raises msgspec.ValidationError if it is damaged)."""
    return msgspec.convert(state, PANE_STATES[pane])
