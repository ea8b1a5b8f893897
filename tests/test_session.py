"""A damaged session.json, from the user's side: what fits is kept, what does not is put
aside beside it with a message naming it, and the workstation starts either way."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import TabbedContent

from tui.app import MagstationApp
from tui.pane_state import (MAX_MIX_SOURCES, NUM_DRUM_CLASSES, NUM_ZOOMS, PANE_STATES,
                            LibraryState, validate)
from tui.session import Session

SIZE = (120, 32)
PATTERN = {"velocities": [[80 if s % 4 == 0 else 0 for s in range(32)] for _ in range(9)],
           "offsets": [[0.0] * 32 for _ in range(9)], "qpm": 96.0}
TIMELINE = {"midi": None, "tracks": [0, 2], "zoom": 2, "cursor": 1.5, "secs_per_instrument": 4.0,
            "keyframes": [{"time": 0.0, "seed": 11, "name": "start"}, {"time": 8.0, "seed": 12, "name": ""}],
            "added": [[0.0, 0.5, 60, 80, 3]], "model": "all_instruments", "primer_text": "60 64 67"}


def write_session(home: Path, panes: dict, pane: str = "drums") -> Path:
    path = home / "session.json"
    path.write_text(json.dumps({"version": 1, "pane": pane, "panes": panes}))
    return path


def damaged_files(home: Path) -> list[Path]:
    return sorted(home.glob("session.json.damaged-*"))


def one_bad_drum_field(home: Path) -> Path:
    return write_session(home, {
        "drums": {"pattern": PATTERN, "swing": 0.2, "seed": 7, "temperature": "hot"},
        "timeline": TIMELINE,
    })


def test_one_bad_field_is_put_aside_and_the_rest_kept(tmp_path):
    path = one_bad_drum_field(tmp_path)
    session = Session(path).load()

    assert session.get("timeline") == TIMELINE
    drums = session.get("drums")
    assert drums == {"pattern": PATTERN, "swing": 0.2, "seed": 7}
    assert "temperature" not in drums  # the pane falls back to its default
    [aside] = damaged_files(tmp_path)
    record = json.loads(aside.read_text())
    assert record["panes"] == {"drums": {"temperature": "hot"}}
    assert "drums.temperature" in record["why"]
    assert "drums.temperature" in session.warning and str(aside) in session.warning
    assert path.exists()  # the readable file itself stays; the next autosave rewrites it
    assert session.dirty
    session.save()
    assert Session(path).load().warning == ""  # the clean session loads clean
    assert len(damaged_files(tmp_path)) == 1


def test_wrong_shapes_of_whole_panes_and_sections(tmp_path):
    path = tmp_path / "session.json"
    path.write_text(json.dumps({"version": 1, "pane": 3, "panes": {
        "mix": [1, 2], "library": {"filter": "kick", "selected": 5}, "someday": {"x": 1}}}))
    session = Session(path).load()
    assert session.pane == "drums"
    assert session.typed("library", LibraryState) == LibraryState(filter="kick", selected=None)
    assert session.get("someday") == {"x": 1}  # a pane this version does not know is kept
    assert session.get("mix") == {}
    record = json.loads(damaged_files(tmp_path)[0].read_text())
    assert record["panes"] == {"mix": {"*": [1, 2]}, "library": {"selected": 5}}
    assert record["pane"] == 3
    for name in ("pane", "mix", "library.selected"):
        assert name in session.warning

    path.write_text(json.dumps({"version": 1, "panes": "nope"}))
    session = Session(path).load()
    assert session.panes == {} and "panes" in session.warning


def test_values_come_back_with_their_declared_types(tmp_path):
    path = write_session(tmp_path, {"drums": {"temperature": 1, "swing": 0, "pattern": {
        **PATTERN, "qpm": 120, "note": "kept"}}})
    drums = Session(path).load().get("drums")
    assert isinstance(drums["temperature"], float) and isinstance(drums["swing"], float)
    assert isinstance(drums["pattern"]["qpm"], float)
    assert drums["pattern"]["note"] == "kept"  # keys this version does not declare stay
    assert not damaged_files(tmp_path)


@pytest.mark.parametrize("pattern", [
    {"velocities": PATTERN["velocities"][:8]},  # a drum class short
    {"velocities": [*PATTERN["velocities"][:8], [0] * 3]},  # ragged rows
    {"velocities": [[] for _ in range(9)]},  # no steps
    {**PATTERN, "offsets": [[0.0]]},  # offsets of another shape
    {**PATTERN, "qpm": 0},  # no tempo
    {**PATTERN, "velocities": [["loud"] * 32] * 9},
])
def test_a_pattern_the_grid_cannot_show_is_put_aside(tmp_path, pattern):
    path = write_session(tmp_path, {"drums": {"pattern": pattern, "slots": {"A": pattern},
                                              "chain": [PATTERN, pattern], "seed": 3}})
    session = Session(path).load()
    assert session.get("drums") == {"seed": 3}
    for name in ("drums.pattern", "drums.slots", "drums.chain"):
        assert name in session.warning


def test_an_unreadable_file_is_still_put_aside_whole(tmp_path):
    path = tmp_path / "session.json"
    path.write_bytes(b"\xff\xfe not utf-8")
    session = Session(path).load()
    assert "could not be read" in session.warning and not path.exists()
    assert len(damaged_files(tmp_path)) == 1


def test_the_declarations_match_the_panes():
    from tui.drum_pattern import NUM_CLASSES
    from tui.panes.latent_mix import MAX_SOURCES
    from tui.panes.timeline import ZOOMS
    assert (NUM_DRUM_CLASSES, MAX_MIX_SOURCES, NUM_ZOOMS) == (NUM_CLASSES, MAX_SOURCES, len(ZOOMS))


# -- the workstation on a damaged session -------------------------------------------------
async def test_the_app_starts_on_a_damaged_session_and_keeps_the_rest(mag_home):
    one_bad_drum_field(mag_home)
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "drums.temperature" in app.session.warning
        assert any("drums.temperature" in str(n.message) for n in app.notices)
        await pilot.press("4")
        await pilot.pause()
        drums = app.query_one("#pane-drums")
        assert drums.pattern.qpm == 96.0 and drums.pattern.velocities[0][0] == 80
        assert app.session.get("drums")["temperature"] == 1.0  # the default
        await pilot.press("right_square_bracket")  # temperature up works on the default
        assert app.session.get("drums")["temperature"] == 1.1
        await pilot.press("3")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "timeline"
        assert app.session.get("timeline")["keyframes"] == TIMELINE["keyframes"]
    saved = json.loads((mag_home / "session.json").read_text())
    assert saved["panes"]["drums"]["temperature"] == 1.1
    assert saved["panes"]["timeline"]["cursor"] == 1.5


def wrong_value(kind: type, field: str):
    """A value of the wrong type for a declared field."""
    for candidate in ("x", 5, [1, 2], {"a": None}, True, -1):
        try:
            msgspec.convert({field: candidate}, kind)
        except msgspec.ValidationError:
            return candidate
    raise AssertionError(f"{kind.__name__}.{field} takes anything")


async def test_every_pane_starts_with_every_field_damaged(mag_home):
    panes = {pane: {f: wrong_value(kind, f) for f in kind.__struct_fields__}
             for pane, kind in PANE_STATES.items()}
    write_session(mag_home, panes)
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        for key in "12343":
            await pilot.press(key)
            await pilot.pause()
        for pane, kind in PANE_STATES.items():
            for field in kind.__struct_fields__:
                assert f"{pane}.{field}" in app.session.warning
        # what the panes made of their defaults is valid state
        for pane in PANE_STATES:
            validate(pane, app.session.as_json(pane))
    record = json.loads(damaged_files(mag_home)[0].read_text())
    assert record["panes"] == panes


async def test_what_the_panes_save_loads_back_clean(mag_home):
    write_session(mag_home, {"mix": {"sources": [str(mag_home / "a.wav"), str(mag_home / "b.wav")]}})
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "space", "right", "space", "a", "right_square_bracket", "apostrophe",
                          "right_curly_bracket", "2", "down", "right", "x", "right", "3", "plus", "1")
        await pilot.pause()
    again = Session(mag_home / "session.json").load()
    assert again.warning == ""
    for pane in PANE_STATES:
        validate(pane, again.get(pane))


# -- any JSON at all ---------------------------------------------------------------------
def _containers(inner):
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    _containers, max_leaves=20)


def pane_like(pane: str):
    """Objects keyed by the pane's own field names (so fields are hit, not just missed)."""
    names = st.sampled_from(sorted(PANE_STATES[pane].__struct_fields__)) | st.text(max_size=8)
    return st.dictionaries(names, JSON, max_size=8)


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pane=st.sampled_from(sorted(PANE_STATES)))
def test_any_json_in_place_of_a_pane_state_loads(data, pane):
    state = data.draw(JSON | pane_like(pane))
    with tempfile.TemporaryDirectory() as d:
        other, good = ("timeline", TIMELINE) if pane == "library" else ("library", {"filter": "kept"})
        path = write_session(Path(d), {pane: state, other: good})
        session = Session(path).load()  # never raises
        validate(pane, session.get(pane))  # what is kept fits the declaration
        assert session.get(other) == good
        if session.warning:
            [aside] = damaged_files(Path(d))
            assert json.loads(aside.read_text())["panes"][pane]
        else:
            assert session.get(pane) == state


def test_typed_state_is_the_object_saved_with_unknown_keys_kept(tmp_path):
    """A typed pane's Struct is what the session saves; keys it does not declare (a newer
    magstation's) survive the round trip, and defaults come back as defaults."""
    path = tmp_path / "session.json"
    path.write_text(json.dumps({"version": 1, "pane": "library", "panes": {
        "library": {"filter": "#dry", "from_the_future": [1, 2]}}}))
    session = Session(path).load()
    state = session.typed("library", LibraryState)
    assert state.filter == "#dry" and state.selected is None
    assert session.typed("library", LibraryState) is state  # one object, not copies
    session.put("library", msgspec.structs.replace(state, selected="/a/kick.wav"))
    assert session.dirty
    session.save()
    saved = json.loads(path.read_text())["panes"]["library"]
    assert saved == {"filter": "#dry", "selected": "/a/kick.wav", "from_the_future": [1, 2]}
    again = Session(path).load().typed("library", LibraryState)
    assert (again.filter, again.selected) == ("#dry", "/a/kick.wav")
