"""Messages across nodes (docs/cluster.md §7 routes, §8 forwarding): a node announces the
filters it has subscribers to, the others add them to their tables under that node's slot,
and a publish that matches sends one copy per node over the publishing worker's data lane.
Clients are real paho clients on each node's own loopback address."""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import paho.mqtt.packettypes as pt
import paho.mqtt.properties as props
import pytest

import mqttraw as m
from clusterlib import Cluster, cluster_info, ctl, status, wait_info, wait_status
from conftest import PahoClient

pytestmark = pytest.mark.starling_only("Starling's cluster")


def routes(b):
    with urllib.request.urlopen("http://%s:%d/api/v5/cluster/routes" % (b.host, b.api_port),
                                timeout=5) as resp:
        return json.loads(resp.read())


def peer_routes(b, peer):
    rows = [p for p in routes(b)["peers"] if p["node"] == peer]
    return rows[0]["routes"] if rows else 0


def wait_routes(b, peer, n, timeout=10):
    """Wait until node b holds exactly n routes announced by node `peer`."""
    deadline = time.monotonic() + timeout
    while True:
        got = peer_routes(b, peer)
        if got == n:
            return
        assert time.monotonic() < deadline, "%s holds %d routes of %s, want %d: %r" % (
            b.host, got, peer, n, routes(b))
        time.sleep(0.05)


def wait_stopped(pid, timeout=10):
    """Wait until every thread of pid is stopped (SIGSTOP is delivered asynchronously: a
    thread running on another core goes on for a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        if all(st in ("T", "t") for st in states):
            return
        assert time.monotonic() < deadline, states
        time.sleep(0.01)


def client(node, cid, **kw):
    return PahoClient(node.port, cid, host=node.host, **kw)


def three_nodes(broker_factory, **conf):
    cl = Cluster(broker_factory, 3)
    nodes = [cl.node(0, **conf).start(), cl.node(1, seeds=[0], **conf).start(),
             cl.node(2, seeds=[0, 1], **conf).start()]
    names = [cl.name(i) for i in range(3)]
    for n in nodes:
        wait_status(n, names)
    return cl, nodes


def test_walkthrough_subscriber_on_node3_gets_node1_publishes(broker_factory):
    """The issue's walkthrough: a client on node 3 subscribed to sensors/+/temp receives
    what a client on node 1 publishes to sensors/42/temp, at every QoS (downgraded to the
    subscription's), and an exact filter on node 2 gets them too."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    sub3 = client(n3, "sub3")
    assert sub3.subscribe("sensors/+/temp", qos=2) == [2]
    sub2 = client(n2, "sub2")
    assert sub2.subscribe("sensors/42/temp", qos=1) == [1]
    wait_routes(n1, cl.name(2), 1)
    wait_routes(n1, cl.name(1), 1)
    pub = client(n1, "pub1")
    for q in (0, 1, 2):
        pub.publish("sensors/42/temp", b"t%d" % q, qos=q)
        m3 = sub3.get()
        assert (m3.topic, m3.payload, m3.qos) == ("sensors/42/temp", b"t%d" % q, q)
        m2 = sub2.get()
        assert (m2.payload, m2.qos) == (b"t%d" % q, min(q, 1))
    pub.publish("sensors/42/humidity", b"no", qos=1)
    sub3.expect_nothing()
    sub2.expect_nothing()
    r = routes(n1)
    assert r["forward"]["sent"] >= 6 and r["remote_routes"] == 2, r
    assert routes(n3)["forward"]["received"] >= 3 and routes(n3)["local_routes"] == 1
    out = ctl(n1, "cluster", "routes")
    assert out.returncode == 0 and json.loads(out.stdout)["remote_routes"] == 2, out
    for c in (sub3, sub2, pub):
        c.close()


def test_suback_waits_until_every_linked_node_has_the_route(broker_factory):
    """A SUBSCRIBE that announces a new route gets its SUBACK only once every linked node
    has applied the route (docs/cluster.md §7.2): a publish on any node right after the
    SUBACK is delivered. With node 1 frozen (SIGSTOP) the SUBACK waits, until node 1's
    link times out and it stops counting; a filter that is already routed is not held."""
    conf = {"cluster.link_timeout": "2s"}
    cl, (n1, n2, n3) = three_nodes(broker_factory, **conf)
    sub = m.Conn(n3.port, 5, host=n3.host)
    assert sub.connect("sub").reason == 0
    for k in range(10):  # fresh filters, published to from both other nodes at once
        sub.subscribe([("fresh/%d" % k, 1)])
        for n in (n1, n2):
            p = m.Conn(n.port, 5, host=n.host)
            assert p.connect("p").reason == 0
            p.publish("fresh/%d" % k, b"x", qos=1)
            assert sub.expect_publish().topic == "fresh/%d" % k
            p.close()
    n1.proc.send_signal(signal.SIGSTOP)
    try:
        wait_stopped(n1.proc.pid)  # else it may still answer the route it is sent next
        sub.send(m.subscribe(99, [("frozen/+", 1)], None, 5))
        sub.send(m.subscribe(98, [("fresh/0", 1)], None, 5))  # not a new route
        acks = [sub.expect(m.SUBACK, timeout=20), sub.expect(m.SUBACK, timeout=5)]
        # The frozen node cannot have confirmed frozen/+: only its link timing out releases
        # the SUBACK, so node 3 has dropped it by now (the link is marked down before the
        # waiting SUBACKs are released). The second SUBACK queued behind the held one.
        s = status(n3)
        assert cl.name(0) in s["stopped_nodes"], s
        assert [a.packet_id for a in acks] == [99, 98]
    finally:
        n1.proc.send_signal(signal.SIGCONT)
    wait_status(n3, [cl.name(i) for i in range(3)], timeout=20)
    wait_routes(n1, cl.name(2), 11)  # the re-sync brought node 1 the frozen/+ route
    p = m.Conn(n1.port, 5, host=n1.host)
    assert p.connect("p").reason == 0
    p.publish("frozen/1", b"after", qos=1)
    assert sub.expect_publish().payload == b"after"
    p.close()
    sub.close()


def test_order_no_loss_no_duplicates(broker_factory):
    """Two publishers on node 1 send 1,500 numbered QoS 1 messages each, interleaved;
    subscribers on nodes 2 and 3 receive every one exactly once, in each publisher's order.
    Properties travel with the message."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    subs = [client(n, "s%d" % i) for i, n in enumerate((n2, n3))]
    for s in subs:
        assert s.subscribe("load/#", qos=1) == [1]
    wait_routes(n1, cl.name(1), 1)
    wait_routes(n1, cl.name(2), 1)
    pubs = [client(n1, "p%d" % i) for i in range(2)]
    infos = []
    pr = props.Properties(pt.PacketTypes.PUBLISH)
    pr.UserProperty = ("origin", "node1")
    pr.ContentType = "text/plain"
    for k in range(1500):
        for i, p in enumerate(pubs):
            infos.append(p.c.publish("load/p%d" % i, b"%d" % k, qos=1, properties=pr))
    for info in infos:
        info.wait_for_publish(timeout=30)
        assert info.is_published()
    for s in subs:
        got = {"load/p0": [], "load/p1": []}
        for _ in range(3000):
            msg = s.get(timeout=10)
            got[msg.topic].append(int(msg.payload))
        assert got["load/p0"] == list(range(1500)) and got["load/p1"] == list(range(1500))
        assert msg.properties.ContentType == "text/plain"
        assert ("origin", "node1") in msg.properties.UserProperty
        s.expect_nothing()
    for c in subs + pubs:
        c.close()


@pytest.mark.parametrize("strategy", ["round_robin", "random", "hash_topic", "sticky", "local"])
def test_shared_subscription_members_on_three_nodes(broker_factory, strategy):
    """$share/g/jobs/# with two members on node 1 and one on each of nodes 2 and 3:
    publishers on nodes 1 and 2 send 300 QoS 1 messages; every message reaches exactly one
    member (docs/cluster.md §9.1: the publishing node picks one member cluster-wide, each
    node weighing its member count, and sends one SHARED copy). Round robin gives every
    member about an equal share (each publishing node has its own cursor, and a node that
    receives a SHARED copy picks among its own members: within a few of 75 each); a plain
    subscriber on node 3 gets everything besides."""
    cl, (n1, n2, n3) = three_nodes(broker_factory,
                                   **{"mqtt.shared_subscription_strategy": strategy})
    members = [client(n1, "m1a"), client(n1, "m1b"), client(n2, "m2"), client(n3, "m3")]
    for mc in members:
        assert mc.subscribe("$share/g/jobs/#", qos=1) == [1]
    plain = client(n3, "plain")
    plain.subscribe("jobs/#", qos=1)
    pubs = [client(n1, "p1"), client(n2, "p2")]
    sent = []
    for k in range(300):
        topic = "jobs/%d" % (k % 7)
        pubs[k % 2].publish(topic, b"%d" % k, qos=1)
        sent.append(k)
    got = {}
    deadline = time.monotonic() + 60  # a guard: the loop ends once every message is in
    while sum(len(v) for v in got.values()) < len(sent) and time.monotonic() < deadline:
        for i, mc in enumerate(members):
            while not mc.messages.empty():
                got.setdefault(i, []).append(int(mc.messages.get().payload))
        time.sleep(0.02)
    for mc in members:
        mc.expect_nothing(timeout=0.3)
    everything = sorted(v for vs in got.values() for v in vs)
    assert everything == sent, "lost %r, duplicated %r" % (
        sorted(set(sent) - set(everything))[:10],
        [v for v in set(everything) if everything.count(v) > 1][:10])
    if strategy == "round_robin":
        counts = [len(got.get(i, [])) for i in range(4)]
        assert all(abs(c - 75) <= 5 for c in counts), counts
    assert sorted(int(plain.get().payload) for _ in sent) == sent
    for c in members + pubs + [plain]:
        c.close()


def test_unsubscribe_withdraws_and_goodbye_purges(broker_factory):
    """The last local subscriber of a filter leaving withdraws the route everywhere (a v5
    publish then gets 'no matching subscribers'); a node that stops says goodbye and the
    others drop its routes at once; a node restarted after SIGKILL re-syncs, which sweeps
    the routes its old process had announced."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    a = client(n3, "a")
    b = client(n3, "b")
    a.subscribe("x/+", qos=1)
    b.subscribe("x/+", qos=1)
    b.subscribe("y", qos=1)
    wait_routes(n1, cl.name(2), 2)
    a.c.unsubscribe("x/+")
    time.sleep(0.3)  # the filter still has b: nothing is withdrawn
    assert peer_routes(n1, cl.name(2)) == 2
    b.c.unsubscribe("x/+")
    wait_routes(n1, cl.name(2), 1)
    wait_routes(n2, cl.name(2), 1)
    pub = client(n1, "pub")
    info = pub.c.publish("x/1", b"gone", qos=1)
    info.wait_for_publish(timeout=5)
    assert info.is_published()
    a.close()
    b.close()
    n3.stop()
    wait_routes(n1, cl.name(2), 0)
    wait_routes(n2, cl.name(2), 0)
    n3.start()
    c = client(n3, "c")
    c.subscribe("z/#", qos=0)
    wait_routes(n1, cl.name(2), 1)
    c.close()
    n3.proc.kill()
    n3.proc.wait()
    n3.proc = None
    n3.start()  # the new process has no subscribers: its sync sweeps z/#
    wait_routes(n1, cl.name(2), 0)
    pub.close()


def test_no_matching_subscribers_counts_remote_nodes(broker_factory):
    """A v5 QoS 1 publish whose only subscriber is on another node is acknowledged with
    reason 0 (success), not 0x10 (no matching subscribers)."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    s = client(n2, "s")
    s.subscribe("only/remote", qos=1)
    wait_routes(n1, cl.name(1), 1)
    conn = m.Conn(n1.port, 5, host=n1.host)
    assert conn.connect("raw").reason == 0
    ack = conn.publish("only/remote", b"hi", qos=1)
    assert ack.reason == 0, ack
    ack = conn.publish("nobody/here", b"hi", qos=1)
    assert ack.reason == 0x10, ack
    assert s.get().payload == b"hi"
    conn.close()
    s.close()


def fast_pair(broker_factory, filter_):
    """Two nodes that give up on each other's links within a second: a QoS 1 subscriber
    to filter_ on node 2 (its route known on node 1) and a publisher on node 1."""
    conf = {"cluster.link_timeout": "1s", "cluster.forward_ack_timeout": "1s"}
    cl = Cluster(broker_factory, 2)
    n1 = cl.node(0, **conf).start()
    n2 = cl.node(1, seeds=[0], **conf).start()
    wait_status(n1, [cl.name(0), cl.name(1)])
    sub = client(n2, "sub")
    sub.subscribe(filter_, qos=1)
    wait_routes(n1, cl.name(1), 1)
    return cl, n1, n2, sub, client(n1, "pub")


def test_puback_waits_for_a_stopped_node_then_nothing_is_lost(broker_factory):
    """forward_ack: with the subscriber's node frozen (SIGSTOP), a QoS 1 PUBACK on node 1
    waits; once the link has been down for forward_ack_timeout the PUBACK is sent (the
    message stays queued for that node). When the node resumes, the lane reconnects to the
    same process and the message is delivered: acknowledged means not lost."""
    cl, n1, n2, sub, pub = fast_pair(broker_factory, "held/#")
    pub.publish("held/0", b"before", qos=1)
    assert sub.get().payload == b"before"
    n2.proc.send_signal(signal.SIGSTOP)
    try:
        info = pub.c.publish("held/1", b"while-stopped", qos=1)
        time.sleep(0.3)
        assert not info.is_published(), "PUBACK sent before node 2 had the message"
        info.wait_for_publish(timeout=15)  # link timeout + forward_ack_timeout
        assert info.is_published()
    finally:
        n2.proc.send_signal(signal.SIGCONT)
    msg = sub.get(timeout=15)
    assert msg.payload == b"while-stopped", msg.payload
    sub.expect_nothing()
    sub.close()
    pub.close()


def iptables_available():
    if os.geteuid() != 0:
        return "not root: iptables rules between node addresses need root"
    if not shutil.which("iptables"):
        return "iptables is not installed"
    r = subprocess.run(["iptables", "-w", "-L", "OUTPUT", "-n"], capture_output=True, text=True)
    if r.returncode != 0:
        return "iptables does not work here: " + r.stderr.strip()
    return None


class LinkCut:
    """DROP rules in OUTPUT between two loopback addresses, both ways; always removed."""

    def __init__(self, a, b):
        self.rules = [["OUTPUT", "-s", a, "-d", b, "-j", "DROP", "-m", "comment", "--comment",
                       "starling-test"],
                      ["OUTPUT", "-s", b, "-d", a, "-j", "DROP", "-m", "comment", "--comment",
                       "starling-test"]]
        self.active = False

    def cut(self):
        for r in self.rules:
            subprocess.run(["iptables", "-w", "-I"] + r, check=True)
        self.active = True

    def restore(self):
        if self.active:
            for r in self.rules:
                subprocess.run(["iptables", "-w", "-D"] + r, check=False)
        self.active = False


def test_link_cut_and_restored_loses_no_acknowledged_message(broker_factory):
    """iptables drops everything between node 1 and node 2's addresses for a few seconds
    while a publisher on node 1 keeps sending QoS 1 messages to a subscriber on node 2. The
    links time out; after forward_ack_timeout the PUBACKs stop waiting (the messages stay
    queued for node 2's process). When the network is back the lanes reconnect, resume, and
    every PUBACKed message reaches the subscriber, once, in order."""
    why = iptables_available()
    if why:
        print("skipped: " + why)
        pytest.skip(why)
    cl, n1, n2, sub, pub = fast_pair(broker_factory, "cut/#")
    link = LinkCut(n1.host, n2.host)
    acked = []
    try:
        for k in range(100):
            pub.publish("cut/x", b"%d" % k, qos=1)
            acked.append(k)
        link.cut()
        wait_status(n1, [cl.name(0)], [cl.name(1)])  # the link timed out
        infos = [(k, pub.c.publish("cut/x", b"%d" % k, qos=1)) for k in range(100, 300)]
        for k, info in infos:
            info.wait_for_publish(timeout=15)  # released after forward_ack_timeout
            assert info.is_published(), "PUBACK for %d never came during the cut" % k
            acked.append(k)
    finally:
        link.restore()
    wait_status(n1, [cl.name(0), cl.name(1)], timeout=20)
    got = [int(sub.get(timeout=15).payload) for _ in range(len(acked))]
    assert got == acked, "missing %r, extra %r" % (sorted(set(acked) - set(got))[:10],
                                                  sorted(set(got) - set(acked))[:10])
    sub.expect_nothing()
    assert routes(n1)["forward"]["resent"] >= 1, routes(n1)
    sub.close()
    pub.close()


def member(b, name):
    """name's row in b's member table ({} while b does not have it yet)."""
    rows = [m_ for m_ in cluster_info(b)["members"] if m_["node"] == name]
    return rows[0] if rows else {"state": None, "incarnation": None}


def test_sigkill_core_routes_purged_after_node_down_timeout_then_rejoins(broker_factory):
    """A core node with a subscriber is killed with SIGKILL. The other two keep serving
    (pub/sub between them works), elect a leader if needed, and after node_down_timeout
    the leader commits DOWN: the member table says down everywhere, and the dead node's
    routes are gone from every node. Restarted on its data dir, it asks the leader to commit
    its restart (BOOT: a new incarnation), is up again everywhere, and its subscribers
    receive across nodes again."""
    conf = {"cluster.link_timeout": "1s", "cluster.node_down_timeout": "3s"}
    cl, (n1, n2, n3) = three_nodes(broker_factory, **conf)
    names = [cl.name(i) for i in range(3)]
    sub = client(n3, "sub3")
    sub.subscribe("k/#", qos=1)
    for n in (n1, n2):
        wait_routes(n, names[2], 1)
    inc = member(n1, names[2])["incarnation"]
    n3.proc.kill()
    n3.proc.wait()
    n3.proc = None
    for n in (n1, n2):
        wait_info(n, lambda i: member(n, names[2])["state"] == "down", "node 3 down", timeout=20)
        wait_routes(n, names[2], 0)
    assert member(n2, names[2])["incarnation"] == inc + 1
    a, b = client(n1, "a"), client(n2, "b")
    b.subscribe("alive/#", qos=1)
    a.publish("alive/1", b"still", qos=1)
    assert b.get().payload == b"still"
    n3.start()
    for n in (n1, n2, n3):
        wait_info(n, lambda i: member(n, names[2])["state"] == "up", "node 3 up", timeout=20)
    assert member(n1, names[2])["incarnation"] == inc + 2
    assert any("%s is back (new incarnation)" % names[2] in n.log() for n in (n1, n2))
    sub = client(n3, "sub3")
    sub.subscribe("k/#", qos=1)
    a.publish("k/1", b"back", qos=1)
    assert sub.get().payload == b"back"
    for c in (a, b, sub):
        c.close()


def test_follower_restart_commits_a_new_incarnation(broker_factory):
    """A follower that restarts cannot propose by itself: it asks the leader, which commits
    BOOT; every node sees its incarnation go up by one, and the state stays up."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    names = [cl.name(i) for i in range(3)]
    leader = [n for n in (n1, n2, n3) if cluster_info(n)["raft"]["state"] == "leader"]
    follower = [n for n in (n2, n3, n1) if n not in leader][0]
    fname = names[(n1, n2, n3).index(follower)]
    inc = member(leader[0], fname)["incarnation"]
    follower.restart()
    for n in (n1, n2, n3):
        wait_info(n, lambda i: member(n, fname)["incarnation"] == inc + 1 and
                  member(n, fname)["state"] == "up", "restart committed", timeout=20)


def retained(node, topic, timeout=2.0):
    """The retained message a new subscriber on node gets for topic (None if none)."""
    c = m.Conn(node.port, 5, host=node.host)
    assert c.connect("").reason == 0
    c.subscribe([(topic, 0)])
    try:
        p = c.expect(m.PUBLISH, timeout=timeout)
        return p.payload if p.retain else None
    except AssertionError:
        return None
    finally:
        c.close()


def wait_retained(node, topic, payload, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        got = retained(node, topic, timeout=0.5)
        if got == payload:
            return
        assert time.monotonic() < deadline, "%s: retained %r is %r, want %r" % (
            node.host, topic, got, payload)
        time.sleep(0.1)


def test_retained_messages_across_nodes(broker_factory):
    """A retained message set on node 1 is delivered by every node to new subscribers; an
    empty retained publish on node 2 deletes it everywhere (a tombstone, so the older write
    cannot come back); two nodes setting the same topic end with the same value on all
    three (last writer by hybrid logical clock); a node that was down catches up with what
    was set meanwhile when its links come back."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    p1, p2 = client(n1, "p1"), client(n2, "p2")
    p1.publish("cfg/a", b"one", qos=1, retain=True)
    for n in (n1, n2, n3):
        wait_retained(n, "cfg/a", b"one")
    p2.publish("cfg/a", b"", qos=1, retain=True)
    for n in (n1, n2, n3):
        wait_retained(n, "cfg/a", None)
    for k in range(20):  # concurrent writers on one topic
        p1.c.publish("cfg/race", b"n1-%d" % k, qos=0, retain=True)
        p2.c.publish("cfg/race", b"n2-%d" % k, qos=0, retain=True)
    time.sleep(1)
    final = [retained(n, "cfg/race") for n in (n1, n2, n3)]
    assert final[0] is not None and final.count(final[0]) == 3, final
    n3.stop()
    p1.publish("cfg/while-away", b"missed", qos=1, retain=True)
    p2.publish("cfg/race", b"later", qos=1, retain=True)
    n3.start()
    wait_retained(n3, "cfg/while-away", b"missed", timeout=20)
    wait_retained(n3, "cfg/race", b"later")
    for c in (p1, p2):
        c.close()


def test_two_cores_and_a_replicant(broker_factory):
    """The walkthrough with node 3 as a replicant: it is not a Raft member, but the leader
    puts it in the member table, so `ctl cluster status` on the cores lists all three as
    running; messages cross between the replicant and the cores both ways."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, seeds=[0]).start()
    rep = cl.node(2, seeds=[0, 1], **{"node.role": "replicant"}).start()
    names = [cl.name(i) for i in range(3)]
    for n in (n1, n2):
        wait_status(n, names)
    assert member(n1, names[2])["role"] == "replicant"
    assert cluster_info(rep)["raft"]["state"] == "replicant"
    s_rep, s_core = client(rep, "s-rep"), client(n2, "s-core")
    s_rep.subscribe("r/#", qos=1)
    s_core.subscribe("c/#", qos=1)
    p_core, p_rep = client(n1, "p-core"), client(rep, "p-rep")
    p_core.publish("r/1", b"to-replicant", qos=1)
    p_rep.publish("c/1", b"from-replicant", qos=2)
    assert s_rep.get().payload == b"to-replicant"
    assert s_core.get().payload == b"from-replicant"
    for c in (s_rep, s_core, p_core, p_rep):
        c.close()


def test_replicant_added_and_removed_while_traffic_flows(broker_factory):
    """A publisher on core 1 streams numbered QoS 1 messages to a subscriber on core 2
    while a replicant joins (its own subscriber gets the stream from then on) and then
    stops: the core-to-core stream loses nothing and stays in order, the replicant's
    subscriber got an in-order run, and the cores drop the replicant's routes when it says
    goodbye."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, seeds=[0]).start()
    wait_status(n1, [cl.name(0), cl.name(1)])
    sub = client(n2, "sub")
    sub.subscribe("stream/#", qos=1)
    pub = client(n1, "pub")
    import threading
    stop = threading.Event()
    sent = []

    def publish():
        k = 0
        while not stop.is_set() or k < 50:
            pub.publish("stream/x", b"%d" % k, qos=1)
            sent.append(k)
            k += 1
    t = threading.Thread(target=publish)
    t.start()
    try:
        rep = cl.node(2, seeds=[0, 1], **{"node.role": "replicant"}).start()
        wait_status(n1, [cl.name(i) for i in range(3)])
        rsub = client(rep, "rsub")
        rsub.subscribe("stream/#", qos=1)
        first = int(rsub.get(timeout=10).payload)
        time.sleep(0.5)
        rsub.close()
        rep.stop()
        wait_routes(n1, cl.name(2), 0)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(timeout=60)
    got = [int(sub.get(timeout=10).payload) for _ in sent]
    assert got == sent, "core subscriber: %d of %d, first gap at %r" % (
        len(got), len(sent), next((i for i, (a, b) in enumerate(zip(got, sent)) if a != b), None))
    assert first in sent
    sub.close()
    pub.close()


def test_force_leave_removes_a_dead_member(broker_factory):
    """`starling ctl cluster force-leave <node>` on a follower (the request goes to the
    leader) removes a killed node at once, without waiting for node_down_timeout: it is
    'left' in every member table, out of the Raft configuration (2 voters), its routes are
    gone, and `ctl cluster status` no longer lists it. Forcing out an unknown node or the
    node itself is refused with the reason."""
    conf = {"cluster.node_down_timeout": "600s"}
    cl, (n1, n2, n3) = three_nodes(broker_factory, **conf)
    names = [cl.name(i) for i in range(3)]
    sub = client(n3, "sub3")
    sub.subscribe("fl/#", qos=1)
    wait_routes(n1, names[2], 1)
    wait_info(n1, lambda i: i["raft"]["voters"] == 3, "3 voters")
    n3.proc.kill()
    n3.proc.wait()
    n3.proc = None
    follower = n2 if cluster_info(n1)["raft"]["state"] == "leader" else n1
    r = ctl(follower, "cluster", "force-leave", names[2])
    assert r.returncode == 0 and "is being removed" in r.stdout, (r.stdout, r.stderr)
    for n in (n1, n2):
        wait_info(n, lambda i: member(n, names[2])["state"] == "left", "node 3 left", timeout=15)
        wait_routes(n, names[2], 0)
        wait_status(n, names[:2])
    wait_info(n1, lambda i: i["raft"]["voters"] == 2, "2 voters")
    r = ctl(n1, "cluster", "force-leave", "starling@127.0.0.99")
    assert r.returncode == 1 and "HTTP 404" in r.stderr and "not a member" in r.stderr, r.stderr
    r = ctl(n1, "cluster", "force-leave", names[0])
    assert r.returncode == 1 and "HTTP 400" in r.stderr and "cannot force itself" in r.stderr
