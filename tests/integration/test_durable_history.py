"""Durable sessions through kill -9 at random moments (docs/durability.md §1, §9), checked on
a recorded history: QoS 1 publishers and persistent subscribers keep reconnecting while the
node is killed and started again. With wal_sync_interval = 0 no acknowledged message is
lost, ever. With 200 ms, what is lost was acknowledged within the window before a kill, and
the test reports how much. Per publisher, a subscriber's first arrivals keep publishing
order; copies that come again after a crash are counted (a subscriber's ack made just
before the kill is not on disk: QoS 1 allows the resend). With QoS 2 both ways and
persistent publishers too, nothing is delivered twice and every reconnect finds its
session."""

import collections
import os
import random
import shutil
import signal
import threading
import time

import pytest

import mqttraw as m
from clusterlib import same_seeds, wait_status
from test_cluster_pubsub import wait_routes

pytestmark = pytest.mark.starling_only("Starling's durable sessions")

KILLS = 3


class Crashy:
    """Clients that reconnect (clean_start 0 for subscribers) whenever the node goes away."""

    def __init__(self, b):
        self.b = b
        self.lock = threading.Lock()
        # publisher -> [(seq, monotonic time of the ack, of the message's first send)]
        self.acked = collections.defaultdict(list)
        self.got = collections.defaultdict(list)  # subscriber -> [(publisher, seq, dup)]
        self.stop = threading.Event()
        self.threads, self.pub_threads, self.errors = [], [], []
        self.published = threading.Event()  # the publishers are done: what is missing is final
        self.sessions = {}  # QoS 2 clients: the session present flag of each CONNACK
        self.deadline = 0.0  # set by finish

    def _conn(self, cid, clean, present=None, b=None):
        """A connection to b (this node by default; None once stopping, or for a persistent
        subscriber once the finish's deadline is past); present: a list that gets each
        CONNACK's session present flag."""
        b = b or self.b
        while not self.stop.is_set() or (not clean and time.monotonic() < self.deadline):
            try:
                c = m.Conn(b.port, 5, host=b.host, timeout=10)
                props = None if clean else {"session_expiry": 3600}
                ca = c.connect(cid, clean=clean, properties=props)
                if ca.reason == 0:
                    if present is not None:
                        present.append(ca.session_present)
                    return c
            except (OSError, m.Closed, AssertionError):
                pass
            time.sleep(0.05)
        return None

    def _run(self, fn, threads=None):
        def body():
            try:
                fn()
            except Exception as e:  # reported by the test
                self.errors.append("%s: %r" % (fn.__name__, e))
        t = threading.Thread(target=body, daemon=True)
        t.start()
        (self.threads if threads is None else threads).append(t)

    def publisher(self, name, topic, b=None):
        def publish():
            seq = 0
            c = self._conn(name, True, b=b)
            while c and not self.stop.is_set():
                sent = time.monotonic()
                try:
                    ack = c.publish(topic, b"%s:%d" % (name.encode(), seq), qos=1)
                except (OSError, m.Closed, AssertionError):
                    c = self._conn(name, True, b=b)  # not acknowledged: it does not count
                    seq += 1
                    continue
                assert ack.reason in (0, 0x10), ack
                with self.lock:
                    self.acked[name].append((seq, time.monotonic(), sent))
                seq += 1
                time.sleep(0.002)
        self._run(publish, self.pub_threads)

    def publisher2(self, name, topic, b=None):
        """QoS 2 from a persistent session, one message at a time, packet ids 1 to 4 reused
        as soon as each is released: after a reconnect the PUBLISH goes again with DUP and
        its packet id (no PUBREC yet) or its PUBREL does (no PUBCOMP yet). A message counts
        as acknowledged at its PUBREC."""
        def publish2():
            seq, pid, stage, present, sent, first = 0, 1, "pub", [], False, 0.0
            c = self._conn(name, False, present, b=b)
            while c and not self.stop.is_set():
                try:
                    if stage == "pub":
                        first = first if sent else time.monotonic()
                        c.send(m.publish(topic, b"%s:%d" % (name.encode(), seq), qos=2,
                                         packet_id=pid, dup=sent, version=5))
                        sent = True
                        rec = c.expect(m.PUBREC, timeout=10)
                        assert rec.packet_id == pid and rec.reason in (0, 0x10), rec
                        with self.lock:
                            self.acked[name].append((seq, time.monotonic(), first))
                        stage, rels = "rel", 0
                    c.send(m.ack(m.PUBREL, pid, version=5))
                    rels += 1
                    comp = c.expect(m.PUBCOMP, timeout=10)
                    # 0x92 to a PUBREL sent again: the first one released the id, and its
                    # PUBCOMP was lost with the connection
                    assert comp.packet_id == pid and comp.reason in ((0, 0x92) if rels > 1
                                                                     else (0,)), comp
                except (OSError, m.Closed, AssertionError) as e:
                    if isinstance(e, AssertionError) and "expected" not in str(e):
                        raise
                    c = self._conn(name, False, present, b=b)
                    continue
                seq, pid, stage, sent = seq + 1, pid % 4 + 1, "pub", False
                time.sleep(0.002)
            with self.lock:
                self.sessions[name] = present
        self._run(publish2, self.pub_threads)

    def subscriber2(self, name, filt, b=None):
        """A QoS 2 receiver that keeps its side of the flow across reconnects: a PUBLISH
        whose packet id awaits PUBREL is not delivered again; a message delivered twice is
        a broken exactly-once."""
        present = []
        c = self._conn(name, False, present, b=b)
        assert c.subscribe([(filt, m.subopts(2))]).reasons == [2]

        def receive2():
            conn, waiting = c, set()  # packet ids answered with PUBREC, not yet released
            while not self.published.is_set() or self.missing(name):
                try:
                    p = conn.recv(timeout=0.2)
                    if p is not None and p.type == m.PUBLISH:
                        if p.packet_id not in waiting:
                            pub, seq = p.payload.decode().split(":")
                            with self.lock:
                                self.got[name].append((pub, int(seq), p.dup))
                            waiting.add(p.packet_id)
                        conn.send(m.ack(m.PUBREC, p.packet_id, version=5))
                    elif p is not None and p.type == m.PUBREL:
                        waiting.discard(p.packet_id)
                        conn.send(m.ack(m.PUBCOMP, p.packet_id, version=5))
                except (OSError, m.Closed):
                    conn = self._conn(name, False, present, b=b)
                    if conn is None:
                        break
                    if not present[-1]:
                        waiting.clear()
                    continue
                if p is None and self.stop.is_set() and time.monotonic() > self.deadline:
                    break
            with self.lock:
                self.sessions[name] = present
        self._run(receive2)

    def subscriber(self, name, filt, b=None):
        c = self._conn(name, False, b=b)
        assert c.subscribe([(filt, m.subopts(1))]).reasons == [1]

        def receive():
            conn = c
            while not self.published.is_set() or self.missing(name):
                try:
                    p = conn.recv(timeout=0.2)
                except (OSError, m.Closed):
                    conn = self._conn(name, False, b=b)
                    if conn is None:
                        return
                    continue
                if p is None:
                    if self.stop.is_set() and time.monotonic() > self.deadline:
                        return
                    continue
                pub, seq = p.payload.decode().split(":")
                with self.lock:
                    self.got[name].append((pub, int(seq), p.dup))
                try:
                    conn.send(m.ack(m.PUBACK, p.packet_id, version=5))
                except OSError:
                    pass
        self._run(receive)

    def missing(self, sub):
        with self.lock:
            have = {(p, s) for p, s, _ in self.got[sub]}
            return [(p, s, t, sent) for p, seqs in self.acked.items() for s, t, sent in seqs
                    if (p, s) not in have]

    def finish(self, timeout=60):
        self.deadline = time.monotonic() + timeout
        self.stop.set()
        for t in self.pub_threads:
            t.join(30)
        self.published.set()
        for t in self.threads:
            t.join(timeout + 10)

    def order_and_dups(self):
        """First arrivals in publishing order, per publisher; the copies that came again."""
        again = 0
        self.copies = []  # (subscriber, publisher, seq, dup flag) of each copy that came again
        for sub, got in self.got.items():
            seen, last = set(), {}
            for pub, seq, dup in got:
                if (pub, seq) in seen:
                    again += 1
                    self.copies.append((sub, pub, seq, dup))
                    continue
                seen.add((pub, seq))
                assert seq > last.get(pub, -1), "%s got %s:%d after %s:%d" % (
                    sub, pub, seq, pub, last[pub])
                last[pub] = seq
        return again


def kill_and_restart(b, rnd, kills):
    """kill -9 at random moments, start again; per kill, the moment of the kill and the
    moment just before the new process was started (an ack read in between came from the
    old one: its PUBACK was sent before it died and read after the kill)."""
    at = []
    for _ in range(kills):
        time.sleep(rnd.uniform(0.3, 1.0))
        k = time.monotonic()
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait()
        b.proc = None
        at.append((k, time.monotonic()))
        b.start()
    time.sleep(0.5)  # traffic after the last start
    return at


def lost_in_a_window(acked, sent, window, kills):
    """Whether a message the subscriber's node may have taken into memory only, within the
    window (plus the time a commit takes) before one of kills ((moment of the kill, moment
    just before the new process started)), can be lost: the node took it between its send
    and its PUBACK (which may come later still: on another node's ack, or read by the
    publisher after the kill from what the old process sent), so it was sent before the old
    process was gone and acknowledged no earlier than the window before the kill."""
    return any(sent <= r and acked >= k - window - 2.0 for k, r in kills)


def run(broker_factory, sync, qos=1):
    b = broker_factory({"persistence.enable": True, "persistence.wal_sync_interval": sync,
                        "mqtt.max_mqueue_len": 0})
    b.start()
    h = Crashy(b)
    for i in range(2):
        (h.subscriber2 if qos == 2 else h.subscriber)("sub%d" % i, "h/#")
    for i in range(2):
        (h.publisher2 if qos == 2 else h.publisher)("pub%d" % i, "h/%d" % i)
    time.sleep(0.5)
    seed = random.randrange(1 << 30)
    print("seed", seed)
    kills = kill_and_restart(b, random.Random(seed), KILLS)
    h.finish(timeout=20 if sync == "0ms" else 5)
    assert not h.errors, h.errors
    published = sum(len(v) for v in h.acked.values())
    assert published > 0
    return h, kills, published


def test_nothing_acknowledged_is_lost_at_sync_interval_0(broker_factory):
    h, kills, published = run(broker_factory, "0ms")
    for sub in ("sub0", "sub1"):
        missing = h.missing(sub)
        assert not missing, "%s never received %d acknowledged message(s), e.g. %r" % (
            sub, len(missing), missing[:5])
    again = h.order_and_dups()
    print("published %d, %d kills, %d copies again after a crash" % (published, len(kills),
                                                                      again))


def test_at_an_interval_only_the_window_before_a_kill_is_lost(broker_factory):
    window = 0.2
    h, kills, published = run(broker_factory, "200ms")
    lost = 0
    for sub in ("sub0", "sub1"):
        for pub, seq, t, sent in h.missing(sub):
            assert lost_in_a_window(t, sent, window, kills), \
                "%s lost %s:%d, sent at %.3f, acknowledged at %.3f, outside any kill's " \
                "window %r" % (sub, pub, seq, sent, t, kills)
            lost += 1
    again = h.order_and_dups()
    print("published %d, %d kills, lost %d (within the 200 ms window), %d copies again" % (
        published, len(kills), lost, again))


def test_qos2_is_exactly_once_through_kills_at_sync_interval_0(broker_factory):
    """QoS 2 both ways: no message acknowledged (PUBREC) is lost, none is delivered twice
    (a PUBLISH that came again with a new packet id, or after its PUBREL, would be), and
    every reconnect of the persistent clients finds its session."""
    h, kills, published = run(broker_factory, "0ms", qos=2)
    for sub in ("sub0", "sub1"):
        missing = h.missing(sub)
        assert not missing, "%s never received %d acknowledged message(s), e.g. %r" % (
            sub, len(missing), missing[:5])
    again = h.order_and_dups()
    assert again == 0, "%d QoS 2 message(s) delivered twice: %r" % (again, h.copies[:5])
    for name, present in h.sessions.items():
        assert present[0] == 0 and all(present[1:]), "%s: session present %r" % (name, present)
    print("published %d, %d kills, %d reconnects" % (
        published, len(kills), sum(len(p) - 1 for p in h.sessions.values())))


def holders_in_step(b):
    """The holders of b's store copy all it has (its acks waited for them). A node that has
    just restored its store starts again: its API is away for a moment."""
    from clusterlib import api_call
    try:
        holders = api_call(b, "GET", "/api/v5/durable_storage")[1]["replication"]["holders"]
    except OSError:
        return False
    return holders and all(h["state"] == "in_step" for h in holders)


def wait_for(what, cond, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def three_node_run(broker_factory, qos, receivers_only=False, sync="0ms", extra=None, wipe=False):
    """A publisher and a persistent subscriber to everything on each of three nodes (each
    client reconnecting to its own node; every node with the same seed list, started at
    once and restarted with it); random nodes killed (-9) and restarted, one at a
    time, each back before the cluster declares it down. receivers_only: the publishers
    are all on node 0, and only nodes 1 and 2 are killed. wipe: each killed node loses its
    whole data dir before it starts again (killed once the copies of its store are in step:
    a copy that missed rounds while its holder was down has only what it got). Returns the
    history, the number
    of acknowledged messages and the kills: (node index, moment of the kill, moment just
    before the new process was started)."""
    cl, nodes, names = same_seeds(broker_factory, 3, **dict({
        "persistence.enable": True, "persistence.wal_sync_interval": sync,
        "mqtt.max_mqueue_len": 0, "cluster.link_timeout": "1s"}, **(extra or {})))
    h = Crashy(nodes[0])
    h.b_nodes = nodes
    for i, x in enumerate(nodes):
        (h.subscriber2 if qos == 2 else h.subscriber)("sub%d" % i, "h/#", b=x)
    for i, x in enumerate(nodes):
        for y in nodes:
            if y is not x:
                wait_routes(y, names[i], 1)
    for i, x in enumerate(nodes):
        (h.publisher2 if qos == 2 else h.publisher)("pub%d" % i, "h/%d" % i,
                                                    b=nodes[0] if receivers_only else x)
    time.sleep(0.5)
    seed = random.randrange(1 << 30)
    print("seed", seed)
    rnd = random.Random(seed)
    kills = []
    for _ in range(KILLS):
        time.sleep(rnd.uniform(0.3, 1.0))
        b = rnd.choice(nodes[1:] if receivers_only else nodes)
        if wipe:
            wait_for("node%d's holders in step" % nodes.index(b), lambda: holders_in_step(b))
        k = time.monotonic()
        print("kill -9 node%d at %.3f" % (nodes.index(b), k))
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait()
        b.proc = None
        if wipe:
            shutil.rmtree(os.path.join(b.dir, "data"))
            restored = b.log().count("durable store is restored from")
        kills.append((nodes.index(b), k, time.monotonic()))
        b.start()
        if wipe:  # its store is back, and the process that recovered it runs
            wait_for("node%d restored its store" % nodes.index(b), lambda: b.log().count(
                "durable store is restored from") > restored, timeout=60)
            wait_for("node%d runs again" % nodes.index(b), lambda: "is running" in b.log()[
                b.log().rfind("starting again to recover"):], timeout=60)
        for x in nodes:
            wait_status(x, names, timeout=30)
    time.sleep(0.5)  # traffic after the last start
    h.finish(timeout=30)
    assert not h.errors, h.errors
    published = sum(len(v) for v in h.acked.values())
    assert published > 0
    if sync == "0ms":
        for sub in ("sub0", "sub1", "sub2"):
            missing = h.missing(sub)
            assert not missing, "%s never received %d acknowledged message(s), e.g. %r" % (
                sub, len(missing), missing[:5])
    return h, published, kills


@pytest.mark.plain_only("a slow fault test")
def test_three_nodes_lose_nothing_acknowledged_through_kills_at_sync_interval_0(broker_factory):
    """QoS 1, wal_sync_interval 0: a message acknowledged on one node waits for the data
    lane's ACK of every node it went to, and that ACK waits for the receiving node's disk;
    the records a restarted node had not acknowledged are sent to its new process. No
    subscriber misses an acknowledged message."""
    h, published, _ = three_node_run(broker_factory, 1)
    print("published %d, %d kills, %d copies again after a crash" % (
        published, KILLS, h.order_and_dups()))


@pytest.mark.plain_only("a slow fault test")
def test_three_nodes_qos2_is_exactly_once_through_receiver_kills_at_sync_interval_0(
        broker_factory):
    """QoS 2 both ways across nodes, the receiving nodes killed: besides nothing lost,
    nothing is delivered twice. A record a restarted node had on disk but had not
    acknowledged comes again to its new process: the node kept how far each lane had come
    in the same writes, and skips it. (The publishers' node is not killed here: a crash
    there can deliver a message twice on the other nodes, docs/durability.md §5.)"""
    h, published, _ = three_node_run(broker_factory, 2, receivers_only=True)
    again = h.order_and_dups()
    assert again == 0, "%d QoS 2 message(s) delivered twice: %r" % (again, h.copies[:5])
    for name, present in h.sessions.items():
        assert present[0] == 0 and all(present[1:]), "%s: session present %r" % (name, present)
    print("published %d, %d kills, %d reconnects" % (
        published, KILLS, sum(len(p) - 1 for p in h.sessions.values())))


@pytest.mark.plain_only("a slow fault test")
def test_three_nodes_at_an_interval_lose_only_the_window_before_a_kill(broker_factory):
    """QoS 1, wal_sync_interval 200 ms, three nodes: a message published on any node is
    acknowledged once every node it goes to has it in memory (the lanes' ACKs do not wait
    for the disk), so a subscriber can only lose what its own node took within the window
    before that node was killed (plus the time a commit takes), or what the old process
    acknowledged just before it died. The losses are counted and printed."""
    window = 0.2
    h, published, kills = three_node_run(broker_factory, 1, sync="200ms")
    lost = 0
    for i, sub in enumerate(("sub0", "sub1", "sub2")):
        for pub, seq, t, sent in h.missing(sub):
            assert lost_in_a_window(t, sent, window, [(k, r) for n, k, r in kills if n == i]), \
                "%s (node%d) lost %s:%d, sent at %.3f, acknowledged at %.3f, outside the " \
                "window of any kill of its node %r" % (sub, i, pub, seq, sent, t, kills)
            lost += 1
    print("published %d, %d kills %r, lost %d (within the 200 ms window), %d copies again" % (
        published, len(kills), [n for n, _, _ in kills], lost, h.order_and_dups()))


@pytest.mark.plain_only("a slow fault test")
def test_three_nodes_with_copies_of_the_stores_lose_nothing_through_kills(broker_factory):
    """As the QoS 1 run at 0 above, with persistence.shared_client_session: each node's
    acknowledgements also wait for the copy of its store on another member, the copies
    follow the kills (a holder killed is not waited for; restarted, it gets the whole store
    again). Nothing acknowledged is lost, and the publishers keep being acknowledged."""
    h, published, kills = three_node_run(broker_factory, 1, extra={
        "persistence.shared_client_session": True})
    print("published %d, %d kills %r, %d copies again after a crash" % (
        published, len(kills), [n for n, _, _ in kills], h.order_and_dups()))


@pytest.mark.plain_only("a slow fault test")
def test_three_nodes_with_copies_lose_nothing_when_killed_nodes_lose_their_data_dirs(
        broker_factory):
    """As above, but every node killed loses its whole data dir (its store, its Raft state,
    the copies it kept of the others) before it starts again with the same config: it takes
    the copy of its store back from its holder, starts again by itself, and its subscriber
    finds its session. Nothing acknowledged is lost."""
    h, published, kills = three_node_run(broker_factory, 1, wipe=True, extra={
        "persistence.shared_client_session": True})
    for i, x in enumerate(h.b_nodes):
        if any(n == i for n, _, _ in kills):
            assert "durable store is restored from" in x.log(), "node%d did not restore" % i
    print("published %d, %d kills %r (each with its data dir deleted), %d copies again" % (
        published, len(kills), [n for n, _, _ in kills], h.order_and_dups()))
