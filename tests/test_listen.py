"""Auditions reach remote listeners: the same samples the engine played, after drops too."""

from __future__ import annotations

import asyncio
import socket
import threading

import numpy as np
import pytest
import soundfile as sf

from engine.audio.playback import NullBackend
from engine.client import EngineClient
from engine.errors import BadInput
from engine.listener import Endpoint, Listener
from engine.server import EngineServer
from tests.conftest import close_engine_server


async def until(predicate, timeout: float = 120.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def tone_file(tmp_path):
    t = np.arange(16000 * 2) / 16000
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    return path, x


@pytest.fixture
async def tcp_server(mag_home):
    before = set(threading.enumerate())
    srv = EngineServer(None, ("127.0.0.1", 0), token="tok", playback="null")
    await srv.start()
    yield srv
    await close_engine_server(srv, before)


async def controller(srv) -> EngineClient:
    c = EngineClient("tui")
    await c.connect_tcp("127.0.0.1", srv.tcp_port, "tok")
    return c


def start_listener(srv) -> tuple[Listener, asyncio.Task]:
    listener = Listener(Endpoint(port=srv.tcp_port, token="tok"), NullBackend())
    return listener, asyncio.create_task(listener.run())


async def test_listener_receives_exactly_what_the_engine_played(tcp_server, tone_file):
    path, samples = tone_file
    listener, task = start_listener(tcp_server)
    await until(lambda: listener.connections == 1)
    ctl = await controller(tcp_server)
    status = await ctl.call("audio.play", {"path": str(path), "loop": True})
    assert status["playing"] and status["duration_s"] == pytest.approx(2.0)
    await until(lambda: listener.backend.played)
    engine_heard = tcp_server.player.device.played[-1]
    laptop_heard = listener.backend.played[-1]
    assert np.array_equal(engine_heard.samples, samples)
    assert laptop_heard.samples.tobytes() == engine_heard.samples.tobytes()
    assert laptop_heard.rate == 16000 and laptop_heard.loop
    await ctl.call("audio.stop")
    await until(lambda: any(e.kind == "stop" for e in listener.backend.events))
    listener.stop()
    await task
    await ctl.close()


async def test_listener_reconnects_after_a_drop(tcp_server, tone_file):
    path, _ = tone_file
    listener, task = start_listener(tcp_server)
    await until(lambda: listener.connections == 1)
    for c in list(tcp_server.clients):  # the network drops the listener's connection
        if "listener" in c.name:
            c.writer.transport.abort()
    await until(lambda: listener.connections == 2)
    ctl = await controller(tcp_server)
    await ctl.call("audio.play", {"path": str(path)})
    await until(lambda: len(listener.backend.played) == 1)
    listener.stop()
    await task
    await ctl.close()


async def test_a_killed_listener_does_not_disturb_the_engine_and_two_can_listen(tcp_server, tone_file):
    path, _ = tone_file
    first, t1 = start_listener(tcp_server)
    second, t2 = start_listener(tcp_server)
    await until(lambda: first.connections == 1 and second.connections == 1)
    t1.cancel()  # killed: no goodbye
    await asyncio.gather(t1, return_exceptions=True)
    ctl = await controller(tcp_server)
    await ctl.call("audio.play", {"path": str(path)})
    await until(lambda: len(second.backend.played) == 1)
    assert (await ctl.call("audio.status"))["playing"]
    second.stop()
    await t2
    await ctl.close()


async def test_listener_with_a_wrong_token_stops_with_the_reason(tcp_server):
    """Retrying cannot fix a wrong token: the listener stops at once and says why."""
    statuses: list[str] = []
    listener = Listener(Endpoint(port=tcp_server.tcp_port, token="wrong"), NullBackend(),
                        on_status=statuses.append)
    await listener.run()  # returns by itself
    assert listener.connections == 0 and "token" in listener.failure
    assert "refused" in listener.failure and statuses == []  # the CLI says it once, at the end


async def test_a_listener_waiting_for_an_engine_says_so_once_not_every_retry():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    statuses: list[str] = []
    listener = Listener(Endpoint(port=port), NullBackend(), on_status=statuses.append)
    task = asyncio.ensure_future(listener.run())
    await until(lambda: listener.refused >= 4)
    listener.stop()
    await task
    assert len(statuses) == 1 and "retrying" in statuses[0] and str(port) in statuses[0]


async def test_listener_reports_each_sound_it_plays_and_sums_up(tcp_server, tone_file):
    path, _ = tone_file
    heard: list[dict] = []
    listener = Listener(Endpoint(port=tcp_server.tcp_port, token="tok"), NullBackend(),
                        on_play=heard.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: listener.connections == 1)
    ctl = await controller(tcp_server)
    await ctl.call("audio.play", {"path": str(path), "label": "tone"})
    await until(lambda: heard)
    assert heard[0]["label"] == "tone" and heard[0]["seconds"] == pytest.approx(2.0)
    assert heard[0]["peak_db"] == pytest.approx(20 * np.log10(0.3), abs=0.1)
    assert listener.summary() == "heard 1 sound (2.0 s) over 1 connection"
    listener.stop()
    await task
    await ctl.close()


async def test_transport_methods(connect, server, tone_file):
    path, _ = tone_file
    c = await connect()
    await c.call("audio.play", {"path": str(path)})
    await c.call("audio.stop")
    st = await c.call("audio.seek", {"seconds": 1.5})
    assert not st["playing"] and st["position_s"] == pytest.approx(1.5)
    st = await c.call("audio.resume")
    assert st["playing"] and server.player.device.played[-1].start == pytest.approx(1.5)
    with pytest.raises(BadInput):
        await c.call("audio.play", {"path": str(path.with_name("missing.wav"))})
