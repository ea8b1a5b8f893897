"""The drum grid edited by keyboard, as a person would."""

from __future__ import annotations

import json

import msgspec

from tests.tui_helpers import autosaved, wait_until
from tui.app import MagstationApp
from tui.drum_pattern import Pattern
from tui.pane_state import DrumsState
from tui.panes.drum_grid import DrumGridPane, wire
from tui.widgets.prompt import Choose

SIZE = (120, 32)


def pane(app) -> DrumGridPane:
    return app.query_one(DrumGridPane)


async def test_toggle_velocity_undo_redo(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "space", "right", "right", "space", "plus", "plus", "down", "space")
        p = pane(app).pattern
        assert p.velocities[0][0] == 80 and p.velocities[0][2] == 112 and p.velocities[1][2] == 80
        assert p.hit_count() == 3
        await pilot.press("u", "u")  # the snare hit, then the second louder step
        p = pane(app).pattern
        assert p.velocities[1][2] == 0 and p.velocities[0][2] == 96
        await pilot.press("U")
        assert pane(app).pattern.velocities[0][2] == 112
        await pilot.press("c")
        assert pane(app).pattern.hit_count() == 0
        await pilot.press("ctrl+z")
        assert pane(app).pattern.hit_count() == 2


async def test_cursor_wraps_and_parameters_stay_in_range(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "up", "left")
        assert pane(app).cursor == (8, 31)
        await pilot.press(*["right_square_bracket"] * 30)
        assert pane(app).state.temperature == 2.0
        await pilot.press(*["left_square_bracket"] * 30)
        assert pane(app).state.temperature == 0.1
        await pilot.press(*["full_stop"] * 20)
        assert pane(app).state.interp_steps == 16
        await pilot.press(*["comma"] * 20)
        assert pane(app).state.interp_steps == 2


async def test_pattern_survives_a_restart_of_the_tui(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "right", "space", "a", "L")
        await autosaved(pilot)
    saved = json.loads((mag_home / "session.json").read_text())["panes"]["drums"]
    assert saved["pattern"]["velocities"][0][1] == 80 and saved["seed_locked"]
    assert saved["slots"]["A"]["velocities"][0][1] == 80
    again = MagstationApp(connect_engine=False)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert pane(again).pattern.velocities[0][1] == 80


async def test_interpolate_without_slots_says_what_to_do(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "i")
        await pilot.pause()
        assert any("slot A" in str(n.message) for n in app.notices)


def beat(kick_every: int, qpm: float = 120.0, prov: dict | None = None) -> dict:
    """A pattern in the session's form (Pattern.to_dict): kicks every `kick_every` steps,
    the first one a little early."""
    velocities = [[(90 if c == 0 and s % kick_every == 0 else 0) for s in range(32)] for c in range(9)]
    offsets = [[(0.25 if c == 0 and s == 0 else 0.0) for s in range(32)] for c in range(9)]
    return {"velocities": velocities, "offsets": offsets, "qpm": qpm, **({"provenance": prov} if prov else {})}


INTERP = {"method": "drums.interpolate", "seed": 42, "model": "cat-drums_2bar_small.lokl",
          "temperature": 0.5, "mode": "between"}
# the drums part of a session.json as the drum grid wrote it before its state was typed (its
# on_mount defaults, then a sampled pattern, A and B kept, an interpolated chain stepped to
# its second pattern, a tap prompt answered); one history entry is older, without provenance
MAIN_SESSION_DRUMS = {
    "pattern": beat(8, 96.0, {**INTERP, "index": 1, "of": 3}),
    "temperature": 0.5, "seed": 42, "seed_locked": True, "interp_steps": 3,
    "slots": {"A": beat(4, prov={"method": "drums.sample", "seed": 7, "temperature": 1.0}),
              "B": beat(16)},
    "chain": [beat(4, prov={**INTERP, "index": 0, "of": 3}), beat(8, 96.0, {**INTERP, "index": 1, "of": 3}),
              beat(16, prov={**INTERP, "index": 2, "of": 3})],
    "chain_index": 1,
    "history": [
        {"method": "drums.sample", "seed": 7, "model": "starter-drums_2bar", "temperature": 1.0,
         "patterns": [beat(4)], "time": 1700000000.5},
        {"method": "drums.interpolate", "seed": 42, "model": "cat-drums_2bar_small.lokl",
         "temperature": 0.5, "patterns": [beat(4), beat(8), beat(16)], "time": 1700000100.0,
         "swing": 0.15, "provenance": INTERP},
    ],
    "swing": 0.15, "model": "cat-drums_2bar_small.lokl", "last_model": "starter-drums_2bar",
    "export_folder": "/tmp/my-exports", "keep_hits": False, "ends": "model",
    "chain_provenance": INTERP, "last_taps": "x...x...X.x.x...", "soundfont": "gm",
    "model_overrides": {"tap": {"checkpoint": "/somewhere/tap", "config": "groovae_2bar_tap_fixed_velocity"}},
}


async def test_a_session_saved_before_typed_state_loads_whole(mag_home):
    """A session.json from the untyped drum grid comes back whole: the pattern on screen,
    the chain and where it stands, the slots, the history, the seed and every setting, and
    the next autosave writes the same values back."""
    (mag_home / "session.json").write_text(json.dumps(
        {"version": 1, "pane": "drums", "panes": {"drums": MAIN_SESSION_DRUMS}}))
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        g = pane(app)
        assert app.session.warning == ""
        assert g.pattern == Pattern.from_dict(MAIN_SESSION_DRUMS["pattern"])
        st = g.state
        assert (st.seed, st.seed_locked, st.temperature, st.swing) == (42, True, 0.5, 0.15)
        assert [wire(p) for p in st.chain] == [Pattern.from_dict(p).to_dict() for p in MAIN_SESSION_DRUMS["chain"]]
        assert st.chain_index == 1 and st.chain_provenance == INTERP
        assert sorted(st.slots) == ["A", "B"] and st.slots["A"].provenance["seed"] == 7
        assert [e.seed for e in st.history] == [7, 42] and st.history[1].swing == 0.15
        assert (st.model, st.ends, st.keep_hits, st.soundfont) == ("cat-drums_2bar_small.lokl", "model", False, "gm")
        # what the pane shows of it
        assert "chain 2/3" in str(g.query_one("#drum-chain").render())
        assert "interpolate 2/3 · seed 42" in str(g.query_one("#drum-source").render())
        header = str(g.query_one("#drum-params").render())
        assert "seed [b]42[/]🔒" in header and "A:✓ B:✓" in header and "[b]96[/] bpm" in header
        # the chain steps on from where it was; the history recalls both kinds of entry
        await pilot.press("n")
        assert g.pattern.velocities[0] == MAIN_SESSION_DRUMS["chain"][2]["velocities"][0]
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, Choose))
        older, newer = app.screen.labels
        assert "sample · seed 7 · T 1.0 · starter-drums_2bar" in older and "swing" not in older
        assert "interpolate · seed 42" in newer and "swing 0.15" in newer and "3 pattern(s)" in newer
        await pilot.press("down", "enter")  # newest first: the older sample
        await wait_until(pilot, lambda: not isinstance(app.screen, Choose))
        assert g.pattern == Pattern.from_dict(MAIN_SESSION_DRUMS["history"][0]["patterns"][0])
        assert g.state.seed == 42  # locked: a recall leaves it
        await pilot.press("u", "u")  # back to the pattern the session had on screen
        assert g.pattern == Pattern.from_dict(MAIN_SESSION_DRUMS["pattern"])
        g._set()  # saved as it is now
        await autosaved(pilot)
    saved = json.loads((mag_home / "session.json").read_text())["panes"]["drums"]
    defaults = msgspec.to_builtins(msgspec.structs.asdict(DrumsState()))
    for key, value in MAIN_SESSION_DRUMS.items():
        if key != "chain_index":  # stepped on and back: the index follows the last step
            assert saved.get(key, defaults[key]) == json.loads(json.dumps(value)), key
