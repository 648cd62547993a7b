"""Many MQTT clients from one process without a thread each: non-blocking sockets on epoll,
packets written whole and read with a small parser. Used by the reconnect storm test
(test_cluster_storm.py), in a few processes (each process's descriptor limit caps it)."""

import random
import selectors
import socket
import struct
import time

import mqttraw as m


class Client:
    __slots__ = ("cid", "sock", "buf", "out", "got", "host", "port")

    def __init__(self, cid):
        self.cid, self.sock, self.buf, self.out, self.got = cid, None, b"", b"", []


def _packets(c):
    """Complete packets in c.buf: (type, body); the rest stays."""
    out = []
    while len(c.buf) >= 2:
        n, mul, i = 0, 1, 1
        while True:
            if i >= len(c.buf):
                return out
            b = c.buf[i]
            n += (b & 0x7F) * mul
            mul *= 128
            i += 1
            if not b & 0x80:
                break
        if len(c.buf) < i + n:
            return out
        out.append((c.buf[0], c.buf[i:i + n]))
        c.buf = c.buf[i + n:]
    return out


def run(clients, start, done, timeout):
    """Open a connection for each client to (c.host, c.port), send start(c), and feed every
    packet to done(c, first_byte, body) until it returns True (then the client is finished,
    its socket kept open) or the timeout. Returns the clients that did not finish."""
    for c in clients:
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.connect_ex((c.host, c.port))
        c.out, c.buf = start(c), b""
    return run_existing(clients, done, timeout)


def run_existing(clients, done, timeout):
    """As run(), on the clients' open sockets (c.out: what to send first)."""
    sel = selectors.DefaultSelector()
    pending = set()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_WRITE if c.out else selectors.EVENT_READ, c)
        pending.add(c)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if ev & selectors.EVENT_WRITE and c.out:
                try:
                    k = c.sock.send(c.out)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    k = 0
                    c.out = b""
                c.out = c.out[k:]
                if not c.out:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:  # closed: it stays pending (a failure for the caller)
                sel.unregister(c.sock)
                continue
            c.buf += data
            for first, body in _packets(c):
                if done(c, first, body):
                    sel.unregister(c.sock)
                    pending.discard(c)
                    break
    for c in pending:
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
    sel.close()
    return pending


def reset(c):
    """Close with a reset (no DISCONNECT, no TIME_WAIT): the network went away."""
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.sock.close()
    c.sock = None


def connect_packet(cid):
    return m.connect(cid, version=5, clean=False, properties={"session_expiry": 600})


def pick(nodes, rng=random):
    return rng.choice(nodes)
