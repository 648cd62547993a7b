"""Alarms (EMQX's /api/v5/alarms; docs/operations.md): raised on the node where the condition
is, listed, cleared and forgotten through any node's API."""

import time

import pytest

import mqttraw as m
from clusterlib import api_call, same_seeds, wait_api

pytestmark = pytest.mark.starling_only("Starling's alarms API")


def test_an_alarm_on_one_node_is_seen_cleared_and_forgotten_through_another(broker_factory):
    """Node 2's durable store fills (persistence.max_size = 1MB): PUBACK 0x97 and the alarm
    durable_storage_full on node 2, listed by node 1's API with node 2's name; bad requests
    get 400/404/405; force_deactivate through node 1 clears it (into the history); DELETE
    forgets every node's history."""
    cl, nodes, names = same_seeds(broker_factory, 2, **{
        "persistence.enable": True, "persistence.max_size": "1MB",
        "persistence.wal_sync_interval": "0ms"})
    a, b = nodes
    for n in nodes:
        wait_api(n)
    assert api_call(a, "GET", "/api/v5/alarms")[1] == {
        "data": [], "meta": {"page": 1, "limit": 100, "count": 0, "hasnext": False}}
    keeper = m.Conn(b.port, 5, host=b.host)
    assert keeper.connect("keeper", clean=False, properties={"session_expiry": 3600}).reason == 0
    keeper.subscribe([("d/#", 1)])
    keeper.disconnect()
    pub = m.Conn(b.port, 5, host=b.host)
    assert pub.connect("pub").reason == 0
    reasons = []
    for i in range(40):
        reasons.append(pub.publish("d/%d" % i, b"x" * 100000, qos=1).reason)
        if reasons[-1] == 0x97:
            break
    assert reasons[-1] == 0x97, reasons  # the store is full: nothing more is acknowledged

    status, body = api_call(a, "GET", "/api/v5/alarms")
    assert status == 200 and body["meta"]["count"] == 1, body
    alarm = body["data"][0]
    assert alarm["node"] == names[1] and alarm["name"] == "durable_storage_full", alarm
    assert "durable writes are refused" in alarm["message"], alarm
    assert alarm["details"]["path"].endswith("/durable") and alarm["duration"] >= 0, alarm

    assert api_call(a, "GET", "/api/v5/alarms?activated=maybe")[0] == 400
    assert api_call(a, "GET", "/api/v5/alarms?limit=0")[0] == 400
    assert api_call(a, "PUT", "/api/v5/alarms", {})[0] == 405
    assert api_call(a, "POST", "/api/v5/alarms/force_deactivate",
                    {"node": names[1], "name": "no_such_alarm"})[0] == 404
    assert api_call(a, "POST", "/api/v5/alarms/force_deactivate", {"node": names[1]})[0] == 400

    assert api_call(a, "POST", "/api/v5/alarms/force_deactivate",
                    {"node": names[1], "name": "durable_storage_full"})[0] == 204
    assert api_call(b, "GET", "/api/v5/alarms")[1]["data"] == []
    history = api_call(a, "GET", "/api/v5/alarms?activated=false")[1]["data"]
    assert [(h["node"], h["name"]) for h in history] == [(names[1], "durable_storage_full")]
    assert "deactivate_at" in history[0], history
    assert "alarm durable_storage_full cleared" in b.log()

    assert api_call(a, "DELETE", "/api/v5/alarms")[0] == 204
    assert api_call(b, "GET", "/api/v5/alarms?activated=false")[1]["data"] == []


def test_a_member_declared_down_raises_node_down_on_the_leader_until_it_is_back(broker_factory):
    """Three nodes; one is killed (-9): once the cluster declares it down, one alarm
    node_down/<its name> is active in the cluster (on the Raft leader, with the member in its
    details); started again, it is back and the alarm is cleared into the history."""
    from clusterlib import wait_status
    cl, nodes, names = same_seeds(broker_factory, 3, **{"cluster.link_timeout": "1s"})
    for n in nodes:
        wait_api(n)
    gone = nodes[2]
    gone.proc.kill()
    gone.proc.wait()
    gone.proc = None
    want = "node_down/" + names[2]

    def active():
        return [a for a in api_call(nodes[0], "GET", "/api/v5/alarms")[1]["data"]
                if a["name"] == want]
    deadline = time.monotonic() + 60
    while not active():
        assert time.monotonic() < deadline, "no node_down alarm"
        time.sleep(0.2)
    alarm = active()
    assert len(alarm) == 1 and alarm[0]["node"] in names[:2], alarm
    assert alarm[0]["details"]["node"] == names[2] and "is down" in alarm[0]["message"], alarm
    gone.start()
    wait_status(nodes[0], names, timeout=60)
    deadline = time.monotonic() + 60
    while active():
        assert time.monotonic() < deadline, "the node_down alarm stayed"
        time.sleep(0.2)
    history = api_call(nodes[1], "GET", "/api/v5/alarms?activated=false")[1]["data"]
    assert history and {h["name"] for h in history} == {want}, history  # (a new leader
    # while it was down would have raised it too)
