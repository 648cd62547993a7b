"""Authorization's built_in_database across the cluster (docs/security.md §9): its rules
are rows of the control plane's replicated table, so a rule written on one node holds on
every node, and after a restart of them all."""

import time

import pytest

import mqttraw as m
from clusterlib import Cluster, api_call as api, start_formed, wait_status

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
    names = start_formed(cl, nodes)
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


def pub_reason(c, topic):
    pid = c.next_id()
    c.send(m.publish(topic, b"x", qos=1, packet_id=pid, version=5))
    r = c.expect(m.PUBACK, timeout=30, stash=True).reason
    return 0 if r == 0x10 else r


def test_a_reload_and_a_cache_clean_reach_every_node(broker_factory, tmp_path):
    """Each node reads its own acl.conf. `ctl acl reload` on one node makes every node read
    its file again (a client connected to another node is denied at once), and DELETE
    /authorization/cache on one node makes every node forget its decisions (a client of
    another node asks the http source again, which now says no)."""
    from http.server import BaseHTTPRequestHandler

    from clusterlib import ctl
    from httpsvc import answer, serve

    verdict = {"v": "allow"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer(self, 200, {"result": verdict["v"]})

    server, port = serve(Handler)
    cl = Cluster(broker_factory, 2)
    files = [tmp_path / ("acl%d.conf" % i) for i in range(2)]
    nodes = []
    for i in range(2):
        files[i].write_text('{allow, all, publish, ["file/#"]}.\n')
        nodes.append(cl.node(i, seeds=(0, 1), **{"authorization.sources": [
            {"type": "file", "path": str(files[i])},
            {"type": "http", "url": "http://127.0.0.1:%d/authz" % port,
             "body": {"topic": "${topic}"}}], "authorization.no_match": "deny"}))
    start_formed(cl, nodes)
    c = m.Conn(nodes[1].port, 5, host=nodes[1].host)
    assert c.connect("far").reason == 0
    assert pub_reason(c, "file/1") == 0
    assert pub_reason(c, "svc/1") == 0  # the service allows, and it is cached
    for f in files:
        f.write_text('{deny, all, publish, ["file/#"]}.\n')
    r = ctl(nodes[0], "acl", "reload")
    assert r.returncode == 0 and r.stdout.count('"rules":1') == 2, r.stdout + r.stderr
    assert pub_reason(c, "file/1") == 0x87  # node 2 read its file again
    assert pub_reason(c, "svc/1") == 0  # (a reload forgets the cache too) cached again
    verdict["v"] = "deny"
    assert pub_reason(c, "svc/1") == 0  # still cached
    assert api(nodes[0], "DELETE", "/api/v5/authorization/cache") == (204, None)
    assert pub_reason(c, "svc/1") == 0x87  # asked again
    c.close()
    server.shutdown()
