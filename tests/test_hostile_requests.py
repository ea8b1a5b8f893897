"""An engine no request can break, tried as a careless or hostile client would: raw lines
on the real socket, and what each must get back. No sleeps: every wait is on a reply, an
end of stream or a condition the engine reports."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from engine import protocol as P
from engine.client import EngineClient
from engine import server as server_mod
from tests.conftest import ROOT, _wait_for_socket, start_engine_process, tcp_ping

SAFETY_S = 120.0  # only a hang reaches this; nothing here waits on time


class Raw:
    """A raw protocol connection: write any bytes, read replies as dicts."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer
        self.seen: list[dict] = []

    @classmethod
    async def unix(cls, path) -> "Raw":
        return cls(*await asyncio.open_unix_connection(str(path), limit=P.MAX_LINE))

    @classmethod
    async def tcp(cls, port: int) -> "Raw":
        return cls(*await asyncio.open_connection("127.0.0.1", port, limit=P.MAX_LINE))

    async def send(self, line: bytes | dict) -> None:
        self.w.write(line if isinstance(line, bytes) else P.encode(line))
        await self.w.drain()

    async def next(self) -> dict | None:
        frame = await asyncio.wait_for(P.read_frame(self.r), SAFETY_S)
        if frame is None:
            return None
        self.seen.append(frame[0])
        return frame[0]

    async def reply_to(self, rid: str) -> dict:
        """The terminal reply (result or error) of request `rid`, skipping events."""
        while True:
            msg = await self.next()
            assert msg is not None, f"connection closed before a reply to {rid}"
            if msg.get("id") == rid and msg["type"] in ("result", "error"):
                return msg

    async def call(self, rid: str, method: str, params: dict | None = None) -> dict:
        await self.send({"type": "request", "id": rid, "method": method, "params": params or {}})
        return await self.reply_to(rid)

    async def closed(self) -> bool:
        """Read until the engine closes the connection (True) ."""
        while (await self.next()) is not None:
            pass
        return True

    def close(self) -> None:
        self.w.close()


@pytest.fixture
async def proc_engine(engine_process, mag_home):
    engine_process()
    return mag_home / "engine.sock"


# -- findings from the issue, each as a client sends it ---------------------------------

async def test_nan_infinity_and_deep_nesting_get_a_reply_not_a_dropped_connection(proc_engine):
    c = await Raw.unix(proc_engine)
    await c.send(b'{"type":"request","id":"n1","method":"drums.sample","params":{"temperature":NaN}}\n')
    err = await c.reply_to("n1")
    assert err["error"]["code"] == "bad_request"
    await c.send(b'{"type":"request","id":"n2","method":"engine.sleep","params":{"seconds":Infinity}}\n')
    assert (await c.reply_to("n2"))["error"]["code"] == "bad_request"
    deep = b'{"type":"request","id":"n3","method":"engine.ping","params":{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}}\n"
    await c.send(deep)
    reply = await c.next()
    assert reply is not None and reply["type"] == "error"
    assert (await c.call("p", "engine.ping"))["result"]["pong"] is True
    c.close()


async def test_seeds_of_the_wrong_kind_get_bad_request_naming_seed(proc_engine):
    c = await Raw.unix(proc_engine)
    for i, seed in enumerate(["abc", -1, 1e300, True]):
        err = await c.call(f"s{i}", "drums.sample", {"seed": seed})
        assert err["error"]["code"] == "bad_request", err
        assert err["error"]["details"]["param"] == "seed"
        assert "0 to 4294967295" in err["error"]["message"]
    c.close()


async def test_a_huge_seed_list_is_refused_at_once_and_others_keep_being_answered(proc_engine):
    c = await Raw.unix(proc_engine)
    err = await c.call("z", "gansynth.random_z", {"seeds": list(range(100_000))})
    assert err["error"]["code"] == "bad_request" and "seeds" in err["error"]["message"]
    assert (await c.call("p", "engine.ping"))["result"]["pong"]
    c.close()


async def test_export_name_with_a_path_is_refused_and_nothing_is_written_outside(proc_engine, tmp_path):
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    c = await Raw.unix(proc_engine)
    pattern = {"velocities": [[100] + [0] * 31] + [[0] * 32] * 8}
    err = await c.call("x", "drums.export", {"patterns": [pattern], "folder": str(chosen),
                                             "name": "../elsewhere/x"})
    assert err["error"]["code"] == "bad_request" and err["error"]["details"]["param"] == "name"
    assert not (tmp_path / "elsewhere").exists() and list(chosen.iterdir()) == []
    c.close()


async def test_a_result_with_nan_is_a_typed_error_every_time_never_a_hang(proc_engine, tmp_path):
    """library.overview of a float WAV holding 1e30: either finite numbers or a typed
    error, the same on the second call (a bad result is never cached)."""
    wav = tmp_path / "loud.wav"
    x = np.zeros(16000, np.float32)
    x[::100] = 1e30
    sf.write(wav, x, 16000, subtype="FLOAT")
    c = await Raw.unix(proc_engine)
    for rid in ("o1", "o2"):
        reply = await c.call(rid, "library.overview", {"path": str(wav)})
        if reply["type"] == "result":
            text = json.dumps(reply["result"], allow_nan=False)  # raises on NaN
            assert text
        else:
            assert reply["error"]["code"] in ("engine_error", "bad_input", "bad_request"), reply
            assert "loud.wav" in reply["error"]["message"] or "non-finite" in reply["error"]["message"]
    c.close()


async def test_results_with_non_finite_numbers_are_errors_and_never_cached(connect):
    c = await connect()
    for _ in range(2):
        with pytest.raises(Exception) as e:
            await c.call("test.inf", {"x": 2.0})
        assert "non-finite" in str(e.value) and "peaks[1]" in str(e.value)


async def test_a_quick_call_stuck_on_a_fifo_leaves_ping_and_other_clients_answered(server, connect, tmp_path):
    fifo = tmp_path / "stuck"
    os.mkfifo(fifo)
    a = await connect("a")
    stuck = await a.start("test.read_file", {"path": str(fifo)})
    # While it is stuck in open(): this client's pings and another client's calls answer.
    assert (await a.call("engine.ping"))["pong"]
    b = await connect("b")
    assert (await b.call("engine.status"))["clients"] >= 2
    assert (await b.call("audio.status")) is not None
    assert not stuck._future.done()
    # Unblock it: a writer opens the FIFO and closes it; the stuck call then finishes.
    fd = os.open(fifo, os.O_WRONLY)
    os.write(fd, b"abc")
    os.close(fd)
    assert (await stuck.result())["bytes"] == 3


async def test_garbage_before_hello_over_tcp_closes_the_connection(mag_home):
    srv = server_mod.EngineServer(None, ("127.0.0.1", 0), token="s3cret")
    await srv.start()
    try:
        c = await Raw.tcp(srv.tcp_port)
        await c.send(b"GET / HTTP/1.1\r\n")
        reply = await c.next()
        assert reply["error"]["code"] == "unauthorized"
        assert await c.closed()
        # A non-ASCII token is an unauthorized reply too, not a dropped connection.
        c = await Raw.tcp(srv.tcp_port)
        await c.send({"type": "hello", "v": 1, "token": "sécret\u2603"})
        assert (await c.next())["error"]["code"] == "unauthorized"
        assert await c.closed()
    finally:
        await srv.close()


async def test_idle_unauthenticated_tcp_connections_are_closed_and_capped(mag_home):
    srv = server_mod.EngineServer(mag_home / "engine.sock", ("127.0.0.1", 0), token="s3cret",
                                  hello_timeout=0.5)
    await srv.start()
    try:
        idle = [await Raw.tcp(srv.tcp_port) for _ in range(server_mod.MAX_UNAUTHED + 3)]
        # Those over the cap are refused at once; the others are closed at the hello deadline.
        for c in idle:
            reply = await c.next()
            assert reply["error"]["code"] == "unauthorized"
            assert await c.closed()
        # The owner's local client is never locked out.
        local = EngineClient("owner")
        await local.connect_unix(mag_home / "engine.sock")
        assert (await local.call("engine.ping"))["pong"]
        await local.close()
    finally:
        await srv.close()


async def test_a_listener_that_never_reads_keeps_a_bounded_backlog(server, mag_home):
    """An `audio` subscriber that stops reading: its queued audio is capped (oldest dropped),
    it is told how much it lost when it reads again, and it is forgotten when it leaves."""
    c = await Raw.unix(mag_home / "engine.sock")
    await c.call("sub", "engine.subscribe", {"topics": ["audio"]})
    client = next(cl for cl in server.clients if "audio" in cl.topics)
    pcm = bytes(4 * 44100)  # 1 s of float32 mono
    for _ in range(120):  # 2 minutes of audio, ~21 MB, more than the cap
        server.broadcast_audio(pcm, 44100, {"label": "t"})
    assert client.audio_bytes <= server_mod.AUDIO_BACKLOG_BYTES
    events = []
    while not any(e.get("event") == "audio_dropped" for e in events):
        events.append(await c.next())
    dropped = next(e for e in events if e.get("event") == "audio_dropped")
    assert dropped["dropped"] > 0 and dropped["seconds"] > 60
    c.close()
    await c.w.wait_closed()
    while client in server.clients:  # the server notices the close on its next read
        await asyncio.sleep(0)  # yield to the loop: event-driven, no time involved
    assert len(client.outbox) == 0 and client.closed


def test_token_file_readable_by_others_is_refused_and_token_never_needs_argv(mag_home, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("s3cret\n")
    os.chmod(tok, 0o644)
    env = {**os.environ, "MAGSTATION_HOME": str(mag_home)}
    env.pop("MAGSTATION_TOKEN", None)
    out = subprocess.run([sys.executable, "-m", "engine", "--tcp", "127.0.0.1:0", "--token-file",
                          str(tok)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "chmod 600" in out.stderr
    os.chmod(tok, 0o600)
    port = _free_port()
    proc = start_engine_process(mag_home, "--tcp", f"127.0.0.1:{port}", "--token-file", str(tok))
    try:
        _wait_for_socket(mag_home / "engine.sock", proc)
        assert "s3cret" not in " ".join(proc.args)
        assert asyncio.run(tcp_ping(port, "s3cret"))["pong"]
    finally:
        proc.kill()
        out_text = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert "s3cret" not in out_text  # never logged


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
