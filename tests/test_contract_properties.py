"""Property test: requests generated from the method declarations, valid and hostile
(wrong types, out of range, NaN, huge lists, deep nesting, bad UTF-8), sent as raw lines to
a real engine process. Every request gets exactly one reply (a result or a typed error),
and `engine.ping` keeps answering after each."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from msgspec import inspect as mi

from engine import api
from tests.conftest import ROOT, _wait_for_socket

# Methods left out: they stop the engine, wait on purpose, or import TensorFlow for nothing.
SKIP = {"engine.shutdown", "engine.sleep", "engine.tf_info"}
NAMES = sorted(n for n in api.DECLARED if n not in SKIP and not n.startswith("test."))
CODES = {"bad_request", "unknown_method", "model_not_installed", "checkpoint_error",
         "bad_input", "output_exists", "playback_unavailable", "cancelled", "engine_error",
         "protocol_error"}

junk = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=8),
                 st.floats(allow_nan=False, allow_infinity=False),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def value_for(t) -> st.SearchStrategy:
    """Mostly valid values for a declared type, sometimes not."""
    if isinstance(t, mi.Metadata):
        return value_for(t.type)
    if isinstance(t, mi.UnionType):
        return st.one_of([value_for(u) for u in t.types])
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.IntType):
        lo = t.ge if t.ge is not None else -1000
        hi = t.le if t.le is not None else 1000
        return st.integers(lo - 2, hi + 2)
    if isinstance(t, mi.FloatType):
        lo = t.ge if t.ge is not None else (t.gt if t.gt is not None else -1e3)
        hi = t.le if t.le is not None else (t.lt if t.lt is not None else 1e3)
        return st.floats(lo - 1, hi + 1, allow_nan=False, allow_infinity=False)
    if isinstance(t, mi.StrType):
        return st.one_of(st.sampled_from(["", "x", "../x", "/nonexistent/a.wav", "/dev/zero",
                                          "PCM_16", "a" * 300]), st.text(max_size=12))
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(list(t.values))
    if isinstance(t, (mi.ListType, mi.TupleType, mi.VarTupleType)):
        if isinstance(t, mi.TupleType):
            return st.tuples(*[value_for(x) for x in t.item_types]).map(list)
        hi = min(t.max_length or 4, 12)
        return st.lists(value_for(t.item_type), min_size=0, max_size=hi)
    if isinstance(t, mi.StructType):
        return st.fixed_dictionaries({}, optional={f.name: value_for(f.type) for f in t.fields})
    if isinstance(t, mi.DictType):
        return st.dictionaries(st.text(max_size=4), junk, max_size=3)
    return junk


def params_for(name: str) -> st.SearchStrategy:
    info = mi.type_info(api.DECLARED[name].params)
    fields = {f.name: st.one_of(value_for(f.type), junk) for f in info.fields}
    return st.fixed_dictionaries({}, optional=fields)


IDS = iter(range(10**9))


@st.composite
def request_lines(draw) -> tuple[str, bytes]:
    rid = "RID"  # made unique per request by the test
    name = draw(st.sampled_from(NAMES + ["no.such_method"]))
    params = draw(params_for(name)) if name in api.DECLARED else {}
    line = json.dumps({"type": "request", "id": rid, "method": name, "params": params}).encode()
    hostile = draw(st.sampled_from(["none", "none", "nan", "deep", "bytes", "huge"]))
    if hostile == "nan":
        line = line[:-2] + b',"zz":NaN}}' if line.endswith(b"}}") else line
    elif hostile == "deep":
        line = line[:-2] + b',"zz":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    elif hostile == "bytes":
        line = line.replace(b'"x"', b'"\xff\xfe"')
    elif hostile == "huge":
        line = line[:-2] + b',"zz":[' + b"1," * 50_000 + b"1]}}"
    return rid, line + b"\n"


class Conn:
    def __init__(self, path) -> None:
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(180)  # only a hang reaches this
        self.s.connect(str(path))
        self.buf = b""
        self.terminal: dict[str, int] = {}

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def read(self) -> dict:
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 16)
            assert chunk, "the engine closed the connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        msg = msgspec.json.decode(line)
        if msg.get("nbytes"):
            while len(self.buf) < msg["nbytes"]:
                self.buf += self.s.recv(1 << 16)
            self.buf = self.buf[msg["nbytes"]:]
        if msg["type"] in ("result", "error"):
            self.terminal[msg.get("id")] = self.terminal.get(msg.get("id"), 0) + 1
        return msg

    def until(self, rid: str) -> dict:
        while True:
            msg = self.read()
            if msg.get("id") == rid and msg["type"] in ("result", "error"):
                return msg


@pytest.fixture(scope="module")
def engine_conn(tmp_path_factory):
    import tempfile
    home = tempfile.mkdtemp(prefix="msp", dir="/tmp")
    work = tmp_path_factory.mktemp("cwd")
    env = {**os.environ, "MAGSTATION_HOME": home, "PYTHONPATH": str(ROOT),
           "MAGSTATION_PLAYBACK": "null"}
    proc = subprocess.Popen([sys.executable, "-m", "engine"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    sock = os.path.join(home, "engine.sock")
    from pathlib import Path
    _wait_for_socket(Path(sock), proc)
    conn = Conn(sock)
    yield conn
    proc.kill()
    proc.wait(timeout=30)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(req=request_lines())
def test_every_request_gets_exactly_one_reply_and_ping_keeps_answering(engine_conn, req):
    _, line = req
    rid = f"r{next(IDS)}"
    c = engine_conn
    c.send(line.replace(b'"RID"', json.dumps(rid).encode(), 1))
    reply = c.until(rid)
    if reply["type"] == "error":
        assert reply["error"]["code"] in CODES, reply
        assert reply["error"]["message"]
    c.send(json.dumps({"type": "request", "id": f"ping-{rid}", "method": "engine.ping"}).encode() + b"\n")
    assert c.until(f"ping-{rid}")["result"]["pong"] is True
    assert all(n == 1 for n in c.terminal.values()), {k: v for k, v in c.terminal.items() if v != 1}
