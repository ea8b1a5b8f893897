"""Melody continuation in the arrangement timeline, with a real engine, the MelodyRNN
fixture bundle (session override `continue_checkpoint`) and the GANSynth fixture
checkpoint: continue a selection, re-roll, accept, undo, render the edited arrangement."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest

from tests.test_timeline_pane import (CKPT, ROOT, SIZE, answer, configure, open_midi, pane,
                                      problem, render, small_midi, wait_until)
from tui.app import MagstationApp
from tui.timeline_continuation import Proposal, parse_primer

BUNDLE = ROOT / "tests" / "fixtures" / "melody_rnn" / "attention_rnn.mag"


def make_app() -> MagstationApp:
    app = MagstationApp()
    configure(app, checkpoint=str(CKPT), continue_checkpoint=str(BUNDLE))
    return app


async def proposed(pilot, app, before=None) -> Proposal:
    p = pane(app)
    await wait_until(pilot, lambda: (p.proposal is not None and p.proposal is not before
                                     and not p.busy) or problem(app, "continue"))
    assert p.proposal is not None, problem(app, "continue")
    return p.proposal


async def test_continue_reroll_accept_undo_render(kill_spawned_engines, tmp_path):
    midi = small_midi(tmp_path / "song.mid")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_midi(pilot, app, midi)
        p = pane(app)
        # select 0-2 s on the piano track (C4 E4 G4 C5, last note ends at 1.75 s)
        await pilot.press("b", *["right"] * 16)
        assert p.mark == 0.0 and p.state.cursor == 2.0 and p.track_sel == 0
        await pilot.press("C")
        first = await proposed(pilot, app)
        notes = first.notes
        assert notes and first.job.track == 0 and first.job.primer[0][2] == 60
        assert all(n[0] >= 1.75 - 1e-6 for n in notes)  # after the primer region's notes
        assert all(n[0] < 1.75 + 4.0 + 1e-6 for n in notes)  # 2 bars at 120 bpm
        assert "▓" in app.query_one("#timeline-roll").render().plain  # drawn as proposed
        line = str(app.query_one("#timeline-continue").render())
        assert f"proposed {len(notes)} note" in line and "primer" not in line  # none typed

        # same seed -> same notes; re-roll -> a new seed and other notes
        params = p.continue_params(first.job.primer, first.seed)
        again = await app.engine.call(params)
        assert [[round(s, 6), round(e, 6), q, v] for s, e, q, v in again["notes"]] == notes
        await pilot.press("R")
        second = await proposed(pilot, app, first)
        assert second.seed != first.seed and second.notes != notes

        # discard, then continue again and accept: one undoable edit
        await pilot.press("d")
        assert p.proposal is None and "▓" not in app.query_one("#timeline-roll").render().plain
        await pilot.press("C")
        third = await proposed(pilot, app)
        await pilot.press("a")
        assert p.proposal is None
        added = p.state.added
        assert [list(n) for n in added] == [[*n, 0] for n in third.notes]
        assert len(p.all_notes()) == 6 + len(added)
        await pilot.press("u")
        assert p.state.added == [] and len(p.all_notes()) == 6
        await pilot.press("U")
        assert p.state.added == added

        # the render plays the edited arrangement: the accepted notes are in it
        res = await render(pilot, app)
        assert res.notes == 6 + len(added), p.status
        edited = Path(p.save_params().path)
        assert edited.is_file() and edited.parent == kill_spawned_engines / "timeline"
        played = pretty_midi.PrettyMIDI(res.midi_path)
        assert sum(len(i.notes) for i in played.instruments) == 6 + len(added)

        # a typed primer, out of the model's range: continued at the cursor, with the warning
        await pilot.press("home", "b")  # clear the selection
        assert p.mark is None
        await pilot.press("p")
        await answer(pilot, app, "96 98 100 101")
        typed = await proposed(pilot, app)
        assert [n[2] for n in typed.notes[:4]] == [96, 98, 100, 101]
        assert typed.warnings and "range" in typed.warnings[0]
        assert "range" in str(app.query_one("#timeline-warnings").render())
        made = len(typed.notes) - 4  # the line and the status count the model's notes apart
        assert f"proposed {made} note" in str(app.query_one("#timeline-continue").render())
        assert "after your 4-note primer" in p.status

        # bars, temperature and model are adjustable and saved
        await pilot.press("l")
        await answer(pilot, app, "1")
        await pilot.press("T")
        await answer(pilot, app, "0.5")
        await pilot.press("g")
        assert (p.state.continue_bars, p.state.continue_temperature,
                p.state.continue_model) == (1, 0.5, "attention_rnn")

        # escape cancels a continuation: here one queued behind a long render, and behind a
        # job that holds the model worker until the test lets it go (however fast the
        # render is, the continuation is still waiting when escape is pressed)
        await pilot.press("d")
        await open_midi(pilot, app, ROOT / "midi" / "cs1-1pre-short.mid")
        await pilot.press("r")
        bar = app.query_one("#timeline-progress")
        await wait_until(pilot, lambda: bar.status == "running" and bar.done > 0)
        blocker = await app.engine.start_request("engine.sleep", {"seconds": 600, "steps": 600})
        await pilot.press("p")
        await answer(pilot, app, "60 62 64")
        await wait_until(pilot, lambda: p.continuing is not None
                         and p.continuing.request is not None)
        await pilot.press("escape")
        await blocker.cancel()
        await wait_until(pilot, lambda: p.continuing is None)
        with pytest.raises(Exception) as skipped:
            await blocker.result()
        assert getattr(skipped.value, "code", "") == "cancelled"
        assert p.proposal is None
        assert any("continuation cancelled" in n.message for n in app.notices)
        assert app.query_one("#timeline-continue-progress").status == "cancelled"
        await pilot.press("escape")  # and the render
        await wait_until(pilot, lambda: "cancelled" in p.status and not p.busy)


def test_typed_primer():
    assert parse_primer("60 62 64 65 67") == [60, 62, 64, 65, 67]
    assert parse_primer("C4 F#3 Bb3 _ c5") == [60, 54, 58, None, 72]
    for bad in ("H4", "_ .", "200", ""):
        with pytest.raises(ValueError):
            parse_primer(bad)


async def test_missing_continuation_model_is_shown(kill_spawned_engines, tmp_path, monkeypatch):
    """No MelodyRNN installed: "auto" continues with the shipped starter model and says so;
    asking for attention_rnn by name says how to get it."""
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "no-checkpoints"))
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_midi(pilot, app, small_midi(tmp_path / "song.mid"))
        p = pane(app)
        assert p.state.continue_model is None
        await pilot.press("p")
        await answer(pilot, app, "C4 E4 G4")
        await wait_until(pilot, lambda: p.proposal is not None)
        assert p.proposal.model == "starter-attention_rnn"
        assert "auto → starter-attention_rnn" in str(app.query_one("#timeline-continue").render())
        await pilot.press("d", "g")
        assert p.state.continue_model == "attention_rnn"
        await pilot.press("p")
        await answer(pilot, app, "C4 E4 G4")
        await wait_until(pilot, lambda: problem(app, "continue"))
        said = problem(app, "continue")
        assert "magstation models pull" in said and "attention_rnn" in said
        assert "M opens the Models screen" in said
        assert p.proposal is None
