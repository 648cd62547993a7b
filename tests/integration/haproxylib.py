"""A real haproxy (Debian's package) in TCP mode in front of brokers, for tests."""

import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_port


def start_haproxy(tmp_path, bind_host, backend):
    """haproxy listening on bind_host:<free port> with this backend section (its `server`
    lines included); returns (process, port). Skips the test when haproxy is missing."""
    if not shutil.which("haproxy"):
        print("skipped: haproxy is not installed (scripts/deps.sh installs it)")
        pytest.skip("haproxy is not installed")
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text("""global
    maxconn 2000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend mqtt
    bind %s:%d
    default_backend brokers
backend brokers
%s
""" % (bind_host, port, backend))
    p = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((bind_host, port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and p.poll() is None, "haproxy did not start"
            time.sleep(0.05)
    return p, port


def stop_haproxy(p):
    p.terminate()
    p.wait(timeout=5)
