"""The library pane driven by keyboard with a real engine process, plus its drawing helpers."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf

from tests.test_library import BAD, GOOD, make_folder
from tests.test_tui import autosaved, wait_until
from tui.app import MagstationApp
from tui.widgets.problem_line import ProblemLine
from tui.panes.latent_mix import LatentMixPane
from tui.panes.library import OVERVIEW_BANDS, LibraryPane, parse_filter, parse_tags
from tui.widgets.prompt import AskText, complete_path
from tui.widgets.waveform import WaveformView, fit_envelope, waveform_lines

SIZE = (120, 34)


def pane(app) -> LibraryPane:
    return app.query_one(LibraryPane)


def messages(app) -> str:
    return "\n".join(str(n.message) for n in app.notices)


async def open_with_folder(pilot, folder: Path) -> LibraryPane:
    app = pilot.app
    await pilot.press("1")
    await wait_until(pilot, lambda: app.engine.state == "ready")
    await pilot.press("a", *str(folder), "enter")
    names = set(GOOD) | set(BAD)
    p = pane(app)
    await wait_until(pilot, lambda: names <= {s["name"] for s in p.sounds.values()})
    return p


async def select(pilot, p: LibraryPane, path: Path) -> None:
    """Move the cursor with the arrow keys until `path` is selected."""
    target = p.table.get_row_index(str(path))
    while p.table.cursor_row != target:
        await pilot.press("down" if p.table.cursor_row < target else "up")
    await wait_until(pilot, lambda: p.state.selected == str(path))


async def test_browse_preview_tag_filter_audition_and_send_to_mixer(kill_spawned_engines):
    folder = make_folder(kill_spawned_engines / "k")  # a short path: it is typed key by key
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        p = await open_with_folder(pilot, folder)
        rows = {s["name"]: s for s in p.sounds.values() if s["root"] == str(folder)}
        assert {n for n, s in rows.items() if s["status"] != "ok"} == set(BAD)
        assert rows["notes.wav"]["status"] == "not_audio"

        # preview: a waveform and a spectrogram of the selected sound
        view = p.query_one(WaveformView)
        await select(pilot, p, folder / "stereo.wav")
        await wait_until(pilot, lambda: view.overview is not None
                         and view.overview["path"] == str(folder / "stereo.wav"))
        drawn = str(view.render())
        assert "█" in drawn and "stereo.wav" in drawn and len(view.overview["spectrogram"]) == OVERVIEW_BANDS

        # a broken file shows why instead of a preview, and is refused by the mixer
        await select(pilot, p, folder / "data-cut.wav")
        await wait_until(pilot, lambda: view.overview is None and "truncated" in view.message)
        await pilot.press("x", "space")
        assert app.query_one(LatentMixPane).sources == []

        # tag, then filter by the tag
        await select(pilot, p, folder / "pcm24.wav")
        await pilot.press("t", *"Kick +dry", "enter")
        await wait_until(pilot, lambda: p.sounds[str(folder / "pcm24.wav")]["tags"] == ["dry", "kick"])
        await pilot.press("slash", *"#kick", "enter")
        await wait_until(pilot, lambda: p.table.row_count == 1)
        assert p.state.selected == str(folder / "pcm24.wav")
        assert "dry kick" in str(p.table.get_row_at(0))

        # audition prepares the 16 kHz buffer in the engine
        await pilot.press("space")
        await wait_until(pilot, lambda: p.last_audition is not None)
        buf, rate = sf.read(p.last_audition["buffer_path"], dtype="float32")
        assert rate == 16000 and buf.ndim == 1 and len(buf) == 4000

        # send to the mixer: once per sound, at most four
        await pilot.press("x", "x")
        await wait_until(pilot, lambda: "already in the mixer" in messages(app))
        assert app.query_one(LatentMixPane).sources == [str(folder / "pcm24.wav")]
        await pilot.press("slash", *["backspace"] * 5, "enter")
        await wait_until(pilot, lambda: p.table.row_count > 1)
        for name in ("float.wav", "lead.mp3", "pad.flac", "pcm16.wav"):
            await select(pilot, p, folder / name)
            await pilot.press("x")
        await wait_until(pilot, lambda: "mixer holds 4 sounds" in messages(app))
        assert app.query_one(LatentMixPane).sources == [str(folder / n) for n in
                                                         ("pcm24.wav", "float.wav", "lead.mp3", "pad.flac")]
        assert "mixer 4/4" in str(p.query_one("#library-info").render())
        await autosaved(pilot)
    saved = json.loads((kill_spawned_engines / "session.json").read_text())["panes"]
    assert len(saved["mix"]["sources"]) == 4 and saved["library"].get("filter", "") == ""


async def test_import_through_the_prompt_keeps_the_original(kill_spawned_engines):
    folder = make_folder(kill_spawned_engines / "s")
    original = folder / "lead.mp3"
    before = (original.read_bytes(), original.stat().st_mtime_ns)
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        p = await open_with_folder(pilot, folder)
        await pilot.press("o", *f"{folder}/lea")
        await wait_until(pilot, lambda: isinstance(app.screen, AskText)
                         and app.screen.query_one("#answer")._suggestion == str(original))
        await pilot.press("right", "enter")  # → takes the completed path
        copy = kill_spawned_engines / "library" / "lead.mp3"
        await wait_until(pilot, lambda: str(copy) in p.sounds)
        assert p.state.selected == str(copy)
        assert p.sounds[str(copy)]["status"] == "ok"
        assert copy.read_bytes() == before[0]
        # a failure stays on the pane, naming the file and what to do, until it is solved
        problems = p.query_one(ProblemLine)
        await pilot.press("o", *str(folder / "data-cut.wav"), "enter")
        await wait_until(pilot, lambda: "truncated" in problems.text_of("import"))
        assert "data-cut.wav" in problems.text_of("import") and problems.display
        assert "o opens another file" in str(problems.render())
        assert "truncated" in messages(app)  # and in the Messages log
        await pilot.press("a", *str(kill_spawned_engines / "no"), "enter")
        await wait_until(pilot, lambda: "no such folder" in problems.text_of("folder"))
        assert "truncated" in problems.text_of("import")  # still there: not solved yet
        await pilot.press("o", *str(folder / "pad.flac"), "enter")
        await wait_until(pilot, lambda: problems.text_of("import") == "")
        await pilot.press("a", *str(folder), "enter")
        await wait_until(pilot, lambda: not problems.problems and not problems.display)
    assert (original.read_bytes(), original.stat().st_mtime_ns) == before
    assert sorted(p.name for p in (kill_spawned_engines / "library").iterdir()) == ["lead.mp3", "pad.flac"]


async def test_filter_prompt_is_autosaved_and_escape_closes_it(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "slash", *"snare #dry")
        await wait_until(pilot, lambda: pane(app).state.filter == "snare #dry")
        assert isinstance(app.screen, AskText)  # the filter applies as you type
        await pilot.press("2")  # typed into the prompt, not a pane switch
        await wait_until(pilot, lambda: pane(app).state.filter == "snare #dry2")
        await pilot.press("escape")
        assert not isinstance(app.screen, AskText) and app.focused is pane(app)
        await autosaved(pilot)
    again = MagstationApp(connect_engine=False)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert pane(again).state.filter == "snare #dry2"
        await pilot.press("t")  # nothing selected: says so instead of opening the prompt
        assert "select a sound" in messages(again)


def test_filter_and_tag_parsing():
    assert parse_filter("kick  #Dry warm #x") == ("kick warm", "dry")
    assert parse_filter("#") == ("#", "")
    assert parse_tags("+kick -dry warm - +") == (["kick", "warm"], ["dry"])


def test_waveform_drawing():
    silent = waveform_lines([0.0] * 10, [0.0] * 10, 10, rows=4)
    assert silent == [" " * 10, "▄" * 10, "▀" * 10, " " * 10]  # a line through the middle
    loud = waveform_lines([-1.0] * 3, [1.0] * 3, 6, rows=2)
    assert loud == ["█" * 6, "█" * 6]
    positive = waveform_lines([0.6], [1.0], 1, rows=2)
    assert positive == ["▀", " "]
    assert fit_envelope([0, -1, 0, 0], [0, 1, 0, 0.5], 2) == [(-1, 1), (0, 0.5)]
    assert fit_envelope([-0.5, 0], [0.5, 0], 4) == [(-0.5, 0.5), (-0.5, 0.5), (0, 0), (0, 0)]


def test_path_completion(tmp_path):
    (tmp_path / "drums").mkdir()
    (tmp_path / "drone.wav").write_bytes(b"")
    (tmp_path / ".hidden").write_bytes(b"")
    assert complete_path(f"{tmp_path}/dru") == f"{tmp_path}/drums/"
    assert complete_path(f"{tmp_path}/dro") == f"{tmp_path}/drone.wav"
    assert complete_path(f"{tmp_path}/drone.wav") is None
    assert complete_path(f"{tmp_path}/x") is None and complete_path(f"{tmp_path}/.") is None
    assert complete_path(f"{tmp_path}/") == f"{tmp_path}/drone.wav"
    assert complete_path("/no/such/place/a") is None
