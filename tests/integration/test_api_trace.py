"""EMQX's log traces (docs/operations.md, "Traces"): a trace made on one node of three is every
node's; the node a traced client is on writes its packets (or a topic's PUBLISHes, or an
address's packets) to its file, which any node's API lists, reads and downloads; a stopped
trace writes nothing more, a deleted one's files go; bad definitions are refused; and `ctl
traces` does the same."""

import json
import os
import time
import urllib.parse
import urllib.request

import pytest

import mqttraw as m
from clusterlib import api_call, ctl, members_up

pytestmark = pytest.mark.starling_only("Starling's traces")


def trace_file(b, name):
    return os.path.join(b.dir, "data", "trace", name + ".log")


def wait_lines(b, name, *needles, timeout=15):
    """The trace's file on b once it holds every needle."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(trace_file(b, name)) as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        if all(n in text for n in needles):
            return text
        assert time.monotonic() < deadline, "%s lacks %r:\n%s" % (name, needles, text)
        time.sleep(0.05)


def size(b, name):
    try:
        return os.path.getsize(trace_file(b, name))
    except FileNotFoundError:
        return 0


def test_traces_on_a_cluster(broker_factory):
    nodes, names = members_up(broker_factory, 3)
    n1, n2, n3 = nodes
    st, t = api_call(n1, "POST", "/api/v5/trace", {"name": "by-client", "type": "clientid",
                                                     "clientid": "traced", "payload_encode": "hex"})
    assert st == 200 and t["status"] == "running" and t["clientid"] == "traced", t
    st, t = api_call(n2, "POST", "/api/v5/trace", {"name": "by-topic", "type": "topic",
                                                     "topic": "tt/+"})
    assert st == 200, t

    sub = m.Conn(n3.port, 5, host=n3.host)  # the traced client is on node 3
    assert sub.connect("traced").reason == 0
    sub.subscribe([("tt/#", 1)])
    pub = m.Conn(n2.port, 5, host=n2.host)
    assert pub.connect("publisher").reason == 0
    deadline = time.monotonic() + 15
    while True:  # until node 2 has node 3's route
        pub.publish("tt/probe", b"p", qos=1)
        try:
            if sub.expect_publish(timeout=0.5).topic == "tt/probe":
                break
        except Exception:
            pass
        assert time.monotonic() < deadline
    assert pub.publish("tt/1", b"hello", qos=1).reason == 0
    assert sub.expect_publish().payload == b"hello"
    assert pub.publish("elsewhere", b"x", qos=1).reason in (0, 0x10)

    text = wait_lines(n3, "by-client", "CONNECT(Q0, R0, D0, ClientId=traced",
                      "SUBSCRIBE(Q1, R0, D0, PacketId=1, TopicFilters=[tt/#(Q1)])",
                      "Topic=tt/1, PacketId=", "Payload=68656C6C6F", "mqtt_packet_sent")
    assert "traced@" in text, text
    text = wait_lines(n2, "by-topic", "mqtt_packet_received, packet: PUBLISH(Q1, R0, D0, "
                      "Topic=tt/1, PacketId=", "Payload=hello")
    assert "elsewhere" not in text and "publisher@" in text, text
    assert not os.path.exists(trace_file(n1, "by-client"))  # nothing of it went through node 1

    # any node lists both, with each node's file size; reads a node's lines; downloads them
    st, lst = api_call(n1, "GET", "/api/v5/trace")
    assert st == 200, lst
    by = {x["name"]: x for x in lst}
    assert by["by-client"]["log_size"][names[2]] == size(n3, "by-client"), by
    assert names[0] not in by["by-client"]["log_size"], by
    st, lines = api_call(n1, "GET", "/api/v5/trace/by-client/log?node=%s&bytes=100000"
                         % urllib.parse.quote(names[2]))
    assert st == 200 and "ClientId=traced" in lines["items"], lines
    assert lines["meta"]["position"] == size(n3, "by-client"), lines
    st, detail = api_call(n2, "GET", "/api/v5/trace/by-client/log_detail")
    assert st == 200 and [d["node"] for d in detail] == [names[2]], detail
    with urllib.request.urlopen("http://%s:%d/api/v5/trace/by-client/download" % (
            n1.host, n1.api_port), timeout=15) as r:
        dl = r.read().decode()
    assert dl.startswith("# %s\n" % names[2]) and "ClientId=traced" in dl, dl

    # stopped: once node 3 has it, nothing more is written
    st, t = api_call(n1, "PUT", "/api/v5/trace/by-client/stop")
    assert st == 200 and t["status"] == "stopped", t
    deadline = time.monotonic() + 15
    quiet = 0
    while quiet < 3:  # three deliveries in a row that left the file as it was
        before = size(n3, "by-client")
        assert pub.publish("tt/2", b"after", qos=1).reason == 0
        sub.expect_publish()
        quiet = quiet + 1 if size(n3, "by-client") == before else 0
        assert time.monotonic() < deadline, "the stop never reached node 3"
    assert [x["status"] for x in api_call(n3, "GET", "/api/v5/trace")[1]
            if x["name"] == "by-client"] == ["stopped"]

    # deleted: gone from the list and its file from node 3
    assert api_call(n2, "DELETE", "/api/v5/trace/by-client")[0] == 204
    deadline = time.monotonic() + 15
    while os.path.exists(trace_file(n3, "by-client")):
        assert time.monotonic() < deadline, "node 3 kept the deleted trace's file"
        time.sleep(0.05)
    assert [x["name"] for x in api_call(n3, "GET", "/api/v5/trace")[1]] == ["by-topic"]
    assert api_call(n1, "GET", "/api/v5/trace/by-client/log")[0] == 404
    assert api_call(n1, "DELETE", "/api/v5/trace")[0] == 204
    assert api_call(n1, "GET", "/api/v5/trace")[1] == []
    for c in (sub, pub):
        c.close()


def test_an_address_trace_and_bad_definitions(broker):
    from clusterlib import wait_api
    wait_api(broker)
    c = m.Conn(broker.port, 4, host=broker.host)
    assert c.connect("by-address").reason == 0
    st, info = api_call(broker, "GET", "/api/v5/clients/by-address")
    assert st == 200, info
    st, t = api_call(broker, "POST", "/api/v5/trace", {
        "name": "addr", "type": "ip_address", "ip_address": info["ip_address"],
        "payload_encode": "hidden", "end_at": int(time.time()) + 3600})
    assert st == 200, t
    c.publish("secret/topic", b"do not show", qos=1)
    text = wait_lines(broker, "addr", "Topic=secret/topic", "Payload=******")
    assert "do not show" not in text, text

    bad = [({"name": "x y", "type": "topic", "topic": "a"}, "name"),
           ({"name": "t", "type": "nothing", "topic": "a"}, "type"),
           ({"name": "t", "type": "topic"}, "required"),
           ({"name": "t", "type": "topic", "topic": "a/#/b"}, "topic"),
           ({"name": "t", "type": "ip_address", "ip_address": "300.1.1.1"}, "ip_address"),
           ({"name": "t", "type": "topic", "topic": "a", "end_at": "2001-01-01T00:00:00Z"},
            "end_at"),
           ({"name": "t", "type": "topic", "topic": "a", "start_at": "yesterday"}, "start_at"),
           ({"name": "t", "type": "topic", "topic": "a", "payload_encode": "base64"},
            "payload_encode")]
    for body, word in bad:
        st, err = api_call(broker, "POST", "/api/v5/trace", body)
        assert (st, err["code"]) == (400, "INVALID_PARAMS") and word in err["message"], (body,
                                                                                         err)
    st, err = api_call(broker, "POST", "/api/v5/trace", {"name": "addr", "type": "topic",
                                                         "topic": "a"})
    assert (st, err["code"]) == (409, "ALREADY_EXISTS"), err
    assert api_call(broker, "GET", "/api/v5/trace/nope/log")[0] == 404
    assert api_call(broker, "PATCH", "/api/v5/trace")[0] == 405
    assert api_call(broker, "GET", "/api/v5/trace/addr/stop")[0] == 405

    # ctl traces (EMQX's): start, list, stop, delete
    r = ctl(broker, "traces", "start", "from-ctl", "topic", "ctl/#", "600")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "running", (r.stdout, r.stderr)
    c.publish("ctl/x", b"y", qos=1)
    wait_lines(broker, "from-ctl", "Topic=ctl/x")
    r = ctl(broker, "traces", "list")
    assert r.returncode == 0 and {x["name"] for x in json.loads(r.stdout)} == {"addr",
                                                                               "from-ctl"}, r.stdout
    assert ctl(broker, "traces", "stop", "from-ctl").returncode == 0
    assert ctl(broker, "traces", "delete", "from-ctl").returncode == 0
    r = ctl(broker, "traces", "delete", "from-ctl")
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr, r.stderr
    assert ctl(broker, "traces", "start", "x", "nothing", "v").returncode == 2
    c.close()
