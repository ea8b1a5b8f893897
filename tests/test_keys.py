"""Keys as a person meets them: the keymap file, help, the palette, the footer, the
drum playhead moved by transport events."""

from __future__ import annotations

import json
import time

from textual.command import CommandList, CommandPalette
from textual.widgets import Footer

from tests.tui_helpers import wait_until
from tui.app import MagstationApp
from tui.drum_pattern import Pattern
from tui.keys import key_as_written, keys_as_written, load_keymap, normal_key
from tui.messages import EngineStateChanged, TransportChanged
from tui.panes import PANES
from tui.panes.drum_grid import AUDITION_LABEL, DrumGridPane
from tui.widgets.help_screen import HelpScreen
from tui.widgets.prompt import AskText

SIZE = (120, 32)


def drums(app) -> DrumGridPane:
    return app.query_one(DrumGridPane)


def test_keys_are_written_as_people_write_them():
    assert [key_as_written(k) for k in ("left_square_bracket", "right_square_bracket", "full_stop",
                                        "comma", "left_curly_bracket", "semicolon", "ctrl+z")] == \
        ["[", "]", ".", ",", "{", ";", "ctrl+z"]
    assert keys_as_written("ctrl+z,u") == "ctrl+z, u"
    assert normal_key("[") == "left_square_bracket" and normal_key("F5") == "f5"
    assert normal_key("ctrl+") is None and normal_key("no_such_key") is None
    assert normal_key("ctrl++") == "ctrl+plus"


def test_every_binding_has_a_unique_id():
    ids = [b.id for p in PANES for b in p.BINDINGS]
    assert all(ids) and len(ids) == len(set(ids))
    assert all(i.startswith(f"{p.PANE_ID}.") for p in PANES for i in (b.id for b in p.BINDINGS))


def test_reserved_global_keys_are_free_in_every_pane():
    reserved = {"M", "J", "q", "question_mark", "f1", "ctrl+r", "ctrl+p", *(p.KEY for p in PANES)}
    for pane in PANES:
        for b in pane.BINDINGS:
            assert not reserved & {k.strip() for k in b.key.split(",")}, (pane.PANE_ID, b.key)


def test_keymap_file_problems_name_the_id_and_the_key(mag_home):
    path = mag_home / "keymap.toml"
    path.write_text('"app.help" = ["f2", "F3"]\n'
                    '[drums]\nclear = "z"\nnope = "x"\ntoggle = "ctrl+"\nsample = 3\n')
    km = load_keymap({"drums.clear", "drums.toggle", "drums.sample", "app.help"}, path)
    assert km.keys == {"drums.clear": "z", "app.help": "f2,f3"}
    text = "\n".join(km.problems)
    assert len(km.problems) == 3
    assert "`drums.nope` is not a binding id" in text
    assert "`drums.toggle` = 'ctrl+' is not a key" in text
    assert "`drums.sample` = 3" in text
    path.write_text("[drums\n")
    assert "cannot be read" in load_keymap(set(), path).problems[0]


async def test_the_keymap_file_rebinds_a_key_and_bad_entries_are_said(mag_home):
    (mag_home / "keymap.toml").write_text('[drums]\nclear = "z"\nnope = "x"\n')
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "space")
        assert drums(app).pattern.hit_count() == 1
        await pilot.press("c")  # no longer clear
        assert drums(app).pattern.hit_count() == 1
        await pilot.press("z")
        assert drums(app).pattern.hit_count() == 0
        assert any("drums.nope" in str(n.message) for n in app.notices)
        # help shows the key the user chose
        await pilot.press("question_mark")
        await pilot.press(*"clear the")
        assert "z" in app.screen.visible_text().split("Clear the pattern")[0]


async def test_help_opens_at_the_current_pane_and_filters(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        for pane in PANES:
            await pilot.press(pane.KEY, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            first = app.screen.query(".help-section").first()
            assert f"{pane.TITLE} pane (you are here)" in str(first.render())
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
        await pilot.press("4", "question_mark", *"temperature")
        text = app.screen.visible_text()
        assert "Temperature down" in text and "Continuation temperature up" in text
        assert "Cursor up" not in text and "Library pane" not in text
        # keys as people write them
        assert " [ " in text and " ] " in text and "square_bracket" not in text
        await pilot.press(*["backspace"] * 11, "full_stop")
        assert "More interpolation steps" in app.screen.visible_text()
        await pilot.press("escape")


async def test_the_palette_finds_export_in_every_pane_that_exports(mag_home):
    exporting = [p.TITLE for p in PANES if any(b.action.startswith("export") for b in p.BINDINGS)]
    assert len(exporting) >= 2
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "ctrl+p", *"export")

        def prompts() -> list[str]:
            if not isinstance(app.screen, CommandPalette):
                return []
            commands = app.screen.query_one(CommandList)
            return [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]

        await wait_until(pilot, lambda: all(any(f"{t}: Export" in p for p in prompts())
                                            for t in exporting))
        # running one shows its pane and does what its key does
        await pilot.press(*["backspace"] * 6, *"drums export pattern")
        await wait_until(pilot, lambda: prompts() and "Drums: Export pattern" in prompts()[0])
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AskText))
        assert app.current_pane.PANE_ID == "drums"
        await pilot.press("escape")


async def test_the_footer_fits_at_80_and_200_columns(mag_home):
    for width in (80, 200):
        app = MagstationApp(connect_engine=False)
        async with app.run_test(size=(width, 24)) as pilot:
            for pane in PANES:
                await pilot.press(pane.KEY)
                footer = app.query_one(Footer)
                shown = [b for b in pane.BINDINGS if b.show]
                assert 3 <= len(shown) <= 5
                keys = [w for w in footer.query("FooterKey")]
                assert keys and all(k.region.right <= width for k in keys)
                assert sum(k.region.width for k in keys) <= width


async def test_the_drum_playhead_follows_transport_events(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        g = drums(app)
        at = time.time()
        status = {"playing": True, "position_s": 1.0, "duration_s": 4.0, "loop": True,
                  "label": AUDITION_LABEL, "at": at}
        app.post_message(TransportChanged(status))
        await wait_until(pilot, lambda: g.playing and g.playhead is not None)
        step_s = 60.0 / g.pattern.qpm / 4
        assert g.playhead_step(at) == int(1.0 / step_s)
        assert g.playhead_step(at + 0.5) == int(1.5 / step_s) % g.pattern.steps
        assert g.playhead_step(at + 3.5) == int(0.5 / step_s)  # it loops
        assert "▶ looping" in str(app.query_one("#drum-cell").render())
        assert "▼" in str(app.query_one("#drum-grid").render())
        # another sound took the player: the grid stops showing a loop
        app.post_message(TransportChanged({**status, "label": "timeline"}))
        await wait_until(pilot, lambda: not g.playing and g.playhead is None)
        # an engine restart clears the loop
        app.post_message(TransportChanged(status))
        await wait_until(pilot, lambda: g.playing)
        app.post_message(EngineStateChanged("down", "the engine stopped; restarting it"))
        await wait_until(pilot, lambda: not g.playing and g.playhead is None)
        assert "looping" not in str(app.query_one("#drum-cell").render())


def test_docs_keys_md_lists_every_binding_as_the_code_has_it():
    from tui.keys import DOC_PATH, doc_with_table

    current = DOC_PATH.read_text(encoding="utf-8")
    assert current == doc_with_table(current), "run: python -m tui.keys --write"
    for pane in PANES:
        for b in pane.BINDINGS:
            assert f"`{b.id}`" in current


async def test_a_keymap_key_another_binding_had_is_taken_and_said(mag_home):
    (mag_home / "keymap.toml").write_text('[drums]\nclear = "space"\n')
    pattern = Pattern.empty()
    pattern.velocities[0][0] = 100
    (mag_home / "session.json").write_text(json.dumps(
        {"version": 1, "pane": "drums", "panes": {"drums": {"pattern": pattern.to_dict()}}}))
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        assert drums(app).pattern.hit_count() == 1
        await pilot.press("space")  # now clears, no longer toggles
        assert drums(app).pattern.hit_count() == 0
        assert any("`drums.clear` = space takes it from `drums.toggle`" in str(n.message)
                   for n in app.notices)


def test_an_app_key_a_pane_uses_is_said():
    from tui.keys import keymap_clashes
    drums_bindings = next(p for p in PANES if p.PANE_ID == "drums").BINDINGS
    app_bindings = [b for b in MagstationApp.BINDINGS if b.id == "app.help"]
    notes = keymap_clashes({"app.help": "s"}, {"Drums": list(drums_bindings)}, app_bindings)
    assert notes == ["keymap: `app.help` = s does not work in the Drums pane, where "
                     "`drums.sample` has it"]
