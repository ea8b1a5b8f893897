"""The timeline's logic modules on their own (no widgets, no engine): keyframe
arithmetic, the continuation's bookkeeping and the typed requests built from the state."""

from __future__ import annotations

import msgspec
import pytest

from engine import api
from tui.pane_state import Keyframe, TimelineRender, TimelineState
from tui.timeline_arrangement import (ZOOMS, key_at, layout_keyframes, moved_time, parse_secs,
                                      scroll_to_show, with_changed, with_key)
from tui.timeline_continuation import (ContinueJob, Proposal, next_model, parse_bars,
                                       parse_temperature)
from tui.timeline_render import (export_name, gansynth_params, preview_params, render_record,
                                 save_params)


def keys(*times: float) -> list[Keyframe]:
    return [Keyframe(time=t, seed=i) for i, t in enumerate(times)]


def test_magentas_layout_spreads_the_instruments_from_start_to_end():
    laid = layout_keyframes(20.0, 6.0)
    assert [k.time for k in laid] == [0.0, 10.0, 20.0]  # 20 // 6 = 3 instruments
    assert len({k.seed for k in laid}) == 3
    assert [k.time for k in layout_keyframes(2.75, 6.0)] == [0.0, 2.75]  # never fewer than 2


def test_keyframes_by_column_and_where_they_may_move():
    ks = keys(0.0, 1.0, 2.0)
    spc = ZOOMS[3]  # 0.125 s
    assert key_at(ks, 1.125, spc) is None and key_at(ks, 1.1, spc) == 1  # column 8
    assert moved_time(ks, 1, 2, spc) == 1.25
    assert moved_time(ks, 1, 8, spc) is None  # onto its neighbour
    assert moved_time(ks, 0, -1, spc) is None  # before the start


def test_the_view_scrolls_to_the_cursor_and_a_playing_playhead():
    assert scroll_to_show(0, 40, 6.0, None, 0.125) == 48 - 40 + 1  # column 48 on screen
    assert scroll_to_show(30, 40, 1.0, None, 0.125) == 8
    assert scroll_to_show(0, 40, 0.0, 10.0, 0.125) == 80 - 10  # the playhead, a quarter in


@pytest.mark.parametrize("parse,good,value,bad", [
    (parse_secs, "4", 4.0, ["0.1", "x", "121"]),
    (parse_bars, "3", 3, ["0", "65", "2.5"]),
    (parse_temperature, "0.5", 0.5, ["0", "6", "hot"]),
])
def test_typed_settings_are_checked(parse, good, value, bad):
    assert parse(good) == value
    for text in bad:
        with pytest.raises(ValueError, match="from"):
            parse(text)


def test_a_typed_primer_sits_at_the_cursor_and_the_answer_is_moved_back():
    job = ContinueJob.from_typed([60, None, 64], qpm=120.0, at=2.0, track=1)
    assert job.primer == [[0.0, 0.25, 60, 100], [0.5, 0.75, 64, 100]]  # 8th notes, a rest
    assert job.typed == [[2.0, 2.25, 60, 100], [2.5, 2.75, 64, 100]]
    proposal = Proposal.from_result(job, {"notes": [[1.0, 1.5, 67, 90]], "seed": 7,
                                          "warnings": ["moved"], "model": "m"})
    assert proposal.notes[-1] == [3.0, 3.5, 67, 90]  # at the cursor + 1 s
    assert proposal.rows[0] == [2.0, 2.25, 60, 100, 1] and proposal.warnings == ["moved"]
    sel = ContinueJob.from_selection([[1.5, 1.75, 62, 80, 0]], 1.0, 0)
    assert sel.primer == [[0.5, 0.75, 62, 80]] and sel.offset == 1.0 and sel.typed == []


def test_continue_params_pick_the_bundle_else_the_model():
    st = TimelineState(continue_bars=3, continue_temperature=0.7, continue_model="basic_rnn")
    p = ContinueJob([[0, 1, 60, 100]], 0.0, 0).params(st, 100.0, 5)
    assert isinstance(p, api.melody.Continue)
    assert (p.model, p.checkpoint, p.bars, p.temperature, p.qpm, p.seed) == (
        "basic_rnn", None, 3, 0.7, 100.0, 5)
    bundled = msgspec.structs.replace(st, continue_checkpoint="/b.mag")
    assert ContinueJob([[0, 1, 60, 100]], 0.0, 0).params(bundled, 120.0, 1).checkpoint == "/b.mag"
    assert next_model(None) == "attention_rnn" and next_model("attention_rnn") == "basic_rnn"
    assert next_model("starter-attention_rnn") is None and next_model("gone") is None


def test_render_requests_from_the_state(mag_home):
    st = TimelineState(midi="/m/song.mid", tracks=[0, 2], keyframes=keys(0.0, 4.0),
                       added=[(1.0, 1.5, 60, 90, 2)], checkpoint="/ckpt/tiny")
    g = gansynth_params(st)
    assert (g.midi, g.tracks, g.checkpoint, g.model) == ("/m/song.mid", [0, 2], "/ckpt/tiny", None)
    assert [(k.time, k.seed) for k in g.keyframes] == [(0.0, 0), (4.0, 1)]
    assert gansynth_params(st, "/home/edited.mid").midi == "/home/edited.mid"
    sf = preview_params(st, [[2.0, 2.5, 62, 80, 2]])
    assert [list(n) for n in sf.add] == [[1.0, 1.5, 60, 90, 2], [2.0, 2.5, 62, 80, 2]]
    saved = save_params(st)
    assert saved.path == str(mag_home / "timeline" / "song_edited.mid") and saved.overwrite
    assert export_name(st) == "song_gansynth-tiny"
    rendered = render_record({"path": "/r.wav", "renderer": "soundfont",
                              "soundfont": "/f/TimGM6mb.sf2", "notes": 3}, st.keyframes)
    assert isinstance(rendered, TimelineRender) and rendered.notes == 3
    assert export_name(msgspec.structs.replace(st, render=rendered)) == "song_soundfont-TimGM6mb"


def test_one_keyframe_per_column():
    ks = keys(0.0, 2.0)
    added = with_key(ks, 1.0, 99, "brass", 0.125)
    assert [(k.time, k.seed, k.name) for k in added] == [(0.0, 0, ""), (1.0, 99, "brass"),
                                                         (2.0, 1, "")]
    replaced = with_key(added, 1.05, 7, "", 0.125)  # the same column: a new instrument
    assert [(k.time, k.seed) for k in replaced] == [(0.0, 0), (1.0, 7), (2.0, 1)]
    assert with_changed(ks, 1, name="end")[1].name == "end" and ks[1].name == ""  # a copy
