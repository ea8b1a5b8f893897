"""Playback backends and the transport: what would be heard, when, and what happens
when there is no sound device."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from engine.audio.playback import (
    LocalBackend, ManualClock, Mixer, NetworkBackend, NullBackend, PlaybackUnavailable,
    RemoteListener, Transport, open_backend,
)
from engine.audio.stderr_capture import capture_stderr
from engine.errors import BadRequest, ProtocolError


def ramp(n: int) -> np.ndarray:
    return (np.arange(n, dtype=np.float32) + 1) / (n + 1)


# ---------------------------------------------------------------- mixer (the device's feed)

def test_mixer_plays_a_buffer_exactly_then_silence():
    m = Mixer(100)
    x = ramp(250)
    m.start(x, 100)
    out = np.concatenate([m.pull(100) for _ in range(3)])
    np.testing.assert_array_equal(out[:250], x)
    assert not out[250:].any()
    assert not m.is_playing and m.position() == pytest.approx(2.5)


def test_mixer_loop_wraps_seamlessly():
    m = Mixer(100)
    x = ramp(30)
    m.start(x, 100, loop=True)
    out = np.concatenate([m.pull(7) for _ in range(20)])
    np.testing.assert_array_equal(out, np.tile(x, 5)[:140])
    assert m.is_playing
    m.set_loop(False)  # the current pass finishes, then silence
    rest = np.concatenate([m.pull(10) for _ in range(4)])
    np.testing.assert_array_equal(rest[:10], x[20:])
    assert not rest[10:].any() and not m.is_playing


def test_mixer_layers_or_replaces():
    m = Mixer(100)
    a, b = np.full(50, 0.25, np.float32), np.full(50, 0.5, np.float32)
    m.start(a, 100)
    m.start(b, 100, layer=True)
    np.testing.assert_allclose(m.pull(10), 0.75)
    m.start(a, 100)  # no layer: the audition replaces both
    np.testing.assert_allclose(m.pull(10), 0.25)


def test_mixer_clips_the_sum_and_seeks():
    m = Mixer(100)
    m.start(np.full(100, 0.8, np.float32), 100)
    m.start(np.full(100, 0.8, np.float32), 100, layer=True)
    assert m.pull(5).max() == 1.0
    x = ramp(100)
    m.start(x, 100)
    m.seek(0.5)
    np.testing.assert_array_equal(m.pull(10), x[50:60])
    assert m.position() == pytest.approx(0.6)


def test_mixer_starts_at_an_offset():
    m = Mixer(100)
    x = ramp(100)
    m.start(x, 100, offset=0.25)
    np.testing.assert_array_equal(m.pull(10), x[25:35])
    m.start(x, 100, offset=5.0)  # past the end: nothing left to play
    assert not m.pull(10).any() and not m.is_playing


def test_mixer_resamples_to_device_rate():
    m = Mixer(48000)
    m.start(np.zeros(16000, np.float32), 16000)
    got = sum(len(m.pull(4800)) for _ in range(12))
    assert got == 57600 and m.position() == pytest.approx(1.0)


# ---------------------------------------------------------------- null backend

def test_null_backend_records_exactly_what_was_played():
    clock = ManualClock(10.0)
    nb = NullBackend(clock)
    x = ramp(1600)
    nb.play(x, 16000)
    x[:] = 0  # the caller reusing its buffer must not change the record
    clock.advance(0.05)
    assert nb.is_playing and nb.position() == pytest.approx(0.05)
    clock.advance(0.06)
    assert not nb.is_playing and nb.position() == pytest.approx(0.1)
    (rec,) = nb.played
    np.testing.assert_array_equal(rec.samples, ramp(1600))
    assert (rec.time, rec.rate, rec.loop, rec.layer) == (10.0, 16000, False, False)
    assert rec.seconds == pytest.approx(0.1)


def test_null_backend_loop_seek_and_events():
    clock = ManualClock()
    nb = NullBackend(clock)
    nb.play(np.zeros(1000, np.float32), 1000, loop=True)
    clock.advance(2.25)
    assert nb.is_playing and nb.position() == pytest.approx(0.25)
    nb.seek(0.5)
    clock.advance(0.1)
    assert nb.position() == pytest.approx(0.6)
    nb.set_loop(False)
    clock.advance(0.5)
    assert not nb.is_playing and nb.position() == pytest.approx(1.0)
    nb.stop()
    assert [e.kind for e in nb.events] == ["play", "seek", "loop", "stop"]
    assert [e.time for e in nb.events] == pytest.approx([0.0, 2.25, 2.35, 2.85])


def test_null_backend_rejects_non_mono():
    with pytest.raises(BadRequest, match="mono"):
        NullBackend().play(np.zeros((10, 2), np.float32), 16000)


# ---------------------------------------------------------------- transport

def make_transport():
    clock = ManualClock()
    nb = NullBackend(clock)
    return Transport(nb), nb, clock


def test_one_audition_at_a_time_unless_layering():
    t, nb, clock = make_transport()
    t.audition(ramp(16000), 16000, label="flute")
    clock.advance(0.5)
    t.audition(ramp(8000), 16000, label="cat")
    assert t.label == "cat" and t.duration == pytest.approx(0.5)
    assert [p.layer for p in nb.played] == [False, False]
    clock.advance(0.1)
    t.audition(ramp(4000), 16000, layer=True)
    assert nb.last.layer is True
    assert t.is_playing


def test_stop_keeps_the_playhead_and_play_resumes_there():
    t, nb, clock = make_transport()
    x = ramp(16000)
    t.audition(x, 16000)
    clock.advance(0.4)
    t.stop()
    assert not t.is_playing and t.position() == pytest.approx(0.4)
    assert t.progress() == pytest.approx(0.4)
    t.seek(0.7)  # moving the playhead while stopped sets the cue
    assert t.position() == pytest.approx(0.7)
    t.play()
    np.testing.assert_array_equal(nb.last.samples, x)
    clock.advance(0.1)
    assert t.position() == pytest.approx(0.8)
    assert nb.last.start == pytest.approx(0.7)  # resumed in one step, no blip of the start


def test_transport_toggle_loop_nudge_and_clamping():
    t, nb, clock = make_transport()
    t.toggle()  # nothing loaded: nothing happens
    assert nb.played == []
    t.audition(ramp(1000), 1000, loop=True)
    clock.advance(1.5)
    assert t.is_playing and t.position() == pytest.approx(0.5)
    t.nudge(-2.0)
    assert t.position() == pytest.approx(0.0)
    t.seek(99)  # clamped to the end, which for a loop is its start
    assert t.position() == pytest.approx(0.0)
    clock.advance(0.25)
    assert t.position() == pytest.approx(0.25)
    t.set_loop(False)
    clock.advance(2.0)
    assert not t.is_playing
    t.toggle()
    assert t.is_playing and nb.last.loop is False


def test_transport_playhead_reaches_the_end_and_rewinds():
    t, nb, clock = make_transport()
    t.audition(ramp(500), 1000)
    clock.advance(1.0)
    assert not t.is_playing
    t.stop()
    assert t.position() == 0.0
    t.play()
    assert nb.last.time == 1.0 and t.is_playing


def test_update_swaps_the_loop_under_a_running_playhead():
    """Editing a drum pattern while it loops: the new version keeps the beat's place."""
    t, nb, clock = make_transport()
    t.audition(np.zeros(4000, np.float32), 1000, loop=True, label="pattern")
    clock.advance(5.5)  # second pass, 1.5 s in
    edited = np.ones(4000, np.float32)
    t.update(edited, 1000)
    assert nb.last.start == pytest.approx(1.5) and nb.last.loop is True
    np.testing.assert_array_equal(nb.last.samples, edited)
    assert t.label == "pattern" and t.position() == pytest.approx(1.5)
    t.stop()
    t.update(np.ones(1000, np.float32), 1000)  # shorter while stopped: cue wraps into it
    assert not t.is_playing and t.position() == pytest.approx(0.5)


def test_audition_can_start_part_way():
    t, nb, clock = make_transport()
    t.audition(ramp(1000), 1000, start=0.25)
    assert nb.last.start == 0.25 and t.position() == pytest.approx(0.25)
    clock.advance(0.5)
    assert t.position() == pytest.approx(0.75)


# ---------------------------------------------------------------- network

def test_network_backend_delivers_identical_audio_to_a_listener():
    heard = NullBackend(ManualClock())
    listener = RemoteListener(heard)
    wire: list[tuple[bytes, int, dict]] = []

    def on_audio(chunk: bytes, rate: int, meta: dict) -> None:
        wire.append((chunk, rate, meta))
        listener(chunk, rate, meta)

    net = NetworkBackend(on_audio, chunk_frames=1000, clock=ManualClock())
    x = np.sin(np.arange(2500, dtype=np.float32))
    net.play(x, 16000, loop=True)
    assert [len(c) for c, _, _ in wire] == [4000, 4000, 2000]
    assert [m["final"] for _, _, m in wire] == [False, False, True]
    np.testing.assert_array_equal(heard.last.samples, x)
    assert heard.last.rate == 16000 and heard.last.loop is True
    net.play(ramp(10), 8000, layer=True, start=0.0005)
    assert heard.last.layer is True and len(heard.played) == 2
    assert heard.last.start == 0.0005
    net.seek(0.1)
    net.set_loop(False)
    net.stop()
    assert [e.kind for e in heard.events][-3:] == ["seek", "loop", "stop"]
    assert all(isinstance(m, dict) and m["v"] == 1 for _, _, m in wire)


def test_network_backend_sends_an_empty_buffer_as_one_message():
    heard = NullBackend(ManualClock())
    net = NetworkBackend(RemoteListener(heard), clock=ManualClock())
    net.play(np.zeros(0, np.float32), 16000)
    assert len(heard.played) == 1 and len(heard.last.samples) == 0


def test_remote_listener_rejects_bad_messages():
    listener = RemoteListener(NullBackend())
    with pytest.raises(ProtocolError, match="version"):
        listener(b"", 0, {"v": 99, "kind": "stop"})
    with pytest.raises(ProtocolError, match="kind"):
        listener(b"", 0, {"v": 1, "kind": "dance"})
    with pytest.raises(ProtocolError, match="out of order"):
        listener(b"\0" * 8, 16000, {"v": 1, "kind": "play", "voice": 1, "offset": 5,
                                    "frames": 7, "final": True})


# ---------------------------------------------------------------- local device

def test_capture_stderr_hides_native_writes(capfd):
    with capture_stderr() as cap:
        os.write(2, b"ALSA lib pcm.c: Unknown PCM default\n")
    print("after", file=sys.stderr)
    assert "Unknown PCM default" in cap.text
    assert capfd.readouterr().err == "after\n"


def test_local_backend_without_a_device_fails_cleanly_and_quietly(capfd):
    try:
        backend = LocalBackend()
    except PlaybackUnavailable as e:
        assert "No audio output device" in e.message and "null backend" in e.message
        assert e.code == "playback_unavailable"
    else:  # a machine with a real sound card: nothing to check here
        backend.close()
        pytest.skip("this machine has an audio device")
    # libasound's complaints were captured, never printed
    assert capfd.readouterr().err == ""


def test_auto_falls_back_to_null_with_the_reason(capfd):
    backend = open_backend("auto", backends=["alsa"])
    try:
        if isinstance(backend, LocalBackend):
            pytest.skip("this machine has an ALSA device")
        assert isinstance(backend, NullBackend)
        assert "No audio output device" in backend.note
    finally:
        backend.close()
    assert capfd.readouterr().err == ""
    with pytest.raises(BadRequest):
        open_backend("bluetooth")


def test_local_backend_without_miniaudio(monkeypatch):
    monkeypatch.setitem(sys.modules, "miniaudio", None)  # as if not installed
    with pytest.raises(PlaybackUnavailable, match="pip install miniaudio"):
        LocalBackend()


def test_local_backend_plays_through_miniaudios_null_device():
    backend = LocalBackend(rate=16000, backends=["null"], buffer_ms=20)
    try:
        assert backend.device_name == "Null"
        backend.play(np.full(1600, 0.1, np.float32), 16000)
        assert backend.is_playing
        deadline = time.monotonic() + 30  # a liveness guard, not a timing check
        while backend.is_playing and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not backend.is_playing
        assert backend.position() == pytest.approx(0.1)
    finally:
        backend.close()
        backend.close()  # idempotent


def test_local_backend_rejects_unknown_audio_systems():
    with pytest.raises(BadRequest, match="unknown audio system"):
        LocalBackend(backends=["bluetooth"])
