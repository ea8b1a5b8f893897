"""The recorded engine link (tests/recorded_link.py): the recordings are still what the
real engine says, and a replay fails loudly on a request it has no answer for."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.client import EngineClient
from engine.errors import EngineError
from tests.recorded_link import (RECORDINGS, Recording, ReplayClient, map_strings, local,
                                 portable)


def shape(value: Any) -> Any:
    """The structure of a reply without its values: keys, nesting and kinds of leaves."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def same_jobs(value: Any) -> Any:
    return map_strings(value, lambda s: re.sub(r"/jobs/j\d+/", "/jobs/j#/", s))


def flow(replies: list[dict[str, Any]]) -> list[str]:
    """The kinds of messages a request got, repeats folded (progress counts vary)."""
    kinds: list[str] = []
    for m in replies:
        if not kinds or kinds[-1] != m["type"]:
            kinds.append(m["type"])
    return kinds


def recorded(name: str, method: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first recorded `method` of recording `name`: params as the engine ran them
    (a drawn seed filled in, so the engine's answer is the same one), and its replies."""
    rec = Recording.load(RECORDINGS / f"{name}.jsonl")
    x = next(x for x in rec.exchanges if x.method == method)
    accepted = next((m for m in x.replies if m["type"] == "accepted"), None)
    return (accepted["params"] if accepted else x.params), x.replies


@pytest.mark.parametrize("name,method", [("drums_humanized", "drums.sample"),
                                         ("timeline_continued", "melody.continue")])
async def test_recording_is_still_what_the_engine_says(engine_process, mag_home, name, method):
    params, replies = recorded(name, method)
    engine_process()
    client = EngineClient("truth")
    await client.connect_unix(mag_home / "engine.sock")
    got: list[dict[str, Any]] = []
    try:
        req = await client.start(method, local(params, mag_home), got.append)
        result = await req.result()
    finally:
        await client.close()
    want = next(m for m in replies if m["type"] == "result")["result"]
    assert shape(result) == shape(local(want, mag_home)), \
        f"{method} answers differently from tests/fixtures/recorded/{name}.jsonl: re-record " \
        "with python -m tests.reference.record_engine_sessions"
    if "progress" in flow(replies):
        assert got, f"{method} no longer reports progress, as recorded"
    # the same seed and checkpoint: the same answer, not only the same shape (job folders
    # are numbered by the engine's queue, so only their number may differ)
    assert same_jobs(portable(result, mag_home)) == same_jobs(want)


async def test_a_request_not_in_the_recording_fails_loudly(mag_home):
    rec = Recording.load(RECORDINGS / "drums_humanized.jsonl")
    client = ReplayClient(rec, mag_home)
    listed = await (await client.start("library.list", {"folder": "", "limit": 5000, "tag": "",
                                                        "text": ""})).result()
    assert "sounds" in listed
    with pytest.raises(EngineError, match="not in the recording"):
        await (await client.start("drums.sample", {"seed": -1})).result()
    assert client.unmatched == [("drums.sample", {"seed": -1})]
