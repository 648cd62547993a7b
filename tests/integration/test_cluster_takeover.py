"""Sessions follow their clients across nodes (docs/cluster.md §10.3): a client with
clean_start = 0 that connects to another node gets session_present = 1, its subscriptions,
its QoS 1/2 messages in flight (sent again with DUP and the same packet ids), what was queued
while it was away, and what was published during the move, in order and once."""

import threading
import time

import pytest

import mqttraw as m
from clusterlib import cluster_info, wait_info, wait_log
from test_cluster_pubsub import three_nodes

pytestmark = pytest.mark.starling_only("Starling's cluster")

TAKEN_OVER = 0x8E
KEEP = {"session_expiry": 300}


def wait_registry(nodes, n, timeout=15):
    for b in nodes:
        wait_info(b, lambda i: i["registry"] == n, "registry of %d" % n, timeout=timeout)


def cli(node, cid, version=5):
    """A clean-start connection to node."""
    c = m.Conn(node.port, version, host=node.host)
    assert c.connect(cid).reason == 0
    return c


def dial(node, cid, version=5, clean=False):
    """A connection for cid (CONNACK accepted); returns it and the CONNACK."""
    c = m.Conn(node.port, version, host=node.host)
    kw = {"clean": clean}
    if version == 5:
        kw["properties"] = KEEP
    ca = c.connect(cid, **kw)
    assert ca.reason == 0, ca
    return c, ca


def test_session_moves_with_inflight_queue_and_subscriptions(broker_factory):
    """dev (MQTT 5) on node 1 has QoS 1 messages in flight (not acked), a QoS 2 message
    whose PUBCOMP is owed, and messages queued while it was away. It connects to node 2:
    session_present = 1; the QoS 2 flow goes on with PUBREL; the unacked messages come again
    with DUP and their packet ids, then the queued ones, in order; and its subscriptions
    work on node 2 for publishers anywhere."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    dev, ca = dial(n1, "dev")
    assert ca.session_present == 0
    assert dev.subscribe([("t/#", m.subopts(1)), ("q2/x", m.subopts(2))]).reasons == [1, 2]
    pub = cli(n3, "pub", 5)
    pub.publish("q2/x", b"two", qos=2)
    p2 = dev.expect(m.PUBLISH)
    assert p2.qos == 2
    dev.send(m.ack(m.PUBREC, p2.packet_id, version=5))
    assert dev.expect(m.PUBREL).packet_id == p2.packet_id  # PUBCOMP never sent
    for i in range(5):
        pub.publish("t/1", b"m%d" % i, qos=1)
    got = [dev.expect(m.PUBLISH) for _ in range(5)]
    assert [p.payload for p in got] == [b"m%d" % i for i in range(5)]
    for p in got[:2]:
        dev.send(m.ack(m.PUBACK, p.packet_id, version=5))
    dev.ping()
    dev.abort()  # gone without DISCONNECT; m2..m4 in flight
    wait_registry([n1, n2, n3], 2)
    for i in range(5, 8):
        pub.publish("t/1", b"m%d" % i, qos=1)  # queued on node 1
    new, ca = dial(n2, "dev")
    assert ca.session_present == 1
    rel = new.expect(m.PUBREL)
    assert rel.packet_id == p2.packet_id
    new.send(m.ack(m.PUBCOMP, rel.packet_id, version=5))
    again = [new.expect(m.PUBLISH) for _ in range(3)]
    assert [(p.payload, p.dup, p.packet_id) for p in again] == \
        [(p.payload, 1, p.packet_id) for p in got[2:]]
    queued = [new.expect(m.PUBLISH) for _ in range(3)]
    assert [(p.payload, p.dup) for p in queued] == [(b"m%d" % i, 0) for i in range(5, 8)]
    for p in again + queued:
        new.send(m.ack(m.PUBACK, p.packet_id, version=5))
    new.expect_nothing()
    # the subscription lives on node 2 now, for publishers on every node, once each
    for src in (n1, n2, n3):
        c = cli(src, "p-" + src.host, 5)
        c.publish("t/9", src.host.encode(), qos=1)
        p = new.expect_publish()
        assert p.payload == src.host.encode() and p.dup == 0
        c.disconnect()
    new.expect_nothing()
    wait_log(n1, r"client dev connected to another node: its session moves there")
    wait_registry([n1, n2, n3], 2)
    new.disconnect()
    pub.disconnect()


def test_old_connection_gets_0x8E_and_a_311_client_moves_too(broker_factory):
    """The old connection, still open, gets DISCONNECT 0x8E (MQTT 5) or is closed (3.1.1);
    a 3.1.1 client's session moves with its queued messages as well."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    old, _ = dial(n1, "v5dev")
    old.subscribe([("a/b", m.subopts(1))])
    wait_registry([n1, n2, n3], 1)
    new, ca = dial(n3, "v5dev")
    assert ca.session_present == 1
    old.expect_disconnect(TAKEN_OVER, timeout=10)
    cli(n2, "pa", 5).publish("a/b", b"x", qos=1)
    assert new.expect_publish().payload == b"x"

    v3, _ = dial(n2, "v3dev", version=4)
    v3.subscribe([("c/d", m.subopts(1))])
    v3.disconnect()
    wait_registry([n1, n2, n3], 2)
    pc = cli(n1, "pc", 4)
    for i in range(3):
        pc.publish("c/d", b"q%d" % i, qos=1)
    v3b, ca = dial(n1, "v3dev", version=4)
    assert ca.session_present == 1
    assert [v3b.expect_publish().payload for _ in range(3)] == [b"q0", b"q1", b"q2"]
    v3c, ca = dial(n3, "v3dev", version=4)  # and on again, while connected
    assert ca.session_present == 1
    v3b.expect_closed(timeout=10)
    pc.publish("c/d", b"q3", qos=1)
    assert v3c.expect_publish().payload == b"q3"


def test_clean_start_discards_the_remote_session(broker_factory):
    """clean_start = 1 on another node: a new session (session_present = 0); the old one's
    subscriptions are gone everywhere."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    old, _ = dial(n1, "cs")
    old.subscribe([("cs/t", m.subopts(1))])
    old.disconnect()
    wait_registry([n1, n2, n3], 1)
    new, ca = dial(n2, "cs", clean=True)
    assert ca.session_present == 0
    new.subscribe([("other", m.subopts(1))])
    wait_log(n1, r"client cs connected to another node: its session here ends")
    p = cli(n3, "pcs", 5)
    deadline = time.monotonic() + 10  # until node 1's withdrawal has reached node 3
    while p.publish("cs/t", b"x", qos=1).reason != 0x10:  # no matching subscribers
        assert time.monotonic() < deadline, "node 1 still routes cs/t"
        time.sleep(0.1)
    new.expect_nothing()


def test_publishing_during_moves_loses_nothing_and_delivers_once(broker_factory):
    """A publisher on node 3 sends numbered QoS 1 messages without pause while the
    subscriber moves node 1 → 2 → 3 → 1 → 2 (each new connection opened while the old one is
    still up). Every acknowledged message arrives; first arrivals are in order; a message
    comes twice only as a DUP resend of one that was in flight."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    sub, _ = dial(n1, "mover")
    sub.subscribe([("seq/#", m.subopts(1))])
    wait_registry([n1, n2, n3], 1)
    acked, stop = [], threading.Event()

    def publish():
        c = cli(n3, "seqpub", 5)
        i = 0
        while not stop.is_set():
            assert c.publish("seq/x", b"%d" % i, qos=1).reason == 0
            acked.append(i)
            i += 1
        c.disconnect()

    th = threading.Thread(target=publish)
    th.start()
    seen, dups = [], []

    def drain(c, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                p = c.recv(timeout=0.2)
            except m.Closed:
                return
            if p is None:
                continue
            if p.type == m.DISCONNECT:
                assert p.reason == TAKEN_OVER
                return
            assert p.type == m.PUBLISH, p
            n = int(p.payload)
            if n in seen:
                assert p.dup == 1, "message %d delivered twice without DUP" % n
                dups.append(n)
            else:
                seen.append(n)
            try:
                c.send(m.ack(m.PUBACK, p.packet_id, version=5))
            except OSError:  # the old connection, closed by the server: sent again later
                return

    try:
        for node in (n2, n3, n1, n2):
            drain(sub, 0.5)
            nxt, ca = dial(node, "mover")
            assert ca.session_present == 1
            drain(sub, 0.3)  # the old one ends with 0x8E (anything it had left comes again)
            sub = nxt
    finally:
        stop.set()
        th.join(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not acked or set(acked) - set(seen)):
        drain(sub, 0.5)
    missing = sorted(set(acked) - set(seen))
    print("published", len(acked), "dup resends", len(dups)); assert len(acked) > 50
    assert not missing, "%d acknowledged messages never arrived: %r" % (len(missing), missing[:20])
    assert seen == sorted(seen), "first arrivals out of order"
    sub.disconnect()


def test_a_thousand_sessions_move_with_their_queues(broker_factory):
    """1,000 persistent clients, each subscribed to its own topic on node 1 and offline with
    two queued QoS 1 messages, reconnect to node 2 (100 at a time): every one gets
    session_present = 1 and both its messages, in order."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    n = 1000
    ids = ["k%04d" % i for i in range(n)]

    def batch(node, group, clean):
        conns = []
        for cid in group:
            c = m.Conn(node.port, 5, host=node.host, timeout=30)
            c.send(m.connect(cid, version=5, clean=clean, properties=KEEP))
            conns.append(c)
        return conns

    for k in range(0, n, 100):
        group = ids[k:k + 100]
        conns = batch(n1, group, True)
        for cid, c in zip(group, conns):
            assert c.expect(m.CONNACK, timeout=30).reason == 0
            c.send(m.subscribe(1, [("k/" + cid, m.subopts(1))], version=5))
        for c in conns:
            assert c.expect(m.SUBACK, timeout=30).reasons == [1]
            c.disconnect()
    pub = cli(n3, "kpub")
    wait_registry([n1, n2, n3], n + 1, timeout=60)
    for r in range(2):
        for cid in ids:
            assert pub.publish("k/" + cid, b"%s-%d" % (cid.encode(), r), qos=1).reason == 0
    present = delivered = 0
    for k in range(0, n, 100):
        group = ids[k:k + 100]
        conns = batch(n2, group, False)
        for cid, c in zip(group, conns):
            ca = c.expect(m.CONNACK, timeout=30)
            present += ca.reason == 0 and ca.session_present == 1
            got = [c.expect_publish(timeout=30).payload for _ in range(2)]
            assert got == [b"%s-0" % cid.encode(), b"%s-1" % cid.encode()], (cid, got)
            delivered += 2
        for c in conns:
            c.disconnect()
    assert (present, delivered) == (n, 2 * n)
    wait_registry([n1, n2, n3], n + 1, timeout=60)
    assert "its session moves there" in n1.log()
