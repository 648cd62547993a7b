"""EMQX's $SYS topics (docs/operations.md, "$SYS topics"): each node publishes its version,
sysdescr and the running nodes (retained), its stats and metrics, its uptime and datetime,
and JSON events for clients that connect, disconnect, subscribe and unsubscribe; subscribers
on every node of a cluster get them, and authorization applies to subscribing."""

import json
import re

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's $SYS topics")

SYS = {"sys_topics.sys_heartbeat_interval": "1s", "sys_topics.sys_msg_interval": "1s",
       "sys_topics.sys_event_messages.client_subscribed": True,
       "sys_topics.sys_event_messages.client_unsubscribed": True}


def until(c, topic_re, timeout=10):
    """The first PUBLISH whose topic matches topic_re (others are skipped)."""
    while True:
        p = c.expect_publish(timeout=timeout)
        if re.fullmatch(topic_re, p.topic):
            return p


def test_sys_topics_on_a_two_node_cluster(broker_factory):
    from clusterlib import members_up
    nodes, names = members_up(broker_factory, 2, **SYS)
    n1, n2 = nodes
    node = re.escape(names[0])

    watch = m.Conn(n2.port, 5, host=n2.host)  # on node 2, watching node 1's topics
    assert watch.connect("sys-watch").reason == 0
    sub = watch.subscribe([("$SYS/brokers/%s/#" % names[0], 0), ("$SYS/brokers", 0)])
    assert sub.reasons == [0, 0], sub.reasons

    p = until(watch, r"\$SYS/brokers/%s/uptime" % node)
    assert int(p.payload) > 0, p.payload
    p = until(watch, r"\$SYS/brokers/%s/datetime" % node)
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", p.payload), p
    p = until(watch, r"\$SYS/brokers/%s/version" % node)
    assert p.payload == b"0.1.0", p.payload
    p = until(watch, r"\$SYS/brokers/%s/stats/connections/count" % node)
    assert int(p.payload) >= 0, p.payload
    p = until(watch, r"\$SYS/brokers/%s/metrics/messages/received" % node)
    assert int(p.payload) >= 0, p.payload
    p = until(watch, r"\$SYS/brokers")
    assert sorted(p.payload.decode().split(",")) == sorted(names), p.payload

    # a retained one is there for a subscriber that comes later
    late = m.Conn(n1.port, 5, host=n1.host)
    assert late.connect("sys-late").reason == 0
    late.subscribe([("$SYS/brokers/%s/sysdescr" % names[0], 0)])
    p = until(late, r"\$SYS/brokers/%s/sysdescr" % node)
    assert (p.payload, p.retain) == (b"Starling", 1), p

    # events of a client on node 1, seen on node 2
    c = m.Conn(n1.port, 5, host=n1.host)
    assert c.connect("sys-c1", clean=False, username="alice", keepalive=30,
                     properties={"session_expiry": 60}).reason == 0
    p = until(watch, r"\$SYS/brokers/%s/clients/sys-c1/connected" % node)
    ev = json.loads(p.payload)
    assert (ev["clientid"], ev["username"], ev["proto_ver"], ev["proto_name"], ev["keepalive"],
            ev["clean_start"], ev["ipaddress"], ev["protocol"]) == (
        "sys-c1", "alice", 5, "MQTT", 30, False, "127.0.0.1", "mqtt"), ev
    assert ev["sockport"] == n1.port and ev["connected_at"] > 0 and ev["ts"] > 0, ev
    c.subscribe([("a/b", 1)])
    ev = json.loads(until(watch, r"\$SYS/brokers/%s/clients/sys-c1/subscribed" % node).payload)
    assert (ev["topic"], ev["subopts"]["qos"]) == ("a/b", 1), ev
    c.unsubscribe(["a/b"])
    ev = json.loads(until(watch, r"\$SYS/brokers/%s/clients/sys-c1/unsubscribed" % node).payload)
    assert ev["topic"] == "a/b", ev
    c.disconnect()
    ev = json.loads(until(watch, r"\$SYS/brokers/%s/clients/sys-c1/disconnected" % node).payload)
    assert (ev["clientid"], ev["reason"]) == ("sys-c1", "normal") and ev["disconnected_at"], ev

    # taken over by a new connection: that reason (3.1.1 client without a username)
    c = m.Conn(n1.port, 4, host=n1.host)
    assert c.connect("sys-c2").reason == 0
    ev = json.loads(until(watch, r"\$SYS/brokers/%s/clients/sys-c2/connected" % node).payload)
    assert (ev["username"], ev["proto_ver"], ev["clean_start"]) == ("undefined", 4, True), ev
    c2 = m.Conn(n1.port, 4, host=n1.host)
    assert c2.connect("sys-c2").reason == 0
    ev = json.loads(until(watch, r"\$SYS/brokers/%s/clients/sys-c2/disconnected" % node).payload)
    assert ev["reason"] == "takenover", ev
    for x in (c, c2, late, watch):
        x.close()


def test_sys_topics_follow_authorization_and_can_be_turned_off(broker_factory, tmp_path):
    acl = tmp_path / "acl.conf"
    acl.write_text('{deny, {username, "nosys"}, subscribe, ["$SYS/#"]}.\n{allow, all}.\n')
    b = broker_factory(dict(SYS, **{
        "authorization.sources": [{"type": "file", "path": str(acl)}],
        "sys_topics.sys_event_messages.client_connected": False})).start()
    no = m.Conn(b.port, 5)
    assert no.connect("sys-no", username="nosys").reason == 0
    assert no.subscribe([("$SYS/#", 0)]).reasons == [0x87]
    yes = m.Conn(b.port, 5)
    assert yes.connect("sys-yes", username="ops").reason == 0
    assert yes.subscribe([("$SYS/brokers/+/clients/#", 0), ("$SYS/brokers/+/uptime", 0)]).reasons \
        == [0, 0]
    c = m.Conn(b.port, 5)
    assert c.connect("sys-off").reason == 0
    c.disconnect()
    # connected events are off, disconnected ones on: sys-off's first event is its disconnect
    while True:
        p = yes.expect_publish(timeout=10)
        if "/clients/sys-off/" in p.topic:
            break
    assert p.topic.endswith("/clients/sys-off/disconnected"), p.topic
    for x in (no, yes):
        x.close()


def test_sys_intervals_from_the_environment_with_emqx_names(broker_factory):
    """An env-only setup with EMQX's variable names: EMQX_SYS_TOPICS__SYS_HEARTBEAT_INTERVAL
    sets the heartbeat (the uptime comes every second, not every 30 s), and
    EMQX_PROMETHEUS__ENABLE_BASIC_AUTH asks the scrape for a credential."""
    import http.client
    from clusterlib import wait_api
    b = broker_factory()
    b.env = {"EMQX_SYS_TOPICS__SYS_HEARTBEAT_INTERVAL": "1s",
             "EMQX_PROMETHEUS__ENABLE_BASIC_AUTH": "true"}
    b.start()
    wait_api(b)
    c = m.Conn(b.port, 5)
    assert c.connect("sys-env").reason == 0
    c.subscribe([("$SYS/brokers/+/uptime", 0)])
    first = int(until(c, r"\$SYS/brokers/.*/uptime").payload)
    second = int(until(c, r"\$SYS/brokers/.*/uptime").payload)
    assert 0 < second - first < 30000, (first, second)  # closer than the default's 30 s
    conn = http.client.HTTPConnection(b.host, b.api_port, timeout=15)
    conn.request("GET", "/api/v5/prometheus/stats")
    assert conn.getresponse().status == 401
    conn.close()
    c.close()
