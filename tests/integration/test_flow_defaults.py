"""Flow control at the default config (mqtt.max_mqueue_len = 1000, mqtt.max_inflight = 32,
nothing tuned): publishers that pipeline QoS 1 messages as fast as TCP takes them, against
subscribers slower than them (Python readers that ack one message at a time). Every
acknowledged message arrives exactly once per subscription (once per group for a shared
subscription), in order per publisher, one to one, through a shared group, fanned out,
and across two nodes (docs/architecture.md, "Flow control").

Nothing here measures time: a subscriber that waits 30 s for its next message fails (a
stall), and how a run ends is proven by an end marker each publisher sends after its
last PUBACK (messages of one publisher arrive in order, so a subscriber that has its
marker has everything that publisher sent before it)."""

import socket
import threading

import pytest

import mqttraw as m
from clusterlib import Cluster, wait_status

pytestmark = pytest.mark.starling_only("Starling's flow control (mosquitto drops past its queue limit)")

N = 6000      # messages per publisher: six times the default queue limit
STALL = 30    # seconds without a message that count as a stall
END = b"end"


def conn(b, cid):
    c = m.Conn(b.port, 4, host=getattr(b, "host", "127.0.0.1"), timeout=STALL)
    ca = c.connect(cid)
    assert ca.reason == 0, ca
    return c


class Publisher:
    """Pipelines n QoS 1 PUBLISHes ("<name>:<i>") from a writer thread while the caller's
    thread reads the PUBACKs; then sends end markers on request."""

    def __init__(self, b, name, topic, n=N):
        self.name, self.topic, self.n = name, topic, n
        self.c = conn(b, name)
        self.c.sock.settimeout(120)  # the write blocks while the broker does not read
        data = b"".join(m.publish(topic, b"%s:%d" % (name.encode(), i), qos=1,
                                  packet_id=i % 60000 + 1) for i in range(n))
        self.t = threading.Thread(target=self.c.send, args=(data,), daemon=True)
        self.t.start()

    def wait_acked(self):
        got = 0
        while got < self.n:
            p = self.c.recv(STALL)
            assert p is not None, "%s: %d of %d PUBACKs, then a stall" % (self.name, got, self.n)
            assert p.type == m.PUBACK, p
            got += 1
        self.t.join(STALL)

    def end(self):
        """One end marker, acknowledged."""
        pid = 60001 + self.c.next_id() % 5000
        self.c.send(m.publish(self.topic, END + b":" + self.name.encode(), qos=1, packet_id=pid))
        p = self.c.expect(m.PUBACK, STALL)
        assert p.packet_id == pid

    def close(self):
        self.c.close()


class Subscriber:
    """A slow consumer: reads and acks one PUBLISH at a time on its own thread, and keeps
    per publisher the message numbers in arrival order and the end markers seen."""

    def __init__(self, b, cid, flt):
        self.c = conn(b, cid)
        self.c.subscribe([(flt, 1)])
        self.got, self.ends, self.error = {}, {}, None
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.stop = False
        self.t.start()

    def run(self):
        try:
            while not self.stop:
                p = self.c.recv(STALL)
                if p is None:
                    if self.stop:
                        return
                    raise AssertionError("no message for %d s (a stall)" % STALL)
                assert p.type == m.PUBLISH, p
                self.c.send(m.ack(m.PUBACK, p.packet_id))
                who, _, what = p.payload.partition(b":")
                with self.lock:
                    if who == END:
                        self.ends[what.decode()] = self.ends.get(what.decode(), 0) + 1
                    else:
                        self.got.setdefault(who.decode(), []).append(int(what))
        except Exception as e:  # reported by the test's thread (not the close at the end)
            if not self.stop:
                self.error = e

    def has_end(self, pub):
        return self.ends_from(pub) > 0

    def ends_from(self, pub):
        with self.lock:
            return self.ends.get(pub, 0)

    def finish(self):
        self.stop = True
        try:
            self.c.sock.shutdown(socket.SHUT_RDWR)  # ends the reader's blocking recv
        except OSError:
            pass
        self.t.join(STALL)
        self.c.close()


def wait_ends(subs, pubs):
    """Each publisher sends end markers until every subscriber in subs has had one of its.
    A marker reaches every subscriber of its topic, or one member of a shared group; then
    markers go round the members until each has had one from every publisher."""
    for p in pubs:
        for _ in range(100):
            if all(s.has_end(p.name) for s in subs):
                break
            before = sum(s.ends_from(p.name) for s in subs)
            p.end()
            for _ in range(STALL * 10):  # until the marker is in (one arrives per marker)
                for s in subs:
                    if s.error:
                        raise s.error
                if sum(s.ends_from(p.name) for s in subs) > before:
                    break
                threading.Event().wait(0.1)
            else:
                raise AssertionError("an end marker of %s never arrived" % p.name)
        else:
            raise AssertionError("end markers of %s never reached every subscriber" % p.name)


def run(pubs, subs):
    try:
        for p in pubs:
            p.wait_acked()
        wait_ends(subs, pubs)
    finally:
        for s in subs:
            s.finish()
        for p in pubs:
            p.close()
    for s in subs:
        if s.error:
            raise s.error


def check_exactly_once(subs, pubs):
    """Every subscriber got every message of every publisher, once, in order."""
    for s in subs:
        for p in pubs:
            got = s.got.get(p.name, [])
            missing = p.n - len(set(got))
            assert got == list(range(p.n)), "%s from %s: %d messages, %d missing, %d duplicated" % (
                s.c, p.name, len(got), missing, len(got) - len(set(got)))


def check_group_once(members, pubs):
    """A shared group got every message once over its members, each member's share of a
    publisher in order."""
    for p in pubs:
        seen = []
        for s in members:
            mine = s.got.get(p.name, [])
            assert mine == sorted(mine), "a member got %s's messages out of order" % p.name
            seen += mine
        assert len(seen) == len(set(seen)), "%s: %d duplicates" % (p.name, len(seen) - len(set(seen)))
        assert sorted(seen) == list(range(p.n)), "%s: %d of %d delivered" % (
            p.name, len(set(seen)), p.n)


def test_one_to_one_default_config(broker):
    pubs, subs = [], []
    for i in range(4):
        subs.append(Subscriber(broker, "s%d" % i, "o2o/%d" % i))
    for i in range(4):
        pubs.append(Publisher(broker, "p%d" % i, "o2o/%d" % i))
    try:
        for p in pubs:
            p.wait_acked()
        for i in range(4):
            wait_ends([subs[i]], [pubs[i]])
    finally:
        for s in subs:
            s.finish()
        for p in pubs:
            p.close()
    for i in range(4):
        assert subs[i].error is None, subs[i].error
        check_exactly_once([subs[i]], [pubs[i]])


def test_shared_group_default_config(broker):
    members = [Subscriber(broker, "g%d" % i, "$share/g/sh/#") for i in range(2)]
    pubs = [Publisher(broker, "p%d" % i, "sh/%d" % i) for i in range(8)]
    run(pubs, members)
    check_group_once(members, pubs)


def test_fan_out_default_config(broker):
    subs = [Subscriber(broker, "f%d" % i, "fan/#") for i in range(4)]
    pubs = [Publisher(broker, "p%d" % i, "fan/%d" % i) for i in range(2)]
    run(pubs, subs)
    check_exactly_once(subs, pubs)


def two_nodes(broker_factory):
    cl = Cluster(broker_factory, 2)
    a = cl.node(0).start()
    b = cl.node(1, seeds=[0]).start()
    for n in (a, b):
        wait_status(n, [cl.name(0), cl.name(1)])
    return a, b


def test_across_two_nodes_default_config(broker_factory):
    """Publishers on node A, slow subscribers on node B, one to one and a shared group:
    B's backpressure reaches A's publishers over the data lane, and nothing is lost. (A
    SUBACK on B comes once A has the route, docs/cluster.md §7.2.)"""
    a, b = two_nodes(broker_factory)
    subs = [Subscriber(b, "s%d" % i, "x/%d" % i) for i in range(2)]
    members = [Subscriber(b, "g%d" % i, "$share/g/xs/#") for i in range(2)]
    pubs = [Publisher(a, "p%d" % i, "x/%d" % i) for i in range(2)]
    spubs = [Publisher(a, "q%d" % i, "xs/%d" % i) for i in range(2)]
    try:
        for p in pubs + spubs:
            p.wait_acked()
        for i in range(2):
            wait_ends([subs[i]], [pubs[i]])
        wait_ends(members, spubs)
    finally:
        for s in subs + members:
            s.finish()
        for p in pubs + spubs:
            p.close()
    for s in subs + members:
        if s.error:
            raise s.error
    for i in range(2):
        check_exactly_once([subs[i]], [pubs[i]])
    check_group_once(members, spubs)
