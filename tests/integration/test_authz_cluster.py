"""Authorization's built_in_database across the cluster (docs/security.md §9): its rules
are rows of the control plane's replicated table, so a rule written on one node holds on
every node, and after a restart of them all."""

import time

import pytest

import mqttraw as m
from clusterlib import Cluster, api_call as api, wait_api, wait_status

pytestmark = pytest.mark.starling_only("Starling's cluster")

DB = "/api/v5/authorization/sources/built_in_database/rules"
SOURCES = [{"type": "built_in_database"}]


def suback(n, cid, topic):
    c = m.Conn(n.port, 5, host=n.host)
    try:
        assert c.connect(cid).reason == 0
        return c.subscribe([(topic, 0)]).reasons[0]
    finally:
        c.close()


def wait_suback(n, cid, topic, want, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        got = suback(n, cid, topic)
        if got == want:
            return
        assert time.monotonic() < deadline, "SUBACK 0x%02x on %s, want 0x%02x" % (got, n.host, want)
        time.sleep(0.1)


def test_a_rule_made_on_one_node_holds_on_every_node_and_after_restarts(broker_factory):
    cl = Cluster(broker_factory, 3)
    nodes = [cl.node(i, seeds=(0, 1, 2), **{"authorization.sources": SOURCES})
             for i in range(3)]
    for n in nodes:
        n.start()
    names = [cl.name(i) for i in range(3)]
    for n in nodes:
        wait_status(n, names, timeout=30)
        wait_api(n)
    assert suback(nodes[2], "dev", "secret/x") == 0
    rules = {"rules": [{"topic": "secret/#", "permission": "deny", "action": "subscribe"}]}
    assert api(nodes[0], "POST", DB + "/all", rules) == (204, None)
    for n in nodes:
        wait_suback(n, "dev", "secret/x", 0x87)
    for n in nodes:
        n.stop()
    for n in nodes:
        n.spawn()
    for n in nodes:
        n.wait_ready()
    for n in nodes:
        wait_status(n, names, timeout=30)
        wait_suback(n, "dev", "secret/x", 0x87)
    assert api(nodes[1], "GET", DB + "/all")[1] == {"rules": [
        {"topic": "secret/#", "permission": "deny", "action": "subscribe", "qos": [0, 1, 2],
         "retain": "all"}]}
