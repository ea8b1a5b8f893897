"""Audition latency to a remote listener: from sending `audio.play` to a real engine
process until a `magstation listen` Listener's backend holds the samples. Two routes in
the same run, taking turns: plain loopback TCP to the engine's port, and a real `ssh -N -L`
tunnel to that port through a private sshd on 127.0.0.1 (bench/ssh_tunnel.py), as a user
on a laptop reaches a GPU server. Without sshd/ssh the note says why and only TCP is
measured.

    python -m bench.listen_bench --repeats N
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from typing import NoReturn

from bench.common import emit, percentile, stats
from bench.engine_proc import EngineProcess, free_port
from bench.ssh_tunnel import TunnelUnavailable, ssh_tunnel

TOKEN = "bench-token"
WARMUP = 2  # plays per listener connection before the clock
ROUNDS = 4  # the routes take turns this many times (both see the same load)


async def latencies(engine: EngineProcess, port: int, wav: str, repeats: int) -> list[float]:
    """`repeats` timed plays to a new Listener connected to 127.0.0.1:port."""
    from engine.audio.playback import NullBackend
    from engine.client import EngineClient
    from engine.listener import Endpoint, Listener

    listener = Listener(Endpoint(port=port, token=TOKEN), NullBackend())
    task = asyncio.create_task(listener.run())
    ctl = EngineClient("bench")
    await ctl.connect_unix(engine.socket)
    out: list[float] = []
    try:
        deadline = time.monotonic() + 30
        while listener.connections < 1:  # counted once subscribed to audio
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError(f"the listener did not connect to port {port}: "
                                   f"{listener.failure or 'timed out'}")
            await asyncio.sleep(0.01)
        for i in range(repeats + WARMUP):
            before = len(listener.backend.played)
            t0 = time.monotonic()  # NullBackend stamps what it receives with time.monotonic
            await ctl.call("audio.play", {"path": wav})
            while len(listener.backend.played) == before:
                await asyncio.sleep(0.0005)
            if i >= WARMUP:
                out.append(listener.backend.played[-1].time - t0)
            await ctl.call("audio.stop")
            await asyncio.sleep(0.05)
    finally:
        listener.stop()
        await ctl.close()
        await asyncio.wait_for(task, 10)
    return out


async def paired(engine: EngineProcess, tcp_port: int, ssh_port: int, wav: str,
                 repeats: int) -> list[float]:
    """Both routes listening at once: per play, the tunnel's arrival minus the direct
    one's. Load on the engine and the control path cancels out; what is left is what the
    tunnel adds (ssh and sshd's CPU included). TCP connects first, so the engine's fan-out
    order, if any, favours TCP: the number errs against ssh."""
    from engine.audio.playback import NullBackend
    from engine.client import EngineClient
    from engine.listener import Endpoint, Listener

    listeners = [Listener(Endpoint(port=p, token=TOKEN), NullBackend())
                 for p in (tcp_port, ssh_port)]
    tasks: list[asyncio.Task] = []
    ctl = EngineClient("bench")
    await ctl.connect_unix(engine.socket)
    out: list[float] = []
    try:
        for lis in listeners:
            tasks.append(asyncio.create_task(lis.run()))
            deadline = time.monotonic() + 30
            while lis.connections < 1:
                if tasks[-1].done() or time.monotonic() > deadline:
                    raise RuntimeError(f"a listener did not connect: {lis.failure or 'timed out'}")
                await asyncio.sleep(0.01)
        tcp, ssh = (lis.backend.played for lis in listeners)
        for i in range(repeats + WARMUP):
            before = (len(tcp), len(ssh))
            await ctl.call("audio.play", {"path": wav})
            while len(tcp) == before[0] or len(ssh) == before[1]:
                await asyncio.sleep(0.0005)
            if i >= WARMUP:
                out.append(ssh[-1].time - tcp[-1].time)
            await ctl.call("audio.stop")
            await asyncio.sleep(0.05)
    finally:
        for lis in listeners:
            lis.stop()
        await ctl.close()
        for t in tasks:
            await asyncio.wait_for(t, 10)
    return out


def summary(lat: list[float]) -> dict:
    return {**stats(lat), "p95": percentile(lat, 95)}


def _terminate(signum: int, frame: object) -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
    raise SystemExit(128 + signum)  # so every `finally` below stops what it started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    import numpy as np
    import soundfile as sf

    per_round = max(1, args.repeats // ROUNDS)
    port = free_port()
    r: dict = {}
    with contextlib.ExitStack() as stack:
        engine = stack.enter_context(EngineProcess("--tcp", f"127.0.0.1:{port}", "--token", TOKEN))
        wav = str(engine.home / "tone.wav")
        t = np.arange(32000) / 16000
        sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000,
                 subtype="FLOAT")  # 2 s, 128 KB of samples on the wire
        routes = {"listen.tcp": port}
        try:
            tunnel = stack.enter_context(ssh_tunnel(port, free_port(), free_port()))
            routes["listen.ssh"] = tunnel.local_port
            r["listen.ssh_setup"] = tunnel.setup_s
            r["listen.ssh_note"] = (
                f"ssh -N -L through a private sshd on 127.0.0.1 (own config and keys, "
                f"ed25519), set up in {tunnel.setup_s:.2f} s"
                + ("; /run/sshd made for the run" if tunnel.privsep_made else ""))
        except TunnelUnavailable as e:
            r["listen.ssh_note"] = f"no ssh tunnel measured: {e}"
        lat: dict[str, list[float]] = {k: [] for k in routes}
        for _ in range(ROUNDS):
            for key, p in routes.items():
                lat[key] += asyncio.run(latencies(engine, p, wav, per_round))
        for key, samples in lat.items():
            r[key] = summary(samples)
        if "listen.ssh" in routes:
            r["listen.ssh_extra"] = summary(asyncio.run(
                paired(engine, port, routes["listen.ssh"], wav, args.repeats)))
    emit(r)


if __name__ == "__main__":
    main()
