"""The shape of each pane's autosaved state, declared with msgspec Structs.

The session file is checked against these on load (tui/session.py): a field whose value
does not fit its declared type is put aside and the pane falls back to its default, so a
damaged or hand-edited session.json never crashes a pane. Each pane keeps its state as
the Struct itself (`Pane.state`, `Session.typed`), every field with the default a new
session starts with; UNSET is only for optional parts of nested records (a pattern
without provenance). Keys not declared here are kept as they are: a newer magstation may
have written them. Constraints go as far as the panes rely on them (a drum pattern has 9
rows of one length, the timeline's zoom indexes ZOOMS, ...). No heavy imports: the TUI must stay light.
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
    """A pane's whole state: every field has its default (what a new session starts
    with); the pane reads `self.state.field` (tui/panes/base.py)."""


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


def empty_drum_pattern() -> DrumPattern:
    """A new session's pattern: two silent bars at 120 bpm (tui.drum_pattern.Pattern.empty)."""
    steps = 2 * 16
    return DrumPattern(velocities=[[0] * steps for _ in range(NUM_DRUM_CLASSES)],
                       offsets=[[0.0] * steps for _ in range(NUM_DRUM_CLASSES)], qpm=120.0)


class DrumsState(PaneState):
    pattern: DrumPattern = msgspec.field(default_factory=empty_drum_pattern)  # the one on screen
    temperature: float = 1.0
    seed: int = 1
    seed_locked: bool = False
    interp_steps: int = 6  # A→B: patterns in the chain, A and B included
    slots: dict[str, DrumPattern] = {}  # "A", "B": kept patterns
    chain: list[DrumPattern] = []  # the last interpolation, humanized chain or opened file
    chain_index: Annotated[int, Meta(ge=0)] = 0
    history: list[DrumHistoryEntry] = []  # the newest 100 generations
    swing: float = 0.0
    model: Union[str, None] = None  # None: the best installed (sampling, interpolation)
    last_model: Union[str, None] = None  # the model "auto" ran last
    export_folder: str = ""  # "": ./exports of where magstation was started
    soundfont: Union[str, None] = None  # None: the shipped kit; "gm": the General MIDI kit
    model_overrides: Overrides = {}
    keep_hits: bool = True  # humanize and tap keep the hits (only velocity and timing change)
    ends: Literal["yours", "model"] = "yours"
    chain_provenance: Union[dict[str, Any], None] = None  # where the whole chain came from
    last_taps: str = ""  # the rhythm typed last (the tap prompt comes back with it)


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
# Kept in step with tui/panes/timeline.py and tui/generate_source.py (tests/test_session.py).
TIMELINE_MODELS = ("acoustic_only", "all_instruments")
DEFAULT_ZOOM = 3
DEFAULT_SECS_PER_INSTRUMENT = 6.0  # Magenta's gansynth_generate.py default
DEFAULT_PRIMER = "60 62 64 65 67"
DEFAULT_GENERATE_TEXT = "melody t=1"


class Keyframe(_Record):
    """An instrument (GANSynth's random one for `seed`) from `time` on."""
    time: NonNegative
    seed: int
    name: str = ""


Note = tuple[Num, Num, Num, Num, Annotated[int, Meta(ge=0)]]  # start, end, pitch, velocity, track


class TimelineRender(_Record):
    """The last render's result (gansynth.render or soundfont.render) and what it played."""
    path: Union[str, None] = None
    midi_path: Union[str, None] = None
    duration: Union[Num, None] = None
    notes: Union[int, None] = None
    notes_rendered: Union[int, None] = None
    notes_cached: Union[int, None] = None
    warnings: Union[list[str], None] = None
    tracks: Union[list[int], None] = None
    renderer: Literal["gansynth", "soundfont"] = "gansynth"
    soundfont: Union[str, None] = None
    keyframes: Union[list[Keyframe], None] = None  # the instruments it was rendered with


class TimelineSource(_Record):
    """What `G` generated: the file, the model that made it, its seed and what was asked."""
    path: str
    model: str
    seed: int
    what: str


class TimelineState(PaneState):
    midi: Union[str, None] = None  # the MIDI file (absolute path)
    tracks: list[int] = []  # the track numbers rendered
    keyframes: list[Keyframe] = []  # sorted by time
    secs_per_instrument: Positive = DEFAULT_SECS_PER_INSTRUMENT
    zoom: Annotated[int, Meta(ge=0, lt=NUM_ZOOMS)] = DEFAULT_ZOOM
    cursor: NonNegative = 0.0
    model: str = TIMELINE_MODELS[0]
    renderer: Literal["gansynth", "soundfont"] = "gansynth"
    soundfont: Union[str, None] = None  # an .sf2 for the renderer; None: General MIDI
    checkpoint: Union[str, None] = None  # a GANSynth checkpoint folder: wins over `model`
    export_dir: str = ""  # "": the exports folder in magstation's home
    render: Union[TimelineRender, None] = None
    added: list[Note] = []  # accepted continuation notes, laid over the file
    continue_bars: Annotated[int, Meta(ge=1)] = 2
    continue_temperature: Positive = 1.0
    continue_model: Union[str, None] = None  # None: auto (installed, else starter)
    continue_checkpoint: Union[str, None] = None  # a .mag bundle: wins over continue_model
    primer_text: str = DEFAULT_PRIMER
    generate_text: str = DEFAULT_GENERATE_TEXT
    source: Union[TimelineSource, None] = None
    model_overrides: Overrides = {}  # {"melody"|"trio": {"checkpoint", "config"}} for `G`


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
