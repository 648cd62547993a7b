"""Partitions (iptables between the nodes' addresses; root only) heal by themselves when the
network does: both sides keep serving their clients meanwhile, and afterwards the cluster is
one again (`ctl cluster status` on every node), routes, registry and retained messages have
converged, and the history checker (history.py) finds no acknowledged message lost, none
out of order, none twice but as a DUP resend. Publishers, subscribers and members of one
shared subscription group (at least once to the group) run on every node throughout."""

import time

import pytest

import mqttraw as m
from clusterlib import Cluster, wait_info, wait_log, wait_status
from history import History
from test_cluster_pubsub import LinkCut, iptables_available, member, wait_routes

pytestmark = [pytest.mark.starling_only("Starling's cluster"),
              pytest.mark.plain_only("slow fault tests")]

# The session queue's bound (mqtt.max_mqueue_len, oldest dropped: EMQX's overflow policy) is
# lifted: a slow Python subscriber facing the backlog a heal releases must not turn the
# configured overflow policy into a failure of what is tested here, the cluster's delivery.
FAST = {"cluster.link_timeout": "1s", "cluster.forward_ack_timeout": "1s",
        "cluster.node_down_timeout": "60s", "mqtt.max_mqueue_len": 0}


def cluster_of(broker_factory, n, **conf):
    cl = Cluster(broker_factory, n)
    nodes = [cl.node(0, **conf).start()]
    nodes += [cl.node(i, seeds=list(range(i)), **conf).start() for i in range(1, n)]
    names = [cl.name(i) for i in range(n)]
    for x in nodes:
        wait_status(x, names, timeout=20)
    return cl, nodes, names


def retained(node, tag):
    """The retained messages a new subscriber to r/# gets on node: {topic: payload}."""
    c = m.Conn(node.port, 5, host=node.host)
    assert c.connect("ret-%s" % tag).reason == 0
    c.subscribe([("r/#", m.subopts(1))])
    got = {}
    while True:
        p = c.recv(timeout=0.5)
        if p is None:
            break
        got[p.topic] = p.payload
        c.send(m.ack(m.PUBACK, p.packet_id, version=5))
    c.disconnect()
    return got


def writer(node, cid):
    c = m.Conn(node.port, 5, host=node.host)
    assert c.connect(cid).reason == 0
    return c


def split_and_heal(broker_factory, n, sides, conf=None, hold=None, not_owed=None):
    """n nodes, a subscriber and a publisher on each; cut every link between sides[0] and
    sides[1] (node indexes); retained writes on both sides; hold (a callable, after both
    sides see the split); heal; check. Returns (nodes, names, history, summary)."""
    why = iptables_available()
    if why:
        print("skipped: " + why)
        pytest.skip(why)
    cl, nodes, names = cluster_of(broker_factory, n, **dict(FAST, **(conf or {})))
    h = History()
    h.not_owed = not_owed or {}
    for i, x in enumerate(nodes):
        h.subscriber(x, "sub%d" % i, "h/#")
        h.member(x, "m%d" % i, "g", "h/#")
    for i, x in enumerate(nodes):
        for y in nodes:
            if y is not x:
                wait_routes(y, names[i], 2)  # h/# and $share/g/h/#
    w0, w1 = writer(nodes[sides[0][0]], "rw0"), writer(nodes[sides[1][0]], "rw1")
    for i, x in enumerate(nodes):
        h.publisher(x, "pub%d" % i, "h/%d" % i)
    wait_info(nodes[0], lambda i: i["registry"] == 3 * n + 2, "every client registered")
    time.sleep(0.5)  # traffic before the split
    cuts = [LinkCut(nodes[a].host, nodes[b].host) for a in sides[0] for b in sides[1]]
    try:
        for c in cuts:
            c.cut()
        for side, other in ((sides[0], sides[1]), (sides[1], sides[0])):
            for i in side:
                wait_status(nodes[i], [names[k] for k in side], [names[k] for k in other],
                            timeout=30)
        w0.publish("r/a", b"side0", qos=1, retain=True)
        w1.publish("r/b", b"side1", qos=1, retain=True)
        w0.publish("r/c", b"first", qos=1, retain=True)
        time.sleep(0.05)  # so that the other side's write is the later one
        w1.publish("r/c", b"second", qos=1, retain=True)
        time.sleep(1)  # traffic on both sides of the split
        if hold:
            hold(nodes, names)
    finally:
        for c in cuts:
            c.restore()
    for x in nodes:
        wait_status(x, names, timeout=40)  # one cluster again, seen from every node
    time.sleep(0.5)  # traffic after the heal
    h.finish(timeout=25)
    want = {"r/a": b"side0", "r/b": b"side1", "r/c": b"second"}
    for i, x in enumerate(nodes):
        deadline = time.monotonic() + 30
        while (got := retained(x, "%d-%f" % (i, time.monotonic()))) != want:
            assert time.monotonic() < deadline, "node %d retained %r, want %r" % (i, got, want)
        # the publishers have gone: subscribers, members and retained writers remain
        wait_info(x, lambda info: info["registry"] == 2 * n + 2, "the registry converged", timeout=30)
    return nodes, names, h


@pytest.mark.parametrize("mode", ["strict", "available"])
def test_three_node_minority_split_heals(broker_factory, mode):
    """Node 3 alone against nodes 1 and 2, for longer than the links' timeout (but not
    node_down_timeout), with either registry mode."""
    nodes, names, h = split_and_heal(broker_factory, 3, ([0, 1], [2]),
                                     {"cluster.registry_mode": mode})
    print(h.check())


def test_two_node_split_heals(broker_factory):
    """Two nodes cut from each other: neither has a majority; both go on serving."""
    nodes, names, h = split_and_heal(broker_factory, 2, ([0], [1]))
    print(h.check())


def test_four_node_symmetric_split_heals(broker_factory):
    """Nodes 1 and 2 against nodes 3 and 4: an even split, no majority anywhere."""
    nodes, names, h = split_and_heal(broker_factory, 4, ([0, 1], [2, 3]))
    print(h.check())


def test_minority_declared_down_heals(broker_factory):
    """Node 3 is cut for longer than node_down_timeout: the majority declares it down (its
    routes and registry rows go). When the network is back it is up again with a new
    incarnation, its routes and sessions registered again, and nothing is wiped. Messages the
    majority published while node 3 was down are not owed to node 3's subscribers (the
    cluster counted its sessions gone); everything else holds."""
    def until_down(nodes, names):
        wait_log(nodes[0], r"%s is down" % names[2].replace(".", r"\."), timeout=30)

    nodes, names, h = split_and_heal(broker_factory, 3, ([0, 1], [2]),
                                     {"cluster.node_down_timeout": "2s"}, until_down,
                                     not_owed={"sub2": {"pub0", "pub1"}})
    for x in nodes:
        wait_info(x, lambda i: member(x, names[2])["incarnation"] >= 3, "node 3 back, anew")
    print(h.check())
