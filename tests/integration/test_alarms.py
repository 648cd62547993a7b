"""Alarms (EMQX's /api/v5/alarms; docs/operations.md): raised on the node where the condition
is, listed, cleared and forgotten through any node's API."""

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
