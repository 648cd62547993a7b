"""Wills and session expiry across nodes behave as on one node (MQTT 5 §3.1.2.5, §3.1.3.2):
the node holding a session runs its expiry and publishes its will; a reconnection on another
node within the will delay cancels the will; a session handed over by a stopping node keeps
its pending will and its expiry."""

import pytest

import mqttraw as m
from test_cluster_pubsub import three_nodes
from test_cluster_takeover import cli, dial, wait_registry

pytestmark = pytest.mark.starling_only("Starling's cluster")


def will(topic, payload, delay=0):
    w = {"topic": topic, "payload": payload, "qos": 1}
    if delay:
        w["properties"] = {"will_delay": delay}
    return w


def watcher(node, cid):
    c = cli(node, cid)
    c.subscribe([("will/#", m.subopts(1))])
    return c


def test_reconnecting_on_another_node_cancels_a_delayed_will(broker_factory):
    """w1 (will delay 2 s) drops off node 1 and reconnects on node 2 within the delay: its
    will is never published. w2 (will delay 0) is still connected to node 1 when it connects
    on node 2: its old connection's will is published once, as for a takeover on one node."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    watch = watcher(n3, "watch")
    w1 = m.Conn(n1.port, 5, host=n1.host)
    assert w1.connect("w1", clean=False, will=will("will/w1", b"w1 gone", 2),
                      properties={"session_expiry": 60}).reason == 0
    w2 = m.Conn(n1.port, 5, host=n1.host)
    assert w2.connect("w2", clean=False, will=will("will/w2", b"w2 gone"),
                      properties={"session_expiry": 60}).reason == 0
    wait_registry([n1, n2, n3], 3)
    w1.abort()
    again, ca = dial(n2, "w1")
    assert ca.session_present == 1
    w2b, ca = dial(n2, "w2")
    assert ca.session_present == 1
    w2.expect_disconnect(0x8E, timeout=10)
    p = watch.expect_publish(timeout=10)
    assert (p.topic, p.payload) == ("will/w2", b"w2 gone")
    watch.expect_nothing(timeout=2.5)  # past w1's will delay: nothing


def test_a_session_handed_over_keeps_its_will_and_expiry(broker_factory):
    """On node 1: w3 dropped with a will delayed 2 s (session expiry 60 s); x1 offline with a
    session expiry of 2 s. Node 1 stops and hands both over: w3's will is published once, by
    the node that took it; x1's session expires there (its registration goes)."""
    cl, (n1, n2, n3) = three_nodes(broker_factory)
    watch = watcher(n2, "watch2")
    w3 = m.Conn(n1.port, 5, host=n1.host)
    assert w3.connect("w3", clean=False, will=will("will/w3", b"w3 gone", 2),
                      properties={"session_expiry": 60}).reason == 0
    x1 = m.Conn(n1.port, 5, host=n1.host)
    assert x1.connect("x1", clean=False, properties={"session_expiry": 2}).reason == 0
    x1.subscribe([("x/1", m.subopts(1))])
    x1.disconnect()
    wait_registry([n1, n2, n3], 3)
    w3.abort()
    assert n1.stop() == 0
    assert "every session was handed to another node" in n1.log()
    p = watch.expect_publish(timeout=10)
    assert (p.topic, p.payload) == ("will/w3", b"w3 gone")
    watch.expect_nothing(timeout=1)
    wait_registry([n2, n3], 2, timeout=20)  # x1 expired where it went: watch2 and w3 remain
    c, ca = dial(n3, "x1")
    assert ca.session_present == 0
