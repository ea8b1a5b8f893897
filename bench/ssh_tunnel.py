"""A real `ssh -L` tunnel on this machine, for the listener benchmark: a private sshd on
127.0.0.1 (a free port, its own config, host key and authorized key, all in a temp dir
made for the run) and `ssh -N -L` to it, as a user on a laptop runs it to a GPU server.

Nothing of the system's ssh set-up is read or changed: both sides get `-f`/`-F` files of
their own, and no service is started. The one exception: sshd run as root needs its
privilege-separation directory (/run/sshd, normally made by the service at boot); when
it is missing it is made for the run and removed after.

Every process started here is stopped on exit (by its pid and process group), and also
dies with the process that started it (Linux parent-death signal), so a benchmark killed
by a timeout leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bench.common import die_with_parent

PRIVSEP_DIR = Path("/run/sshd")
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class TunnelUnavailable(Exception):
    """Why no tunnel could be made here (no sshd, sshd refused to start, ...)."""


def find_tools(path: str | None = None) -> tuple[str, str, str]:
    """(sshd, ssh, ssh-keygen) as absolute paths (sshd re-executes itself by its path),
    looked up in `path` (default: $PATH and the sbin directories)."""
    if os.environ.get("MAGSTATION_BENCH_NO_SSH"):
        raise TunnelUnavailable("MAGSTATION_BENCH_NO_SSH is set")
    if path is None:
        path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN)
    found = {name: shutil.which(name, path=path) for name in ("sshd", "ssh", "ssh-keygen")}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        raise TunnelUnavailable(
            f"no {' or '.join(missing)} on this machine (install openssh-server and "
            "openssh-client)")
    return found["sshd"], found["ssh"], found["ssh-keygen"]  # type: ignore[return-value]


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port, read from /proc/net/tcp (no connection
    is made: a probe through the tunnel would reach the engine)."""
    want = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return True  # no procfs: the listener's own retries cover the gap
    return any(f[1] == want and f[3] == "0A" for f in (ln.split() for ln in lines))


@dataclass
class _Proc:
    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-4:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # its own group (start_new_session)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        else:
            # sshd's per-connection children may outlive a dead listener process
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)


@dataclass
class Tunnel:
    local_port: int          # connect here (the laptop's end)
    sshd_port: int
    setup_s: float           # sshd start to the forwarding port listening
    privsep_made: bool       # /run/sshd was made for this run
    procs: list[_Proc] = field(default_factory=list)


def _start(name: str, argv: list[str], log: Path) -> _Proc:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)
    return _Proc(name, proc, log)


def _wait(p: _Proc, ready, what: str, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        if p.proc.poll() is not None:
            raise TunnelUnavailable(f"{p.name} exited with {p.proc.returncode} before {what}: "
                                    f"{p.tail()}")
        time.sleep(0.02)
    raise TunnelUnavailable(f"{p.name} did not get to {what} in {timeout:g} s: {p.tail()}")


def _config(tmp: Path, port: int, user: str) -> Path:
    conf = tmp / "sshd_config"
    conf.write_text("\n".join([
        "ListenAddress 127.0.0.1",
        f"Port {port}",
        f"HostKey {tmp / 'host_key'}",
        f"PidFile {tmp / 'sshd.pid'}",
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
        f"AllowUsers {user}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the keys live in a temp dir, not ~/.ssh
        "PermitRootLogin prohibit-password",
        "AllowTcpForwarding local",
        "PermitTTY no",
        "X11Forwarding no",
        "AllowAgentForwarding no",
        "PrintMotd no",
        "LogLevel INFO",
        "",
    ]))
    return conf


@contextlib.contextmanager
def ssh_tunnel(target_port: int, sshd_port: int, local_port: int) -> Iterator[Tunnel]:
    """sshd on 127.0.0.1:sshd_port and `ssh -N -L 127.0.0.1:local_port:127.0.0.1:target_port`
    through it. Raises TunnelUnavailable (with the reason) when it cannot be made."""
    sshd, ssh, keygen = find_tools()
    user = pwd.getpwuid(os.getuid()).pw_name
    tmp = Path(tempfile.mkdtemp(prefix="msssh"))
    tmp.chmod(0o700)
    privsep_made = False
    procs: list[_Proc] = []
    try:
        for key in ("host_key", "client_key"):
            r = subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C",
                                f"magstation-bench-{key}", "-f", str(tmp / key)],
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                raise TunnelUnavailable(f"ssh-keygen failed: {r.stderr.strip()}")
        shutil.copy(tmp / "client_key.pub", tmp / "authorized_keys")
        host_pub = (tmp / "host_key.pub").read_text().split()
        (tmp / "known_hosts").write_text(f"[127.0.0.1]:{sshd_port} {host_pub[0]} {host_pub[1]}\n")
        conf = _config(tmp, sshd_port, user)
        if os.geteuid() == 0 and not PRIVSEP_DIR.exists():
            PRIVSEP_DIR.mkdir(mode=0o755)
            privsep_made = True
        r = subprocess.run([sshd, "-t", "-f", str(conf)], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise TunnelUnavailable(f"sshd rejects the run's config: {r.stderr.strip()}")

        t0 = time.monotonic()
        server = _start("sshd", [sshd, "-D", "-e", "-f", str(conf)], tmp / "sshd.log")
        procs.append(server)
        _wait(server, lambda: "Server listening" in server.log.read_text(errors="replace"),
              "listening")
        client = _start("ssh", [
            ssh, "-N", "-F", "/dev/null", "-i", str(tmp / "client_key"),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={tmp / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
            "-o", "ExitOnForwardFailure=yes", "-o", "ConnectTimeout=10",
            "-p", str(sshd_port), "-L", f"127.0.0.1:{local_port}:127.0.0.1:{target_port}",
            f"{user}@127.0.0.1"], tmp / "ssh.log")
        procs.append(client)
        try:
            _wait(client, lambda: listening(local_port), "forwarding")
        except TunnelUnavailable as e:
            raise TunnelUnavailable(f"{e}; sshd said: {server.tail()}") from None
        yield Tunnel(local_port, sshd_port, time.monotonic() - t0, privsep_made, procs)
    finally:
        for p in reversed(procs):  # the client first, then sshd and its children
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if privsep_made:
            with contextlib.suppress(OSError):
                PRIVSEP_DIR.rmdir()
