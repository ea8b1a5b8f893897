"""Protocol round trips against the real engine server (in this process)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading

import pytest

from engine import errors, protocol as P
from engine.client import EngineClient, EngineUnavailable
from engine.server import EngineServer
from tests import jobs_for_tests
from tests.conftest import close_engine_server
from tests.test_listen import until

WAIT_S = 120  # a safety net against a hang only


async def test_frame_round_trip_with_binary_payload():
    reader = asyncio.StreamReader()
    reader.feed_data(P.encode({"type": "event", "x": 1}, b"\x00\x01pcm"))
    reader.feed_data(P.encode({"type": "request", "id": "a"}))
    reader.feed_eof()
    msg, blob = await P.read_frame(reader)
    assert msg["x"] == 1 and msg["nbytes"] == 5 and blob == b"\x00\x01pcm"
    msg, blob = await P.read_frame(reader)
    assert msg == {"type": "request", "id": "a"} and blob is None
    assert await P.read_frame(reader) is None


async def test_hello_and_status(connect, server):
    c = await connect("alice")
    assert c.welcome["protocol"] == P.PROTOCOL_VERSION and c.welcome["pid"] == os.getpid()
    status = await c.call("engine.status")
    assert status["clients"] == 1 and status["jobs"] == []
    methods = (await c.call("engine.methods"))["methods"]
    assert "engine.sleep" in methods and "engine.ping" in methods


async def test_socket_is_private(server):
    mode = stat.S_IMODE(os.stat(server.socket_path).st_mode)
    assert mode == 0o600


async def test_job_progress_then_result(connect):
    c = await connect()
    seen: list[dict] = []
    result = await c.call("engine.sleep", {"seconds": 0.2, "steps": 4}, on_progress=seen.append)
    assert result == {"slept_s": 0.2, "steps": 4}
    assert [m["done"] for m in seen] == [1, 2, 3, 4]
    assert all(m["total"] == 4 for m in seen)
    assert seen[0]["eta_s"] is not None and seen[-1]["eta_s"] == 0


async def test_unknown_method_is_a_typed_error_and_the_connection_lives_on(connect):
    c = await connect()
    with pytest.raises(errors.UnknownMethod, match="nope.nothing"):
        await c.call("nope.nothing")
    assert (await c.call("engine.ping"))["pong"] is True


async def test_bad_params_get_bad_request(connect):
    c = await connect()
    with pytest.raises(errors.BadRequest, match="`seconds` must be"):
        await c.call("engine.sleep", {"seconds": -3})
    with pytest.raises(errors.BadRequest, match="params"):
        await c.call("engine.sleep", [1, 2])  # type: ignore[arg-type]


async def test_a_failing_job_reports_an_error_without_killing_the_engine(connect):
    c = await connect()
    with pytest.raises(errors.EngineError, match="deliberate failure"):
        await c.call("test.boom")
    assert (await c.call("test.square", {"x": 3}))["square"] == 9


async def raw_exchange(path, *lines: bytes) -> list[dict]:
    r, w = await asyncio.open_unix_connection(str(path))
    w.write(P.encode({"type": "hello", "v": P.PROTOCOL_VERSION}))
    for line in lines:
        w.write(line)
    await w.drain()
    out = []
    for _ in range(1 + len(lines)):
        out.append(json.loads(await asyncio.wait_for(r.readline(), WAIT_S)))
    w.close()
    return out


async def test_malformed_messages_get_protocol_errors(server):
    welcome, not_json, not_obj, no_id, bad_type = await raw_exchange(
        server.socket_path, b"{this is not json\n", b"[1,2]\n",
        P.encode({"type": "request", "method": "engine.ping"}),
        P.encode({"type": "launch", "id": 1}))
    assert welcome["type"] == "welcome"
    assert not_json["error"]["code"] == "protocol_error" and "not JSON" in not_json["error"]["message"]
    assert not_obj["error"]["code"] == "protocol_error"
    assert no_id["error"]["code"] == "bad_request" and "id" in no_id["error"]["message"]
    assert bad_type["error"]["code"] == "protocol_error"


async def test_wrong_protocol_version_is_refused(server):
    r, w = await asyncio.open_unix_connection(str(server.socket_path))
    w.write(P.encode({"type": "hello", "v": 99}))
    await w.drain()
    msg = json.loads(await asyncio.wait_for(r.readline(), WAIT_S))
    assert msg["type"] == "error" and "version 99" in msg["error"]["message"]
    w.close()


async def test_cancel_running_and_queued_jobs(connect):
    c = await connect()
    progressed = asyncio.Event()
    running = await c.start("engine.sleep", {"seconds": 30, "steps": 300},
                            on_progress=lambda msg: progressed.set())
    queued = await c.start("engine.sleep", {"seconds": 30, "steps": 300})
    await asyncio.wait_for(progressed.wait(), WAIT_S)  # the first one runs
    await queued.cancel()
    await running.cancel()
    for req in (running, queued):
        with pytest.raises(errors.JobCancelled):
            await asyncio.wait_for(req.result(), WAIT_S)
    assert (await c.call("engine.status"))["jobs"] == []


async def test_a_queued_job_cancelled_is_answered_at_once_not_after_the_one_ahead(connect):
    """A job waiting behind a long one (a drum interpolation behind a render) is answered
    as cancelled when asked, while the long one runs on."""
    c = await connect()
    progressed = asyncio.Event()
    running = await c.start("engine.sleep", {"seconds": 600, "steps": 6000},
                            on_progress=lambda msg: progressed.set())
    await asyncio.wait_for(progressed.wait(), WAIT_S)
    queued = await c.start("engine.sleep", {"seconds": 1, "steps": 1})
    await queued.cancel()
    with pytest.raises(errors.JobCancelled):
        await asyncio.wait_for(queued.result(), WAIT_S)
    jobs = (await c.call("engine.status"))["jobs"]
    assert [j["state"] for j in jobs] == ["running"]
    await running.cancel()
    with pytest.raises(errors.JobCancelled):
        await asyncio.wait_for(running.result(), WAIT_S)


async def test_results_are_cached_by_content(connect):
    c = await connect()
    before = jobs_for_tests.CALLS["square"]
    a = await c.start("test.square", {"x": 12})
    assert (await a.result())["square"] == 144 and not a.cached
    b = await c.start("test.square", {"x": 12})
    assert (await b.result())["square"] == 144 and b.cached
    assert jobs_for_tests.CALLS["square"] == before + 1


async def test_seeded_methods_record_the_seed_they_used(connect):
    c = await connect()
    req = await c.start("test.seeded")
    first = await req.result()
    assert req.params is not None and req.params["seed"] == first["seed"]
    again = await c.call("test.seeded", {"seed": first["seed"]})
    assert again["draw"] == first["draw"]


async def test_several_clients_and_job_events(connect):
    a, b = await connect("a"), await connect("b")
    snapshots: list[list] = []
    b.on_event = lambda msg, blob: snapshots.append(msg["jobs"]) if msg["event"] == "jobs" else None
    await b.call("engine.subscribe", {"topics": ["jobs"]})
    ra, rb = await asyncio.gather(a.call("engine.sleep", {"seconds": 0.3, "steps": 3}),
                                  b.call("test.square", {"x": 5}))
    assert ra["steps"] == 3 and rb["square"] == 25
    await until(lambda: snapshots and snapshots[-1] == [])  # the list once both are done
    assert any(any(j["method"] == "engine.sleep" for j in snap) for snap in snapshots)
    assert snapshots[-1] == []


async def test_client_dropped_mid_job_is_cancelled_and_others_are_served(connect, server):
    a, b = await connect("a"), await connect("b")
    progressed = asyncio.Event()
    await a.start("engine.sleep", {"seconds": 30, "steps": 300},
                  on_progress=lambda msg: progressed.set())
    await asyncio.wait_for(progressed.wait(), WAIT_S)  # it runs when its client drops
    await a.close()
    result = await asyncio.wait_for(b.call("engine.sleep", {"seconds": 0.1, "steps": 1}), WAIT_S)
    assert result["steps"] == 1
    assert (await b.call("engine.status"))["jobs"] == []


async def test_tcp_needs_the_token(mag_home):
    with pytest.raises(ValueError, match="token"):
        EngineServer(None, ("127.0.0.1", 0), None)
    before = set(threading.enumerate())
    srv = EngineServer(None, ("127.0.0.1", 0), token="s3cret")
    await srv.start()
    try:
        bad = EngineClient("intruder")
        with pytest.raises(errors.Unauthorized):
            await bad.connect_tcp("127.0.0.1", srv.tcp_port, "wrong")
        good = EngineClient("laptop")
        await good.connect_tcp("127.0.0.1", srv.tcp_port, "s3cret")
        assert (await good.call("engine.ping"))["pong"]
        await good.close()
        r, w = await asyncio.open_connection("127.0.0.1", srv.tcp_port)
        w.write(P.encode({"type": "request", "id": 1, "method": "engine.status"}))
        await w.drain()
        msg = json.loads(await asyncio.wait_for(r.readline(), WAIT_S))
        assert msg["error"]["code"] == "unauthorized"
        w.close()
    finally:
        await close_engine_server(srv, before)


async def test_client_sees_engine_going_away(connect, server):
    c = await connect()
    pending = await c.start("engine.sleep", {"seconds": 30, "steps": 300})
    await server.close()
    with pytest.raises(EngineUnavailable):
        await asyncio.wait_for(pending.result(), WAIT_S)


async def test_light_jobs_do_not_wait_behind_a_model_job(connect):
    c = await connect()
    long = await c.start("engine.sleep", {"seconds": 30, "steps": 300})
    assert (await asyncio.wait_for(c.call("test.light"), 20))["ok"]  # the sleep takes 30 s
    status = await c.call("engine.status")
    assert [j["method"] for j in status["jobs"]] == ["engine.sleep"]
    await long.cancel()
