"""A node that stops hands its sessions to the other members first (docs/cluster.md §10.4,
EMQX's node evacuation): subscriptions, messages in flight and queued messages move; MQTT 5
clients get DISCONNECT 0x9C (use another server), 3.x clients are closed; each client finds
its whole session on whichever node it reconnects to."""

import pytest

import mqttraw as m
from clusterlib import wait_info, wait_log
from test_cluster_pubsub import three_nodes
from test_cluster_takeover import cli, dial, wait_registry

pytestmark = pytest.mark.starling_only("Starling's cluster")

USE_ANOTHER = 0x9C


def test_stop_hands_every_session_to_the_other_nodes(broker_factory):
    """Node 1 holds: e1 (MQTT 5, offline, 3 queued messages), e2 (MQTT 5, connected, one
    message in flight), e3 (3.1.1, connected), e4 (MQTT 5, session expiry 0). Node 1 is
    stopped: e2 and e4 get 0x9C, e3 is closed, node 1 logs that every session went. Then
    e1, e2, e3 reconnect to nodes 2 and 3 and find their sessions and messages there; e4,
    whose session ended with its connection, starts afresh."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    e1, _ = dial(n1, "e1")
    e1.subscribe([("ev/1", m.subopts(1))])
    e1.disconnect()
    e2, _ = dial(n1, "e2")
    e2.subscribe([("ev/2", m.subopts(1))])
    e3, _ = dial(n1, "e3", version=4)
    e3.subscribe([("ev/3", m.subopts(1))])
    e4 = cli(n1, "e4")  # session expiry 0
    pub = cli(n2, "evpub")
    for i in range(3):
        pub.publish("ev/1", b"q%d" % i, qos=1)
    pub.publish("ev/2", b"inflight", qos=1)
    p = e2.expect(m.PUBLISH)  # not acked
    pub.publish("ev/3", b"to-e3", qos=1)
    assert e3.expect_publish().payload == b"to-e3"  # acked
    wait_registry([n1, n2, n3], 5)

    n1.stop()
    e2.expect_disconnect(USE_ANOTHER, timeout=10)
    e4.expect_disconnect(USE_ANOTHER, timeout=10)
    e3.expect_closed(timeout=10)
    assert "every session was handed to another node" in n1.log()

    a, ca = dial(n2, "e1")
    assert ca.session_present == 1
    assert [a.expect_publish().payload for _ in range(3)] == [b"q0", b"q1", b"q2"]
    b, ca = dial(n3, "e2")
    assert ca.session_present == 1
    again = b.expect_publish()
    assert (again.payload, again.dup, again.packet_id) == (b"inflight", 1, p.packet_id)
    c, ca = dial(n3, "e3", version=4)
    assert ca.session_present == 1
    d, ca = dial(n2, "e4")
    assert ca.session_present == 0
    for topic, conn in (("ev/1", a), ("ev/2", b), ("ev/3", c)):
        pub.publish(topic, b"after", qos=1)
        assert conn.expect_publish().payload == b"after"
    c.expect_nothing()


def test_stop_of_a_lone_node_does_not_wait(broker_factory):
    """A node alone in its cluster has nobody to hand sessions to: it stops at once."""
    from clusterlib import Cluster
    cl = Cluster(broker_factory, 1)
    n1 = cl.node(0).start()
    c, _ = dial(n1, "alone")
    c.subscribe([("x", m.subopts(1))])
    assert n1.stop() == 0
    assert "handing this node's sessions" not in n1.log()
    c.expect_disconnect(0x8B)  # server shutting down, as before


def test_leave_hands_sessions_over_and_the_node_serves_again(broker_factory):
    """`ctl cluster leave` on node 3: its MQTT 5 client gets 0x9C and finds its session (with
    a message queued while it moved) on node 1; node 3, now alone, takes connections again."""
    from clusterlib import ctl, wait_status
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    lv, _ = dial(n3, "lv")
    lv.subscribe([("lv/t", m.subopts(1))])
    off, _ = dial(n3, "off")
    off.subscribe([("off/t", m.subopts(1))])
    off.disconnect()
    wait_registry([n1, n2, n3], 2)
    r = ctl(n3, "cluster", "leave")
    assert r.returncode == 0, r.stderr
    lv.expect_disconnect(USE_ANOTHER, timeout=10)
    wait_status(n1, [cl.name(0), cl.name(1)])
    wait_log(n3, r"handing this node's sessions to 2 other member")
    cli(n2, "lvpub").publish("off/t", b"while away", qos=1)
    a, ca = dial(n1, "lv")
    assert ca.session_present == 1
    b, ca = dial(n2, "off")
    assert ca.session_present == 1
    assert b.expect_publish().payload == b"while away"
    cli(n2, "lvpub2").publish("lv/t", b"x", qos=1)
    assert a.expect_publish().payload == b"x"
    alone, ca = dial(n3, "newcomer")  # served again, as a cluster of one
    assert ca.session_present == 0
