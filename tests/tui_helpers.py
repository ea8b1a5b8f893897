"""Waiting in the TUI tests: on what the app does, never on how long it usually takes.

Textual's Pilot sends several keys with only a "the process looks idle" check between
them (a CPU-time heuristic). On a busy machine the process looks idle while it is merely
starved, so the next key could reach the old pane before a pane switch or a prompt's focus
had landed. `settle` waits on the message queues themselves: a callback queued behind
everything pending on the app and on every widget of the screen, again until no queue
holds anything. conftest makes Pilot.press settle after every key and Pilot.pause() settle.

`wait_until` and `eventually` wait for a condition; their bound (WAIT_S) is only a safety
net against a real hang, far beyond what the slowest machine needs.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable

WAIT_S = 180.0
SETTLE_ROUNDS = 20  # enough for a key's chain (key → action → tab → focus); an animation never ends


def _pumps(app) -> list[Any]:
    try:
        return [app, *app.screen.walk_children(with_self=True)]
    except Exception:  # noqa: BLE001 - no screen: the app is starting or gone
        return [app]


async def settle(pilot) -> None:
    """Until the app and the widgets of its screen have handled every message that is
    pending, and every message those posted in turn."""
    app = pilot.app
    for _ in range(SETTLE_ROUNDS):
        if not await pilot._wait_for_screen(timeout=WAIT_S):
            return  # the app raised: run_test reports it
        if not any(p.message_queue_size or getattr(p, "_next_callbacks", None) for p in _pumps(app)):
            return


def _describe(predicate: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return repr(predicate)


async def wait_until(pilot, predicate: Callable[[], Any], timeout: float = WAIT_S) -> None:
    """Until `predicate()` holds; it is checked again each time the app has settled."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"condition not reached in {timeout:g} s: {_describe(predicate)}")
        await settle(pilot)
        if predicate():
            return
        await asyncio.sleep(0.02)  # let engine replies and workers run


async def eventually(pilot, probe: Callable[[], Awaitable[Any]], timeout: float = WAIT_S) -> Any:
    """Until the async `probe()` returns something true (an engine call, say); returns it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not (value := await probe()):
        if loop.time() > end:
            raise AssertionError(f"condition not reached in {timeout:g} s: {_describe(probe)}")
        await settle(pilot)
        await asyncio.sleep(0.02)
    return value


async def autosaved(pilot) -> None:
    """Until the autosave tick has written every change made so far."""
    await settle(pilot)
    await wait_until(pilot, lambda: not pilot.app.session.dirty)
