"""Audition latency to a remote listener: from sending `audio.play` to the engine until
the listener's playback backend holds the samples, over a loopback TCP connection to a
real engine process (and through an `ssh -L` tunnel when `ssh localhost` works).

    python -m bench.listen_bench --repeats N
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time

from bench.common import emit, percentile, stats
from bench.engine_proc import EngineProcess, free_port

TOKEN = "bench-token"


def ssh_works() -> bool:
    try:
        return subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
                               "-o", "StrictHostKeyChecking=no", "localhost", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


async def latencies(engine: EngineProcess, port: int, wav: str, repeats: int) -> list[float]:
    from engine.audio.playback import NullBackend
    from engine.client import EngineClient
    from engine.listener import Endpoint, Listener

    listener = Listener(Endpoint(port=port, token=TOKEN), NullBackend())
    task = asyncio.create_task(listener.run())
    ctl = EngineClient("bench")
    await ctl.connect_unix(engine.socket)
    while listener.connections < 1:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # subscribed
    out = []
    for i in range(repeats + 2):  # the first two are warm-up
        before = len(listener.backend.played)
        t0 = time.monotonic()  # NullBackend stamps what it receives with time.monotonic
        await ctl.call("audio.play", {"path": wav})
        while len(listener.backend.played) == before:
            await asyncio.sleep(0.0005)
        if i >= 2:
            out.append(listener.backend.played[-1].time - t0)
        await ctl.call("audio.stop")
        await asyncio.sleep(0.05)
    listener.stop()
    await ctl.close()
    await asyncio.wait_for(task, 10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    import numpy as np
    import soundfile as sf

    port = free_port()
    r: dict = {}
    with EngineProcess("--tcp", f"127.0.0.1:{port}", "--token", TOKEN) as engine:
        wav = str(engine.home / "tone.wav")
        t = np.arange(32000) / 16000
        sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000,
                 subtype="FLOAT")  # 2 s, 128 KB of samples on the wire
        lat = asyncio.run(latencies(engine, port, wav, args.repeats))
        r["listen.tcp"] = {**stats(lat), "p95": percentile(lat, 95)}
        if ssh_works():
            local = free_port()
            tunnel = subprocess.Popen(["ssh", "-N", "-o", "BatchMode=yes", "-L",
                                       f"{local}:127.0.0.1:{port}", "localhost"])
            try:
                time.sleep(2)
                lat = asyncio.run(latencies(engine, local, wav, args.repeats))
                r["listen.ssh"] = {**stats(lat), "p95": percentile(lat, 95)}
            finally:
                tunnel.terminate()
                tunnel.wait(timeout=10)
        else:
            r["listen.ssh_note"] = "ssh localhost does not work on this machine: no tunnel measured"
    emit(r)


if __name__ == "__main__":
    main()
