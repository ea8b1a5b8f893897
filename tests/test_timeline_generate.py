"""The timeline starting from a generated source (`G`) instead of a file, with a real
engine and the MusicVAE fixture checkpoints (session `model_overrides`): a 2-bar melody
appears on the timeline as notes and renders (GANSynth fixture checkpoint) like an opened
file; a trio chain opens with its three parts; a missing model is named, with the key of
the Models screen. The prompt's grammar is checked on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_tui_stays_light
from tests.test_timeline_pane import (CKPT, ROOT, SIZE, answer, configure, pane, problem,
                                      render, wait_until)
from tui.app import MagstationApp
from tui.generate_source import parse_source

FIX = ROOT / "tests" / "fixtures" / "musicvae"
OVERRIDES = {"melody": {"checkpoint": str(FIX / "cat-mel_2bar_big"), "config": "cat-mel_2bar_big"},
             "trio": {"checkpoint": str(FIX / "hierdec-trio_16bar"), "config": "hierdec-trio_16bar"}}


async def generate(pilot, app, text: str, before=None) -> dict:
    p = pane(app)
    await pilot.press("G")
    await answer(pilot, app, text)
    await wait_until(pilot, lambda: (p.song is not None and p.song is not before and not p.busy)
                     or problem(app, "generate") or problem(app, "open"))
    assert p.song is not None and p.song is not before, problem(app, "generate")
    return p.song


async def test_generate_a_melody_then_a_trio_chain(kill_spawned_engines):
    app = MagstationApp()
    configure(app, model_overrides=OVERRIDES, checkpoint=str(CKPT))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        p = pane(app)
        assert "G generates a melody or a trio" in str(app.query_one("#timeline-head").render())
        song = await generate(pilot, app, "melody t=1 seed=5")
        assert p.state.midi == song["path"] and "seed5" in song["path"]
        assert song["notes"] and song["total_time"] <= 4.0 + 1e-6  # 2 bars at 120 bpm
        assert [t["is_drum"] for t in song["tracks"]] == [False]
        assert p.state.tracks == [song["tracks"][0]["index"]]  # ready to render
        roll = app.query_one("#timeline-roll").render().plain
        assert "█" in roll or "░" in roll  # the notes are drawn
        info = str(app.query_one("#timeline-head").render())
        assert "generated: melody" in info and "cat-mel_2bar_big" in info and "seed 5" in info
        res = await render(pilot, app)  # rendered like any opened file
        assert res.notes == len(song["notes"]) and res.duration > 0

        # the same request again: the same notes (a new file)
        again = await generate(pilot, app, "1 t=1 seed=5", song)
        assert again["path"] != song["path"] and again["notes"] == song["notes"]

        # a chain from one generated melody to another (files as its ends), one file
        other = await generate(pilot, app, "melody seed=6", again)
        chain = await generate(pilot, app, f"2 steps=3 seed=11 {song['path']} {other['path']}",
                               other)
        assert 4.0 < chain["total_time"] <= 3 * 4.0 + 1e-6  # three 2-bar slots, one file
        assert "from melody_" in str(app.query_one("#timeline-head").render())

        trio = await generate(pilot, app, "trio chain steps=2 seed=3", chain)
        assert sorted(t["is_drum"] for t in trio["tracks"]) == [False, False, True]
        assert 16 * 2 < trio["total_time"] <= 2 * 32.0 + 1e-6  # two 16-bar trios at 120 bpm
        assert p.state.keyframes and p.state.added == []  # a fresh arrangement
        # GANSynth renders pitched parts: the drums are not chosen for the render
        drum = next(t["index"] for t in trio["tracks"] if t["is_drum"])
        assert drum not in p.state.tracks and len(p.state.tracks) == 2


async def test_missing_model_names_it_and_the_models_screen(kill_spawned_engines, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "no-checkpoints"))
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "G")
        await answer(pilot, app, "3 seed=1")
        p = pane(app)
        await wait_until(pilot, lambda: problem(app, "generate"))
        said = problem(app, "generate")
        assert "hierdec-trio_16bar" in said and "M opens the Models screen" in said
        assert p.song is None


def test_source_prompt():
    s = parse_source("4 t=0.8 seed=42 steps=3")
    assert (s.kind, s.chain, s.temperature, s.seed, s.steps) == ("trio", True, 0.8, 42, 3)
    assert s.method == "trio.interpolate"
    assert s.params(42, "/f") == {"temperature": 0.8, "seed": 42, "folder": "/f", "qpm": 120.0,
                                  "steps": 3, "join": True}
    m = parse_source("melody")
    assert m.method == "melody.sample" and m.params(1, "/f")["n"] == 1
    assert parse_source("melody chain").method == "melody.interpolate"
    ends = parse_source("melody chain ~/a.mid B.MID")
    assert ends.ends == (str(Path.home() / "a.mid"), str(Path("B.MID").resolve()))
    assert {k: ends.params(1, "/f").get(k) for k in ("a", "b", "qpm")} == {
        "a": ends.ends[0], "b": ends.ends[1], "qpm": None}  # the tempo of a
    for bad, words in (("", "type what"), ("piano", "cannot generate"), ("melody t=3", "0 to 2"),
                       ("trio steps=4", "for chains"), ("2 seed=x", "whole number"),
                       ("4 a.mid", "two MIDI files"), ("trio a.mid b.mid", "ends of a chain")):
        with pytest.raises(ValueError, match=words):
            parse_source(bad)


def test_generate_prompt_keeps_the_tui_light(mag_home):
    assert_tui_stays_light(mag_home, ["3", "G", "escape"])
