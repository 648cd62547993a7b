"""Ports for brokers the tests and benchmarks start (shared by conftest.py and
bench/compare.py)."""

import random
import socket

_handed_out = set()


def free_port():
    """A port free now, not handed out before in this run (two ports picked before either
    is bound, a node's MQTT and API ports, must differ), and below the kernel's ephemeral
    range, so that no outgoing connection (a client, a cluster link from that address) can
    take it before the broker binds it."""
    lo = 20000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            hi = int(f.read().split()[0]) - 1
    except (OSError, ValueError, IndexError):
        hi = 32767
    if hi - lo < 1000:
        lo = max(1024, hi - 8000)
    while True:
        port = random.randint(lo, hi)
        if port in _handed_out:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
