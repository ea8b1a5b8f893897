"""The arrangement timeline driven by keyboard with a real engine and the GANSynth fixture
checkpoint (the pane reads `checkpoint` from its session state; a folder set there wins
over the model name)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

import msgspec
from textual.widgets import Input

from tui.app import MagstationApp
from tests.conftest import assert_tui_stays_light
from tests.test_tui import autosaved, eventually, wait_until
from tui.pane_state import TimelineRender, TimelineState
from tui.panes.timeline import TimelinePane
from tui.widgets.job_progress import JobProgress
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Confirm

ROOT = Path(__file__).resolve().parent.parent
CKPT = ROOT / "tests" / "fixtures" / "gansynth" / "tiny_ckpt"
SIZE = (120, 40)




def small_midi(path: Path) -> Path:
    """Track 0 (piano): C4 E4 G4 C5 every half second; track 1 (strings): two notes at
    2 and 2.5 s. Everything ends by 2.75 s."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0, name="piano")
    piano.notes += [pretty_midi.Note(100, p, 0.5 * i, 0.5 * i + 0.25)
                    for i, p in enumerate([60, 64, 67, 72])]
    strings = pretty_midi.Instrument(program=48, name="strings")
    strings.notes += [pretty_midi.Note(90, 55, 2.0, 2.25), pretty_midi.Note(90, 59, 2.5, 2.75)]
    pm.instruments += [piano, strings]
    pm.write(str(path))
    return path


def configure(app: MagstationApp, **changes) -> None:
    """Set timeline state fields before the app runs (as a saved session would)."""
    state = app.session.typed("timeline", TimelineState)
    app.session.put("timeline", msgspec.structs.replace(state, **changes))


def make_app() -> MagstationApp:
    app = MagstationApp()
    configure(app, checkpoint=str(CKPT))
    return app


def problem(app, topic: str) -> str:
    """What the timeline's problem line says about `topic`, with its fix ("" if nothing)."""
    text, fix = app.query_one("#timeline-problems", ProblemLine).problems.get(topic, ("", ""))
    return f"{text} — {fix}" if text else ""


def pane(app) -> TimelinePane:
    return app.query_one(TimelinePane)


def times(app) -> list[float]:
    return [k.time for k in pane(app).state.keyframes]


async def answer(pilot, app, text: str) -> None:
    """Type into the prompt and press enter."""
    await wait_until(pilot, lambda: isinstance(app.screen, AskText)
                     and app.focused is app.screen.query_one("#answer", Input))
    app.screen.query_one("#answer", Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def open_midi(pilot, app, path: Path) -> None:
    await pilot.press("3", "o")
    await answer(pilot, app, str(path))
    await wait_until(pilot, lambda: pane(app).song is not None or problem(app, "open"))


async def render(pilot, app) -> TimelineRender:
    before = pane(app).state.render
    await pilot.press("r")
    await wait_until(pilot, lambda: pane(app).state.render not in (None, before)
                     or problem(app, "render"))
    assert pane(app).state.render is not None, problem(app, "render")
    return pane(app).state.render


async def test_edit_keyframes_render_audition_export(kill_spawned_engines, tmp_path):
    midi = small_midi(tmp_path / "song.mid")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_midi(pilot, app, midi)
        p = pane(app)
        assert len(p.song["notes"]) == 6 and [t["name"] for t in p.song["tracks"]] == ["piano", "strings"]
        tracks_text = str(app.query_one("#timeline-tracks").render())
        assert "piano" in tracks_text and "strings" in tracks_text
        assert p.state.tracks == [0, 1]
        # Magenta's layout for a 2.75 s piece at 6 s per instrument: two keyframes
        assert times(app) == [0.0, 2.75]

        # add at the cursor (8 columns of 0.125 s), move it, delete it, undo it all
        await pilot.press(*["right"] * 8, "i")
        assert times(app) == [0.0, 1.0, 2.75] and p.selected_key == 1
        await pilot.press("shift+right", "shift+right")
        assert times(app) == [0.0, 1.25, 2.75]
        await pilot.press("x")
        assert times(app) == [0.0, 2.75]
        await pilot.press("u")
        assert times(app) == [0.0, 1.25, 2.75]
        await pilot.press("u", "u")
        assert times(app) == [0.0, 1.0, 2.75]
        await pilot.press("u")
        assert times(app) == [0.0, 2.75]
        await pilot.press("U")
        assert times(app) == [0.0, 1.0, 2.75]

        # name it, copy its instrument to 2 s, re-roll the copy and the last one
        await pilot.press("N")
        await answer(pilot, app, "brass")
        await pilot.press("c", "home", *["right"] * 16, "v")
        keys = p.state.keyframes
        assert [k.time for k in keys] == [0.0, 1.0, 2.0, 2.75]
        assert keys[1].name == keys[2].name == "brass" and keys[1].seed == keys[2].seed
        await pilot.press("R")  # the pasted copy gets an instrument of its own
        assert p.state.keyframes[2].seed != keys[1].seed
        keys = p.state.keyframes
        last_seed = keys[3].seed
        await pilot.press("full_stop", "R")
        assert p.state.keyframes[3].seed != last_seed
        await pilot.press("comma")
        assert p.selected_key == 2
        await autosaved(pilot)
        saved = json.loads((kill_spawned_engines / "session.json").read_text())["panes"]["timeline"]
        assert [k["time"] for k in saved["keyframes"]] == [0.0, 1.0, 2.0, 2.75]

        # render: one WAV of int(2.75 + 3) s, sound where the notes are
        res = await render(pilot, app)
        assert (res.notes, res.notes_rendered, res.notes_cached) == (6, 6, 0)
        bar = app.query_one("#timeline-progress", JobProgress)
        assert bar.total == 6 and bar.done == 6  # progress came per batch
        assert [(k.time, k.seed) for k in res.keyframes] == [  # the instruments it played
            (k.time, k.seed) for k in p.state.keyframes]
        audio, sr = sf.read(res.path, dtype="float32")
        assert sr == 16000 and len(audio) == 5 * 16000
        for onset in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5):
            i = int(onset * sr)
            assert np.abs(audio[i:i + 2000]).max() > 1e-3, onset
        assert np.abs(audio[int(3.2 * sr):]).max() < 1e-6  # after the last release

        # moving the keyframe at 2 s re-renders only the notes of its two segments
        await pilot.press("shift+right")
        assert times(app) == [0.0, 1.0, 2.125, 2.75]
        res = await render(pilot, app)
        assert (res.notes_rendered, res.notes_cached) == (3, 3)

        # leave the strings out: the piano notes are all cached already
        await pilot.press("down", "t")
        assert p.state.tracks == [0]
        res = await render(pilot, app)
        assert res.notes == 4 and res.tracks == [0] and res.notes_rendered == 0
        await pilot.press("t")
        assert p.state.tracks == [0, 1]

        # audition from the cursor: the playhead follows the engine's transport
        await pilot.press("home", "space")
        await wait_until(pilot, lambda: p.playhead is not None and p.playhead > 0.2)
        status = await app.engine.call("audio.status")
        assert status["playing"] and status["label"] == "timeline"
        await pilot.press("escape")
        await wait_until(pilot, lambda: p.playhead is None)
        async def stopped() -> bool:
            return not (await app.engine.call("audio.status"))["playing"]
        await eventually(pilot, stopped)  # escape stops the audition

        # export WAV + MIDI, then refuse to overwrite unless told so
        out = tmp_path / "exports"
        await pilot.press("e")
        await answer(pilot, app, str(out))
        await wait_until(pilot, lambda: "exported" in p.status or problem(app, "export"))
        wav, mid = out / "song_gansynth-tiny_ckpt.wav", out / "song_gansynth-tiny_ckpt.mid"
        assert wav.exists() and mid.exists()
        # what was rendered last: the piano alone, 1.75 s + 3 s
        assert sf.read(wav, dtype="float32")[0].shape == (4 * 16000,)
        assert sorted(n.pitch for n in pretty_midi.PrettyMIDI(str(mid)).instruments[0].notes) \
            == [60, 64, 67, 72]
        wav.write_bytes(b"keep me")
        await pilot.press("e")
        await answer(pilot, app, str(out))
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm)
                         and "already exist" in app.screen.question)
        await pilot.press("n")
        assert wav.read_bytes() == b"keep me"
        await pilot.press("e")
        await answer(pilot, app, str(out))
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm)
                         and "already exist" in app.screen.question)
        await pilot.press("y")
        await wait_until(pilot, lambda: wav.read_bytes() != b"keep me")
        assert sf.info(wav).frames == 4 * 16000

    # a restarted TUI reopens the file with the same keyframes, tracks and render
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await wait_until(pilot, lambda: pane(again).song is not None)
        assert times(again) == [0.0, 1.0, 2.125, 2.75]
        assert pane(again).state.keyframes[1].name == "brass"
        assert pane(again).state.tracks == [0, 1]
        assert pane(again).state.render.notes == 4


async def test_bad_midi_and_missing_model_are_shown(kill_spawned_engines, tmp_path, monkeypatch):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "no-checkpoints"))
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd garbage")
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_midi(pilot, app, bad)
        p = pane(app)
        assert p.song is None and "broken.mid" in problem(app, "open")
        assert "o opens another file" in problem(app, "open")
        await open_midi(pilot, app, small_midi(tmp_path / "ok.mid"))
        assert p.song is not None
        await pilot.press("m")
        assert p.song is not None and not problem(app, "open")  # solved by the next file
        assert p.state.model == "all_instruments"
        await pilot.press("r")
        await wait_until(pilot, lambda: p.state.render is not None or problem(app, "render"))
        # no GANSynth installed: the file is still heard, through the General MIDI
        # SoundFont, and the pane says why and how to get GANSynth
        assert p.state.render.renderer == "soundfont" and not problem(app, "render")
        assert "magstation models pull gansynth-all_instruments" in p.status
        assert "SoundFont" in p.status and "TimGM6mb" in p.status
        # pitches GANSynth cannot play come back as warnings shown in the pane
        p._set(checkpoint=str(CKPT))
        await open_midi(pilot, app, _low_midi(tmp_path / "low.mid"))
        res = await render(pilot, app)
        assert any("pitch 12" in w for w in res.warnings)
        assert "pitch 12" in str(app.query_one("#timeline-warnings").render())
        # escape cancels a render between batches; the pane says so
        await open_midi(pilot, app, ROOT / "midi" / "cs1-1pre-short.mid")
        assert len(p.song["notes"]) == 210
        # the roll: notes and bar lines; a page on scrolls the view with the cursor
        from tui.widgets.piano_roll import PianoRoll
        roll = app.query_one(PianoRoll)
        drawn = roll.render().plain
        assert "█" in drawn and "│" in drawn and " bar 1" in drawn
        await pilot.press("pagedown")
        assert p.scroll == roll.columns and p.state.cursor == roll.columns * 0.125
        assert roll.render().plain.splitlines()[0] != drawn.splitlines()[0]  # other bars
        await pilot.press("minus", "minus", "minus")
        assert p.secs_per_col == 1.0 and p.scroll == 0  # the whole piece fits
        await pilot.press("home", "plus", "plus", "plus")
        await pilot.press("r")
        bar = app.query_one("#timeline-progress", JobProgress)
        await wait_until(pilot, lambda: bar.status == "running" and bar.done > 0)
        assert "escape cancels" in bar.render().plain
        await pilot.press("escape")
        await wait_until(pilot, lambda: "cancelled" in p.status)
        assert bar.status == "cancelled" and not problem(app, "render")
        assert p.state.render is None  # nothing half-rendered is kept as a result


async def test_soundfont_renderer_plays_and_exports_without_a_model(kill_spawned_engines,
                                                                    tmp_path, monkeypatch):
    """`m` reaches the General MIDI SoundFont; enter plays every chosen track (drums too,
    on channel 10) with it; the export is a stereo WAV and the MIDI, named for the font."""
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "no-checkpoints"))
    midi = small_midi(tmp_path / "song.mid")
    pm = pretty_midi.PrettyMIDI(str(midi))
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="kit")
    kit.notes += [pretty_midi.Note(110, 36, 0.25 * i, 0.25 * i + 0.1) for i in range(8)]
    pm.instruments.append(kit)
    pm.write(str(midi))
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_midi(pilot, app, midi)
        p = pane(app)
        assert p.state.tracks == [0, 1]  # drums start off (GANSynth skips them)
        await pilot.press("m", "m")
        assert p.state.renderer == "soundfont"
        assert "General MIDI SoundFont" in str(app.query_one("#timeline-head").render())
        await pilot.press("down", "down", "t")
        assert p.state.tracks == [0, 1, 2]
        res = await render(pilot, app)
        assert res.renderer == "soundfont" and res.notes == 4 + 2 + 8
        assert "TimGM6mb" in p.status and "not GANSynth" in p.status
        out = tmp_path / "exports"
        await pilot.press("e")
        await answer(pilot, app, str(out))
        await wait_until(pilot, lambda: "exported" in p.status or problem(app, "export"))
        wav, mid = out / "song_soundfont-TimGM6mb.wav", out / "song_soundfont-TimGM6mb.mid"
        audio, rate = sf.read(wav, dtype="float32")
        assert rate == 44100 and audio.ndim == 2 and audio.shape[1] == 2
        assert audio.shape[0] > 2.75 * rate and np.abs(audio).max() > 0.05
        played = pretty_midi.PrettyMIDI(str(mid))
        assert sorted(len(i.notes) for i in played.instruments) == [2, 4, 8]
        assert [i.is_drum for i in played.instruments].count(True) == 1
        assert sorted(f.name for f in out.iterdir()) == [mid.name, wav.name]  # nothing staged left
        await pilot.press("m")
        assert p.state.renderer == "gansynth" and p.state.model == "acoustic_only"


def _low_midi(path: Path) -> Path:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    inst.notes += [pretty_midi.Note(100, 12, 0.0, 0.5), pretty_midi.Note(100, 60, 0.5, 1.0)]
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_the_tui_imports_no_music_or_model_libraries(mag_home):
    """The timeline gets everything musical from the engine as JSON."""
    assert_tui_stays_light(mag_home, ["3", "right", "minus", "k", "space", "o", "escape", "4"])
