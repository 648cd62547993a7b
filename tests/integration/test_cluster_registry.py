"""The cluster's client-id registry (docs/cluster.md §10.2): one live connection per client
id across the cluster, whichever nodes the connections arrive at. The newest CONNECT wins;
the older connection gets DISCONNECT 0x8E (session taken over; 3.x clients are closed)."""

import os
import signal
import time

import pytest

import mqttraw as m
from clusterlib import cluster_info, wait_info
from test_cluster_pubsub import three_nodes

pytestmark = pytest.mark.starling_only("Starling's cluster")

TAKEN_OVER = 0x8E


def registry(b):
    return cluster_info(b)["registry"]


def wait_registry(nodes, n, timeout=15):
    for b in nodes:
        wait_info(b, lambda i: i["registry"] == n, "registry of %d" % n, timeout=timeout)


def conn(node, cid, version=5):
    c = m.Conn(node.port, version, host=node.host)
    assert c.connect(cid, clean=False).reason == 0
    return c


def test_second_connection_on_another_node_takes_over(broker_factory):
    """dev1 (MQTT 5) is connected to node 1; dev1 connects to node 2: node 1's connection
    gets DISCONNECT 0x8E and node 2's stays. Then a 3.1.1 client on node 3 takes it: node
    2's MQTT 5 connection gets 0x8E; and back to node 1 with 3.1.1 over 3.1.1: closed. Every
    node's registry has the one client id throughout."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    first = conn(n1, "dev1")
    wait_registry([n1, n2, n3], 1)
    second = conn(n2, "dev1")
    first.expect_disconnect(TAKEN_OVER, timeout=10)
    second.ping()
    wait_info(n1, lambda i: "dev1 connected to another node" in n1.log(), "the kick logged")
    third = conn(n3, "dev1", version=4)
    second.expect_disconnect(TAKEN_OVER, timeout=10)
    third.ping()
    fourth = conn(n1, "dev1", version=4)
    third.expect_closed(timeout=10)
    fourth.ping()
    wait_registry([n1, n2, n3], 1)
    fourth.close()


def test_racing_connects_leave_exactly_one(broker_factory):
    """The same client id connects to nodes 2 and 3 at the same moment, 20 times over (a
    new id each round): each time exactly one of the two connections survives — the
    registry orders the two registrations the same way on every node, and equal clocks on
    two nodes (the same millisecond) are decided by node id."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    for k in range(20):
        cid = "race-%d" % k
        a = m.Conn(n2.port, 5, host=n2.host)
        b = m.Conn(n3.port, 5, host=n3.host)
        a.send(m.connect(cid, version=5, clean=False))
        b.send(m.connect(cid, version=5, clean=False))
        assert a.expect(m.CONNACK).reason == 0 and b.expect(m.CONNACK).reason == 0
        alive = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = []
            for c in (a, b):
                try:
                    c.send(m.pingreq())
                    p = c.recv(timeout=0.5)
                    while p is not None and p.type != m.PINGRESP:
                        assert p.type == m.DISCONNECT and p.reason == TAKEN_OVER, p
                        p = c.recv(timeout=0.5)
                    if p is not None:
                        alive.append(c)
                except (m.Closed, OSError):
                    pass
            if len(alive) == 1:
                break
        assert len(alive) == 1, "round %d: %d connections alive; registries %r" % (
            k, len(alive), [cluster_info(n) for n in (n1, n2, n3)])
        alive[0].close()
    # each survivor's session (MQTT 5, no expiry) ended when it closed: UNREG, nothing left;
    # the kicked ones ended without one (their rows were the winners')
    wait_registry([n1, n2, n3], 0)


def test_rows_of_a_node_declared_down_are_purged(broker_factory):
    """Clients connected to node 3, which is killed: once the leader declares it down, its
    registry rows are gone on the other nodes (the clients reconnect elsewhere afresh)."""
    conf = {"cluster.link_timeout": "1s", "cluster.node_down_timeout": "3s"}
    cl, (n1, n2, n3) = three_nodes(broker_factory, **conf)
    keep = conn(n1, "on1")
    gone = [conn(n3, "on3-%d" % i) for i in range(5)]
    wait_registry([n1, n2], 6)
    os.kill(n3.proc.pid, signal.SIGKILL)
    n3.proc.wait()
    n3.proc = None
    wait_registry([n1, n2], 1, timeout=30)
    keep.ping()
    del gone


def test_a_lone_node_keeps_no_registry_until_a_member_joins(broker_factory):
    """A node alone in its cluster registers nothing (no row, no Raft op per CONNECT); when
    a second node joins, the first registers the sessions it already holds, so a client
    connected before the join is still the one kicked when it connects to the new node."""
    from clusterlib import Cluster, wait_status
    cl = Cluster(broker_factory, 2)
    n1 = cl.node(0).start()
    early = conn(n1, "early")
    other = conn(n1, "other")
    wait_info(n1, lambda i: i["raft"]["state"] == "leader", "a cluster of one")
    assert registry(n1) == 0
    n2 = cl.node(1, seeds=[0]).start()
    wait_status(n1, [cl.name(0), cl.name(1)])
    wait_registry([n1, n2], 2)
    again = conn(n2, "early")
    early.expect_disconnect(TAKEN_OVER, timeout=10)
    again.ping()
    other.ping()
