"""EMQX's clients API on a three-node cluster (docs/operations.md, "Clients"): every node's
sessions are listed, filtered and paged from any node; one client is shown and kicked out
from a node it is not connected to (an MQTT 5 client gets DISCONNECT 0x98, its session
ends), bulk kicks, and bad parameters, unknown clients and other methods get EMQX's errors."""

import urllib.parse

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's management API")


def test_clients_are_listed_shown_and_kicked_from_any_node(broker_factory):
    from clusterlib import api_call, ctl, members_up
    nodes, names = members_up(broker_factory, 3)
    n1, n2, n3 = nodes

    alice = m.Conn(n3.port, 5, host=n3.host)
    ca = alice.connect("api-alice", clean=False, username="alice",
                       properties={"session_expiry": 300})
    assert ca.reason == 0
    alice.subscribe([("a/#", 1), ("b/#", 0)])
    bob = m.Conn(n2.port, 4, host=n2.host)
    assert bob.connect("api-bob", username="bob").reason == 0
    gone = m.Conn(n2.port, 5, host=n2.host)
    assert gone.connect("api-gone", clean=False, properties={"session_expiry": 600}).reason == 0
    gone.disconnect()  # its session stays, offline

    def get(node, path):
        return api_call(node, "GET", path)

    def ids(body):
        return [c["clientid"] for c in body["data"]]

    st, body = get(n1, "/api/v5/clients")
    assert st == 200, body
    assert sorted(names) == names  # nodes in name order, each one's clients in id order
    assert ids(body) == ["api-bob", "api-gone", "api-alice"], body
    assert body["meta"] == {"page": 1, "limit": 100, "hasnext": False, "count": 3}, body
    by = {c["clientid"]: c for c in body["data"]}
    a = by["api-alice"]
    assert (a["node"], a["connected"], a["username"], a["proto_ver"], a["clean_start"],
            a["expiry_interval"], a["subscriptions_cnt"], a["ip_address"]) == (
        names[2], True, "alice", 5, False, 300, 2, "127.0.0.1"), a
    assert a["listener"] == "tcp:default" and a["port"] > 0 and a["connected_at"], a
    b = by["api-bob"]
    assert (b["node"], b["proto_ver"], b["proto_name"], b["clean_start"], b["username"]) == (
        names[1], 4, "MQTT", True, "bob"), b
    g = by["api-gone"]
    assert (g["node"], g["connected"], g["expiry_interval"], g["username"]) == (
        names[1], False, 600, None), g
    assert g["disconnected_at"] and "ip_address" not in g, g

    # filters
    for query, want in [("username=alice", ["api-alice"]),
                        ("like_clientid=o", ["api-bob", "api-gone"]),
                        ("conn_state=disconnected", ["api-gone"]),
                        ("conn_state=connected", ["api-alice", "api-bob"]),
                        ("proto_ver=4", ["api-bob"]),
                        ("clean_start=false", ["api-alice"]),
                        ("node=" + urllib.parse.quote(names[1]), ["api-bob", "api-gone"]),
                        ("clientid=api-gone", ["api-gone"]),
                        ("ip_address=127.0.0.1", ["api-alice", "api-bob"]),
                        ("gte_connected_at=2000-01-01T00:00:00Z", ["api-alice", "api-bob"]),
                        ("lte_connected_at=946684800000", [])]:
        st, body = get(n1, "/api/v5/clients?" + query)
        assert st == 200 and sorted(ids(body)) == want, (query, body)
    st, body = get(n1, "/api/v5/clients?like_username=li")
    assert ids(body) == ["api-alice"] and "count" not in body["meta"], body

    # paging across nodes: nodes in name order, each node's clients in client id order
    pages = []
    for page in (1, 2):
        st, body = get(n2, "/api/v5/clients?limit=2&page=%d" % page)
        assert st == 200 and body["meta"]["count"] == 3, body
        assert body["meta"]["hasnext"] is (page == 1), body
        pages.append(ids(body))
    assert pages == [["api-bob", "api-gone"], ["api-alice"]], pages

    # bad parameters, unknown client, other methods
    for query in ("limit=0", "page=0", "limit=10001", "conn_state=sleepy", "proto_ver=9",
                  "clean_start=maybe", "gte_connected_at=yesterday"):
        st, body = get(n1, "/api/v5/clients?" + query)
        assert st == 400 and body["code"] == "INVALID_PARAMETER", (query, st, body)
    st, body = get(n1, "/api/v5/clients/nobody")
    assert (st, body["code"]) == (404, "CLIENTID_NOT_FOUND"), body
    st, body = api_call(n1, "DELETE", "/api/v5/clients/nobody")
    assert (st, body["code"]) == (404, "CLIENTID_NOT_FOUND"), body
    st, body = api_call(n1, "PUT", "/api/v5/clients")
    assert (st, body["code"]) == (405, "METHOD_NOT_ALLOWED"), body
    st, body = api_call(n1, "POST", "/api/v5/clients/kickout/bulk", {"not": "a list"})
    assert (st, body["code"]) == (400, "BAD_REQUEST"), body

    # `starling ctl clients list|show` print them the way `emqx ctl clients` does
    r = ctl(n1, "clients", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split(",")[0] for ln in lines] == [
        "Client(api-bob", "Client(api-gone", "Client(api-alice"], r.stdout
    assert "username=alice" in lines[2] and "node=%s" % names[2] in lines[2], lines
    assert "connected=false" in lines[1], lines
    r = ctl(n1, "clients", "show", "api-bob")
    assert r.returncode == 0 and r.stdout.startswith("Client(api-bob, username=bob"), r.stdout
    r = ctl(n1, "clients", "show", "nobody")
    assert r.returncode == 1 and "HTTP 404" in r.stderr, r.stderr

    # one client, shown and kicked out from a node it is not connected to
    st, body = get(n1, "/api/v5/clients/api-alice")
    assert st == 200 and body["node"] == names[2] and body["connected"] is True, body
    st, _ = api_call(n1, "DELETE", "/api/v5/clients/api-alice")
    assert st == 204
    d = alice.expect_disconnect([0x98])
    assert d.reason == 0x98
    st, body = get(n2, "/api/v5/clients/api-alice")
    assert st == 404, body  # its session went with it

    # bulk: a connected 3.1.1 client (closed) and an offline session (discarded)
    st, _ = api_call(n3, "POST", "/api/v5/clients/kickout/bulk", ["api-bob", "api-gone"])
    assert st == 204
    bob.expect_closed()
    st, body = get(n3, "/api/v5/clients")
    assert (st, ids(body), body["meta"]["count"]) == (200, [], 0), body
    last = m.Conn(n1.port, 5, host=n1.host)
    assert last.connect("api-last").reason == 0
    r = ctl(n2, "clients", "kick", "api-last")
    assert (r.returncode, r.stdout) == (0, "ok\n"), (r.stdout, r.stderr)
    last.expect_disconnect([0x98])
    again = m.Conn(n2.port, 5, host=n2.host)
    assert again.connect("api-gone", clean=False,
                         properties={"session_expiry": 600}).session_present == 0
    again.close()


def test_a_clients_queue_and_inflight_messages_from_another_node(broker_factory):
    """GET /clients/{id}/inflight_messages and /mqueue_messages on a node the session is not
    on: the message sent and not acknowledged (with its packet id), then the queue in order,
    paged by position, with the payload in base64, plain or left out."""
    import base64
    from clusterlib import api_call, members_up
    nodes, names = members_up(broker_factory, 2)
    n1, n2 = nodes
    dev = m.Conn(n2.port, 5, host=n2.host)
    assert dev.connect("mq-dev", clean=False, properties={"session_expiry": 600}).reason == 0
    dev.subscribe([("mq/#", 1)])
    pub = m.Conn(n2.port, 5, host=n2.host)
    assert pub.connect("mq-pub").reason == 0
    assert pub.publish("mq/0", b"m0", qos=1).reason == 0
    first = dev.expect_publish(auto_ack=False)
    dev.disconnect()  # offline, m0 still in flight
    for i in range(1, 6):
        assert pub.publish("mq/%d" % i, b"m%d" % i, qos=1).reason == 0
    pub.ping()

    st, body = api_call(n1, "GET", "/api/v5/clients/mq-dev/inflight_messages")
    assert st == 200 and len(body["data"]) == 1, body
    x = body["data"][0]
    assert (x["topic"], x["qos"], x["packet_id"], base64.b64decode(x["payload"])) == (
        "mq/0", 1, first.packet_id, b"m0"), x
    assert body["meta"] == {"start": "0", "position": "none"}, body
    st, body = api_call(n1, "GET", "/api/v5/clients/mq-dev/mqueue_messages?limit=2&payload=plain")
    assert [(x["topic"], x["payload"]) for x in body["data"]] == [("mq/1", "m1"), ("mq/2", "m2")]
    assert body["meta"] == {"start": "0", "position": "2"}, body
    st, body = api_call(n1, "GET", "/api/v5/clients/mq-dev/mqueue_messages?position=2&payload=none")
    assert [x["topic"] for x in body["data"]] == ["mq/3", "mq/4", "mq/5"], body
    assert "payload" not in body["data"][0] and body["meta"]["position"] == "none", body
    for q in ("limit=0", "payload=hex", "position=x"):
        st, body = api_call(n1, "GET", "/api/v5/clients/mq-dev/mqueue_messages?" + q)
        assert (st, body["code"]) == (400, "INVALID_PARAMETER"), (q, body)
    st, body = api_call(n1, "GET", "/api/v5/clients/nobody/mqueue_messages")
    assert (st, body["code"]) == (404, "CLIENTID_NOT_FOUND"), body
    pub.close()


def test_pages_of_many_clients_are_whole_and_in_order(broker):
    """Each worker keeps only a page's worth while it looks: 40 clients paged by 7 (and one
    filter) come back all, once each, in client id order, with the count of them all."""
    from clusterlib import api_call, wait_api
    wait_api(broker)
    conns = []
    for i in range(40):
        c = m.Conn(broker.port, 5, host=broker.host)
        assert c.connect("many-%02d" % ((i * 17) % 40)).reason == 0
        conns.append(c)
    seen = []
    for page in range(1, 8):
        st, body = api_call(broker, "GET", "/api/v5/clients?limit=7&page=%d" % page)
        assert st == 200 and body["meta"]["count"] == 40, body["meta"]
        assert body["meta"]["hasnext"] is (page < 6), (page, body["meta"])
        seen += [c["clientid"] for c in body["data"]]
    assert seen == ["many-%02d" % i for i in range(40)], seen
    st, body = api_call(broker, "GET", "/api/v5/clients?like_clientid=-3&limit=3&page=2")
    assert st == 200 and [c["clientid"] for c in body["data"]] == [
        "many-33", "many-34", "many-35"], body  # many-30, -31, -32 are page 1
    for c in conns:
        c.close()
