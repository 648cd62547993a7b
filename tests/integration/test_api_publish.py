"""EMQX's publish and retained-message APIs on two nodes (docs/operations.md, "Publish" and
"Retained messages"): a message published through one node reaches a subscriber on the
other with its properties, the answer says when nobody received it, bad messages get EMQX's
reason codes, bulk publishing, and retained messages listed, read and deleted from any node."""

import base64
import re
import time
import urllib.parse

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's management API")


def test_publish_through_the_api_reaches_every_node(broker_factory):
    from clusterlib import api_call, members_up
    nodes, names = members_up(broker_factory, 2)
    n1, n2 = nodes
    sub = m.Conn(n2.port, 5, host=n2.host)
    assert sub.connect("api-sub").reason == 0
    sub.subscribe([("pub/#", 1)])
    deadline = time.monotonic() + 15
    while True:  # node 1 has node 2's route once a message published there arrives
        st, body = api_call(n1, "POST", "/api/v5/publish", {"topic": "pub/probe", "payload": "p"})
        if st == 200:
            break
        assert st == 202 and body == {"reason_code": 16, "message": "no_matching_subscribers"}
        assert time.monotonic() < deadline, "node 1 never learned node 2's route"
        time.sleep(0.2)
    assert until_topic(sub, "pub/probe").payload == b"p"

    st, body = api_call(n1, "POST", "/api/v5/publish", {
        "topic": "pub/a", "payload": base64.b64encode(b"\x00\x01bin").decode(),
        "payload_encoding": "base64", "qos": 1,
        "properties": {"payload_format_indicator": 0, "message_expiry_interval": 60,
                       "content_type": "application/octet-stream", "response_topic": "re/a",
                       "correlation_data": "c-1", "user_properties": {"k": "v", "k2": "v2"}}})
    assert st == 200 and re.fullmatch(r"[0-9a-f]{32}", body["id"]), (st, body)
    p = until_topic(sub, "pub/a")
    assert (p.payload, p.qos) == (b"\x00\x01bin", 1), p
    assert p.props.get("content_type") == "application/octet-stream", p.props
    assert p.props.get("response_topic") == "re/a", p.props
    assert p.props.get("correlation_data") == b"c-1", p.props
    assert [tuple(x) for x in p.props.all("user")] == [("k", "v"), ("k2", "v2")], p.props
    assert 0 < p.props.get("message_expiry") <= 60, p.props

    st, body = api_call(n1, "POST", "/api/v5/publish", {"topic": "nobody/x", "payload": "x"})
    assert (st, body) == (202, {"reason_code": 16, "message": "no_matching_subscribers"})
    for msg, code in [({"topic": "pub/+", "payload": "x"}, 144),
                      ({"payload": "x"}, 144),
                      ({"topic": "pub/a"}, 131),
                      ({"topic": "pub/a", "payload": "!!", "payload_encoding": "base64"}, 131),
                      ({"topic": "pub/a", "payload": "x", "qos": 3}, 131),
                      ({"topic": "pub/a", "payload": "x", "payload_encoding": "hex"}, 131),
                      ({"topic": "pub/a", "payload": "x", "properties": {"user_properties": 5}},
                       131)]:
        st, body = api_call(n1, "POST", "/api/v5/publish", msg)
        assert st == 400 and body["reason_code"] == code, (msg, st, body)

    st, body = api_call(n2, "POST", "/api/v5/publish/bulk", [
        {"topic": "pub/b1", "payload": "1"}, {"topic": "nobody/y", "payload": "2"},
        {"topic": "pub/b2", "payload": "3", "qos": 2}])
    assert st == 202 and len(body) == 3, (st, body)
    assert "id" in body[0] and body[1]["reason_code"] == 16 and "id" in body[2], body
    assert until_topic(sub, "pub/b1").payload == b"1"
    assert until_topic(sub, "pub/b2").payload == b"3"
    st, body = api_call(n2, "POST", "/api/v5/publish/bulk", [
        {"topic": "pub/ok", "payload": "1"}, {"topic": "bad/#", "payload": "2"}])
    assert (st, body["reason_code"]) == (400, 144), body  # nothing of a bad batch goes out
    st, body = api_call(n2, "POST", "/api/v5/publish/bulk", {"topic": "pub/ok"})
    assert st == 400, body
    st, body = api_call(n1, "GET", "/api/v5/publish")
    assert (st, body["code"]) == (405, "METHOD_NOT_ALLOWED"), body
    sub.close()


def until_topic(c, topic, timeout=10):
    while True:
        p = c.expect_publish(timeout=timeout)
        if p.topic == topic:
            return p


def test_retained_messages_listed_read_and_deleted_from_any_node(broker_factory):
    from clusterlib import api_call, members_up
    nodes, names = members_up(broker_factory, 2)
    n1, n2 = nodes
    for i in range(3):
        st, _ = api_call(n1, "POST", "/api/v5/publish",
                         {"topic": "ret/%d" % i, "payload": "r%d" % i, "qos": 1, "retain": True})
        assert st in (200, 202)
    q = urllib.parse.quote("ret/1", safe="")

    def listed(n):
        st, body = api_call(n, "GET", "/api/v5/mqtt/retainer/messages?limit=2&page=1&topic=ret%2F%23")
        assert st == 200, body
        return body

    deadline = time.monotonic() + 15
    while [x["topic"] for x in listed(n2)["data"]] != ["ret/0", "ret/1"]:
        assert time.monotonic() < deadline, listed(n2)  # node 1's retained reach node 2
        time.sleep(0.1)
    body = listed(n2)
    assert body["meta"]["count"] == 3 and body["meta"]["hasnext"] is True, body
    st, every = api_call(n2, "GET", "/api/v5/mqtt/retainer/messages")
    assert "$SYS/brokers" in [x["topic"] for x in every["data"]], every  # every topic
    assert body["data"][0]["qos"] == 1 and body["data"][0]["publish_at"], body
    st, one = api_call(n2, "GET", "/api/v5/mqtt/retainer/message/" + q)
    assert st == 200 and base64.b64decode(one["payload"]) == b"r1" and one["topic"] == "ret/1"
    st, _ = api_call(n2, "DELETE", "/api/v5/mqtt/retainer/message/" + q)
    assert st == 204
    deadline = time.monotonic() + 15
    while api_call(n1, "GET", "/api/v5/mqtt/retainer/message/" + q)[0] != 404:
        assert time.monotonic() < deadline, "the delete did not reach node 1"
        time.sleep(0.1)
    st, body = api_call(n1, "GET", "/api/v5/mqtt/retainer/message/" + q)
    assert (st, body["code"]) == (404, "NOT_FOUND"), body
    s = m.Conn(n1.port, 5, host=n1.host)
    assert s.connect("ret-sub").reason == 0
    s.subscribe([("ret/#", 1)])
    s.send(m.pingreq())  # the retained messages go out right after the SUBACK, before this
    got = []
    while True:
        p = s.recv(5)
        assert p is not None, "no PINGRESP"
        if p.type == m.PINGRESP:
            break
        got.append(p.topic)
    assert sorted(got) == ["ret/0", "ret/2"], got
    assert api_call(n1, "GET", "/api/v5/mqtt/retainer/messages?limit=0")[0] == 400
    assert api_call(n1, "GET", "/api/v5/mqtt/retainer/messages?topic=a%2F%23%2Fb")[0] == 400
    assert api_call(n1, "POST", "/api/v5/mqtt/retainer/messages")[0] == 405
    s.close()
