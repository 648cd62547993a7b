"""A connection the broker ends with a reason is closed lingeringly (net/linger.h): the
client, still writing, reads the DISCONNECT (or the refusing CONNACK) and then an orderly
end of stream, never a reset that destroys the reason and breaks its writes."""

import threading

import pytest

import mqttraw as m

STARLING = pytest.mark.starling_only("Starling's lingering close")


def keep_writing(c, packets, chunks):
    """Write chunks of packets from a thread; returns (thread, errors)."""
    errors = []
    data = b"".join(packets)

    def run():
        try:
            for _ in range(chunks):
                c.send(data)
        except OSError as e:
            errors.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def read_until_disconnect(c):
    """Packets up to and including the DISCONNECT; a reset fails the test."""
    seen = []
    while True:
        p = c.recv(10)
        assert p is not None, "no DISCONNECT after %d packets" % len(seen)
        seen.append(p)
        if p.type == m.DISCONNECT:
            return p, seen


@STARLING
@pytest.mark.broker_conf({"mqtt.max_awaiting_rel": 2})
def test_disconnect_reason_reaches_a_client_that_keeps_writing(mqtt, assert_alive):
    """A v5 client floods QoS 2 PUBLISHes without waiting (about 100 KB, written on after
    the limit is crossed): it gets DISCONNECT 0x93, every write succeeds, then EOF."""
    c = mqtt("flood", 5)
    c.sock.settimeout(10)
    pubs = [m.publish("t", b"x" * 16, qos=2, packet_id=i + 1, version=5) for i in range(100)]
    t, errors = keep_writing(c, pubs, 35)
    p, seen = read_until_disconnect(c)
    assert p.reason == 0x93, p
    t.join(10)
    assert not t.is_alive() and errors == [], errors
    c.expect_closed()
    assert_alive()


@STARLING
def test_refused_connect_reason_reaches_a_client_that_keeps_writing(raw, assert_alive):
    """A CONNECT refused (bad client id for 3.1.1 with clean session 0: identifier rejected)
    followed by more packets at once: the client reads the CONNACK with the code."""
    c = raw(4)
    c.sock.settimeout(10)
    flood = [m.publish("t", b"y" * 64, qos=0) for _ in range(200)]
    c.send(m.connect("", version=4, clean=False) + b"".join(flood))
    t, errors = keep_writing(c, flood, 20)
    ack = c.expect(m.CONNACK)
    assert ack.reason == 2, ack  # identifier rejected
    t.join(10)
    assert not t.is_alive() and errors == [], errors
    c.expect_closed()
    assert_alive()
