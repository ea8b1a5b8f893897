"""The listener benchmark's ssh tunnel helpers, without sshd (CI has none): the reason
given when the tools are missing, and the no-probe listening check it waits on."""

import socket
from pathlib import Path

import pytest

from bench.ssh_tunnel import TunnelUnavailable, find_tools, listening


def test_missing_ssh_tools_are_named_with_the_fix(tmp_path):
    with pytest.raises(TunnelUnavailable) as e:
        find_tools(path=str(tmp_path))
    msg = str(e.value)
    for tool in ("sshd", "ssh", "ssh-keygen"):
        assert tool in msg
    assert "install openssh-server" in msg


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux procfs")
def test_listening_sees_a_loopback_listener_without_connecting():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        assert not listening(port)  # bound, not listening yet
        s.listen()
        assert listening(port)
    assert not listening(port)
