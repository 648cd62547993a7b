"""Flow control (docs/architecture.md, "Flow control"): while subscribers lag, the broker
stops reading publishers instead of queueing until max_mqueue_len drops acknowledged
messages; a consumer that makes no progress cannot stall the publishers."""

import threading

import pytest

import mqttraw as m

STARLING = pytest.mark.starling_only("flow control is Starling's (mosquitto drops past its queue limit)")


def pipelined_publisher(port, client_id, topic, n):
    """Send n QoS 1 PUBLISHes without waiting for acks (a thread writes, since the broker
    may stop reading); returns (thread, conn). The acks are read by the caller."""
    pub = m.client(port, client_id, 4)
    pub.sock.settimeout(60)  # the write may block while the broker does not read
    data = b"".join(m.publish(topic, b"%d" % i, qos=1, packet_id=i % 65535 + 1)
                    for i in range(n))
    t = threading.Thread(target=pub.send, args=(data,), daemon=True)
    t.start()
    return t, pub


def receive_all(sub, n):
    """Receive (and acknowledge) n QoS 1 PUBLISHes; their payloads as ints, in order."""
    got = []
    while len(got) < n:
        p = sub.recv(30)
        assert p is not None and p.type == m.PUBLISH, "after %d messages: %r" % (len(got), p)
        got.append(int(p.payload))
        sub.send(m.ack(m.PUBACK, p.packet_id))
    return got


def count_acks(pub, n, timeout=30):
    got = 0
    while got < n:
        p = pub.recv(timeout)
        assert p is not None, "only %d of %d PUBACKs" % (got, n)
        assert p.type == m.PUBACK, p
        got += 1
    return got


@STARLING
@pytest.mark.broker_conf({"mqtt.max_mqueue_len": 1000, "mqtt.max_inflight": 10})
def test_slow_subscriber_loses_nothing(mqtt, broker):
    """A publisher that pipelines 20,000 QoS 1 messages to a subscriber slower than it (a
    Python reader, window 10, queue limit 1,000) is slowed down: the subscriber receives
    every message, in order, although the queue limit is a twentieth of the burst."""
    n = 20000
    sub = mqtt("slow-sub", 4)
    sub.subscribe([("flow/t", 1)])
    t, pub = pipelined_publisher(broker.port, "fast-pub", "flow/t", n)
    try:
        assert receive_all(sub, n) == list(range(n))
        count_acks(pub, n)
        t.join(30)
    finally:
        pub.close()


@STARLING
@pytest.mark.broker_conf({"mqtt.max_mqueue_len": 100, "mqtt.max_inflight": 5})
def test_stuck_subscriber_does_not_stall_publishers(mqtt, broker):
    """A subscriber that never reads nor acks makes no progress: after a while it stops
    counting, its queue drops the oldest past max_mqueue_len (EMQX), and the publisher and
    a healthy subscriber go on with every message."""
    n = 3000
    stuck = mqtt("stuck", 4)
    stuck.subscribe([("flow/s", 1)])
    healthy = mqtt("healthy", 4)
    healthy.subscribe([("flow/s", 1)])
    t, pub = pipelined_publisher(broker.port, "pub", "flow/s", n)
    try:
        assert receive_all(healthy, n) == list(range(n))
        count_acks(pub, n)
        t.join(30)
        # the stuck one holds its window plus the newest max_mqueue_len messages
        first = [stuck.expect(m.PUBLISH) for _ in range(5)]
        assert [p.payload for p in first] == [b"%d" % i for i in range(5)]
        for p in first:
            stuck.send(m.ack(m.PUBACK, p.packet_id))
        rest = []
        while True:
            p = stuck.recv(1.0)
            if p is None:
                break
            rest.append(int(p.payload))
            stuck.send(m.ack(m.PUBACK, p.packet_id))
        assert rest == list(range(n - 100, n)), rest[:5]
    finally:
        pub.close()
