"""EMQX's subscription APIs on two nodes (docs/operations.md, "Subscriptions and topics"):
every node's subscriptions listed, filtered and paged, the topics each node has subscribers
for, and a client's own subscriptions read and changed from a node it is not on, connected
or offline, with retained messages sent as a SUBSCRIBE would."""

import time
import urllib.parse

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's management API")


def test_subscriptions_listed_and_changed_from_any_node(broker_factory):
    from clusterlib import api_call, ctl, members_up
    nodes, names = members_up(broker_factory, 2)
    n1, n2 = nodes
    c1 = m.Conn(n1.port, 5, host=n1.host)
    assert c1.connect("sub-c1").reason == 0
    assert c1.subscribe([("s/a", 1), ("$share/g/s/b", 0)]).reasons == [1, 0]
    c2 = m.Conn(n2.port, 5, host=n2.host)
    assert c2.connect("sub-c2", clean=False, properties={"session_expiry": 600}).reason == 0
    assert c2.subscribe([("s/#", 2)], ).reasons == [2]
    c2.disconnect()  # offline; its session stays

    def get(node, path):
        st, body = api_call(node, "GET", path)
        assert st == 200, (path, st, body)
        return body

    def pairs(body):
        return [(x["clientid"], x["topic"]) for x in body["data"]]

    body = get(n2, "/api/v5/subscriptions")
    assert pairs(body) == [("sub-c1", "$share/g/s/b"), ("sub-c1", "s/a"), ("sub-c2", "s/#")], body
    assert body["meta"] == {"page": 1, "limit": 100, "hasnext": False, "count": 3}, body
    first = body["data"][1]
    assert (first["node"], first["qos"], first["nl"], first["rap"], first["durable"]) == (
        names[0], 1, 0, 0, False), first
    assert body["data"][2]["node"] == names[1] and body["data"][2]["durable"] is True, body
    for q, want in [("clientid=sub-c2", [("sub-c2", "s/#")]),
                    ("topic=s%2Fa", [("sub-c1", "s/a")]),
                    ("qos=0", [("sub-c1", "$share/g/s/b")]),
                    ("share_group=g", [("sub-c1", "$share/g/s/b")]),
                    ("match_topic=s%2Fa", [("sub-c1", "s/a"), ("sub-c2", "s/#")]),
                    ("node=" + urllib.parse.quote(names[1]), [("sub-c2", "s/#")])]:
        assert pairs(get(n1, "/api/v5/subscriptions?" + q)) == want, q
    body = get(n1, "/api/v5/subscriptions?limit=2&page=2")
    assert pairs(body) == [("sub-c2", "s/#")] and body["meta"]["hasnext"] is False, body
    for q in ("match_topic=%24share%2Fg%2Fx", "qos=5", "limit=0", "topic=a%2F%23%2Fb"):
        st, body = api_call(n1, "GET", "/api/v5/subscriptions?" + q)
        assert (st, body["code"]) == (400, "INVALID_PARAMETER"), (q, body)

    body = get(n1, "/api/v5/topics")
    assert [(x["topic"], x["node"]) for x in body["data"]] == [
        ("$share/g/s/b", names[0]), ("s/a", names[0]), ("s/#", names[1])], body
    assert body["meta"]["count"] == 3, body
    st, body = api_call(n2, "GET", "/api/v5/topics/" + urllib.parse.quote("s/a", safe=""))
    assert (st, body) == (200, [{"topic": "s/a", "node": names[0]}]), body
    st, body = api_call(n2, "GET", "/api/v5/topics/nothing")
    assert (st, body["code"]) == (404, "TOPIC_NOT_FOUND"), body

    # `starling ctl subscriptions list|show|add|del`, `ctl topics list|show`
    r = ctl(n1, "subscriptions", "list")
    assert r.stdout.splitlines() == [
        "sub-c1 -> topic:$share/g/s/b qos:0 nl:0 rap:0 rh:0",
        "sub-c1 -> topic:s/a qos:1 nl:0 rap:0 rh:0",
        "sub-c2 -> topic:s/# qos:2 nl:0 rap:0 rh:0"], (r.stdout, r.stderr)
    r = ctl(n2, "subscriptions", "show", "sub-c2")
    assert r.stdout == "sub-c2 -> topic:s/# qos:2 nl:0 rap:0 rh:0\n", (r.stdout, r.stderr)
    r = ctl(n2, "topics", "list")
    assert r.stdout.splitlines() == ["$share/g/s/b -> %s" % names[0], "s/a -> %s" % names[0],
                                     "s/# -> %s" % names[1]], (r.stdout, r.stderr)
    r = ctl(n2, "topics", "show", "s/a")
    assert r.stdout == "s/a -> %s\n" % names[0], (r.stdout, r.stderr)
    r = ctl(n2, "subscriptions", "add", "sub-c2", "ctl/t", "1")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    r = ctl(n1, "subscriptions", "del", "sub-c2", "ctl/t")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    r = ctl(n1, "subscriptions", "add", "nobody", "t", "0")
    assert r.returncode == 1 and "HTTP 404" in r.stderr, r.stderr

    # a client's own, from the other node
    st, body = api_call(n2, "GET", "/api/v5/clients/sub-c1/subscriptions")
    assert st == 200 and sorted(x["topic"] for x in body) == ["$share/g/s/b", "s/a"], body
    st, body = api_call(n2, "GET", "/api/v5/clients/nobody/subscriptions")
    assert (st, body["code"]) == (404, "CLIENTID_NOT_FOUND"), body
    st, body = api_call(n2, "POST", "/api/v5/clients/sub-c1/subscribe", {"topic": "s/new", "qos": 1})
    assert (st, body) == (200, {"topic": "s/new", "qos": 1, "nl": 0, "rap": 0, "rh": 0,
                                "clientid": "sub-c1"}), body
    deadline = time.monotonic() + 15
    while api_call(n2, "POST", "/api/v5/publish", {"topic": "s/new", "payload": "x"})[0] != 200:
        assert time.monotonic() < deadline, "node 2 never learned the new route"
        time.sleep(0.2)
    p = c1.expect_publish()
    assert p.topic == "s/new", p

    # a retained message is sent to a connected client subscribed through the API (rh 0)
    st, _ = api_call(n1, "POST", "/api/v5/publish",
                     {"topic": "r/1", "payload": "kept", "retain": True})
    assert st in (200, 202)
    st, _ = api_call(n2, "POST", "/api/v5/clients/sub-c1/subscribe", {"topic": "r/#"})
    assert st == 200
    while True:
        p = c1.expect_publish()
        if p.topic == "r/1":
            break
    assert (p.payload, p.retain) == (b"kept", 1), p

    # an offline session, changed in bulk; it has them when its client comes back
    st, body = api_call(n1, "POST", "/api/v5/clients/sub-c2/subscribe/bulk",
                        [{"topic": "x/1"}, {"topic": "x/2", "qos": 2, "nl": 1}])
    assert st == 200 and [(x["topic"], x["qos"]) for x in body] == [("x/1", 0), ("x/2", 2)], body
    st, _ = api_call(n1, "POST", "/api/v5/clients/sub-c2/unsubscribe/bulk", [{"topic": "s/#"}])
    assert st == 204
    c2 = m.Conn(n2.port, 5, host=n2.host)
    ca = c2.connect("sub-c2", clean=False, properties={"session_expiry": 600})
    assert ca.session_present == 1
    st, body = api_call(n1, "GET", "/api/v5/clients/sub-c2/subscriptions")
    assert sorted((x["topic"], x["qos"], x["nl"]) for x in body) == [
        ("x/1", 0, 0), ("x/2", 2, 1)], body

    st, _ = api_call(n2, "POST", "/api/v5/clients/sub-c1/unsubscribe", {"topic": "s/a"})
    assert st == 204
    st, body = api_call(n2, "GET", "/api/v5/clients/sub-c1/subscriptions")
    assert "s/a" not in [x["topic"] for x in body], body
    for path, payload, code in [
            ("/api/v5/clients/sub-c1/subscribe", {"topic": "$share/g/t", "nl": 1}, 400),
            ("/api/v5/clients/sub-c1/subscribe", {"topic": "a/#/b"}, 400),
            ("/api/v5/clients/sub-c1/subscribe", {"qos": 1}, 400),
            ("/api/v5/clients/sub-c1/subscribe", {"topic": "t", "qos": 3}, 400),
            ("/api/v5/clients/sub-c1/subscribe/bulk", {"topic": "t"}, 400),
            ("/api/v5/clients/nobody/subscribe", {"topic": "t"}, 404),
            ("/api/v5/clients/nobody/unsubscribe", {"topic": "t"}, 404)]:
        st, body = api_call(n1, "POST", path, payload)
        assert st == code, (path, payload, st, body)
    st, body = api_call(n1, "GET", "/api/v5/clients/sub-c1/subscribe")
    assert (st, body["code"]) == (405, "METHOD_NOT_ALLOWED"), body
    for c in (c1, c2):
        c.close()
