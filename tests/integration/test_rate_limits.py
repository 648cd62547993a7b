"""A listener's per-client rate limits, messages_rate and bytes_rate (EMQX's keys,
docs/security.md §5): past the rate the client's socket is not read until its bucket
refills, so a fast publisher is slowed, not disconnected, and nothing it sent is lost."""

import subprocess
import time

import pytest

import mqttraw as m
from clusterlib import wait_log

pytestmark = pytest.mark.starling_only("listeners' messages_rate and bytes_rate")


def flood(broker, n, payload):
    """A subscriber, then a 3.1.1 publisher that writes n QoS 1 PUBLISHes in one go.
    Returns (seconds from the write to the last delivery, payloads delivered, publisher)."""
    sub = m.Conn(broker.port, 5)
    assert sub.connect("rate-sub").reason == 0
    assert sub.subscribe([("rate/t", m.subopts(1))]).reasons == [1]
    pub = m.Conn(broker.port, 4)
    assert pub.connect("rate-pub", keepalive=2).reason == 0
    data = b"".join(m.publish("rate/t", b"%05d" % i + payload, qos=1, packet_id=i + 1)
                    for i in range(n))
    start = time.monotonic()
    pub.send(data)
    got = [sub.expect_publish(timeout=60).payload[:5] for _ in range(n)]
    elapsed = time.monotonic() - start
    sub.close()
    return elapsed, got, pub


def all_acked(pub, n):
    acks = [pub.expect(m.PUBACK, timeout=30).packet_id for _ in range(n)]
    assert acks == list(range(1, n + 1))
    pub.send(m.pingreq())  # still connected, and read again
    assert pub.expect(m.PINGRESP, timeout=10)


@pytest.mark.broker_conf({"listeners.tcp.default.messages_rate": "20/s"})
def test_messages_rate_slows_a_publisher_and_loses_nothing(broker):
    """100 PUBLISHes at once, 20/s allowed (a burst of 20, then 20 a second): all of them
    arrive, in order, no sooner than the rate allows (80 past the burst: 4 s; load can
    only make it slower), every one is acknowledged, and the publisher stays connected
    although its keep alive (2 s) passed while it was not read."""
    elapsed, got, pub = flood(broker, 100, b"")
    assert got == [b"%05d" % i for i in range(100)]
    assert elapsed >= 3.5, elapsed
    all_acked(pub, 100)
    wait_log(broker, "listener default's messages_rate reached")
    assert broker.log().count("messages_rate reached") == 1  # once per client


@pytest.mark.broker_conf({"listeners.tcp.default.bytes_rate": "10KB/s"})
def test_bytes_rate_slows_a_publisher_and_loses_nothing(broker):
    """20 PUBLISHes of 2 KB, 10 KB/s allowed: 40 KB past a 10 KB burst takes 3 s at least."""
    elapsed, got, pub = flood(broker, 20, b"x" * 2048)
    assert got == [b"%05d" % i for i in range(20)]
    assert elapsed >= 2.5, elapsed
    all_acked(pub, 20)
    wait_log(broker, "listener default's bytes_rate reached")


@pytest.mark.broker_conf({"listeners.tcp.default.messages_rate": "1000/s"})
def test_under_its_rate_a_client_is_never_held(broker):
    """Ten messages against a 1,000/s limit: delivered, and the limit was never reached."""
    elapsed, got, pub = flood(broker, 10, b"")
    assert got == [b"%05d" % i for i in range(10)]
    all_acked(pub, 10)
    assert "rate reached" not in broker.log()


@pytest.mark.parametrize("key,value", [("messages_rate", "lots"), ("bytes_rate", "1XB/s"),
                                       ("messages_rate", "0/s")])
def test_a_bad_rate_stops_the_node(broker_factory, key, value):
    b = broker_factory({"listeners.tcp.default." + key: value})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert 'listeners.tcp.default.%s: "%s": expected infinity or a rate' % (key, value) in \
        p.stdout + p.stderr, p.stdout + p.stderr
