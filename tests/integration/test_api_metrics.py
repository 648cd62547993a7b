"""EMQX's metrics and stats on a three-node cluster (docs/operations.md, "Metrics and
stats"): each node counts what it did, with EMQX's names, shown per node, for one node and
summed; the Prometheus scrape in its three modes, without a credential unless
prometheus.enable_basic_auth; and a real Prometheus server scraping the three nodes answers
a PromQL query with the cluster's connection count."""

import http.client
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's management API")


def scrape(b, mode=None, headers=None):
    """(status, content type, body) of the Prometheus scrape, with exactly these headers (not
    through urllib, whose opener the harness gives its API key)."""
    path = "/api/v5/prometheus/stats" + ("?mode=" + mode if mode else "")
    conn = http.client.HTTPConnection(b.host, b.api_port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def samples(text):
    """{'name{labels}': value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def three_nodes(broker_factory, **conf):
    from clusterlib import members_up
    return members_up(broker_factory, 3, **conf)


def test_metrics_and_stats_are_counted_per_node_and_summed(broker_factory):
    from clusterlib import api_call
    nodes, names = three_nodes(broker_factory)
    n1, n2, n3 = nodes
    sub = m.Conn(n2.port, 5, host=n2.host)
    assert sub.connect("met-sub").reason == 0
    sub.subscribe([("met/#", 1)])
    pub = m.Conn(n1.port, 5, host=n1.host)
    assert pub.connect("met-pub").reason == 0
    idle = m.Conn(n1.port, 4, host=n1.host)
    assert idle.connect("met-idle").reason == 0
    deadline = time.monotonic() + 15
    while True:  # until node 1 has node 2's route: the first message that arrives
        assert pub.publish("met/probe", b"p", qos=1).reason in (0, 0x10)
        try:
            if sub.expect_publish(timeout=0.5).topic == "met/probe":
                break
        except Exception:
            pass
        assert time.monotonic() < deadline, "node 1 never learned node 2's route"
    st, before = api_call(n3, "GET", "/api/v5/nodes/%s/metrics" % urllib.parse.quote(names[0]))
    assert st == 200 and before["node"] == names[0], before
    for i in range(5):
        assert pub.publish("met/%d" % i, b"x" * 10, qos=1).reason == 0
    got = []
    while len(got) < 5:
        p = sub.expect_publish()
        if p.topic != "met/probe":  # a probe from before may still come
            got.append(p.topic)
    assert got == ["met/%d" % i for i in range(5)], got
    assert pub.publish("nobody/here", b"y", qos=1).reason == 0x10  # no matching subscribers
    sub.ping()

    st, after = api_call(n3, "GET", "/api/v5/nodes/%s/metrics" % urllib.parse.quote(names[0]))
    assert st == 200, after

    def delta(key):
        return after[key] - before[key]
    assert (delta("messages.qos1.received"), delta("messages.received"),
            delta("packets.publish.received"), delta("packets.puback.sent"),
            delta("messages.dropped.no_subscribers"), delta("messages.dropped")) == (
        6, 6, 6, 6, 1, 1), after
    assert after["packets.connect.received"] >= 2 and after["client.connected"] >= 2, after
    assert after["bytes.received"] > before["bytes.received"] + 6 * 10, (before, after)

    # the cluster's own: node 1 forwarded the messages to node 2, which received them
    assert delta("messages.forward") >= 5, after  # met/0..4 (nobody/here: no route)
    st, per = api_call(n3, "GET", "/api/v5/metrics")
    assert st == 200 and [x["node"] for x in per] == names, per
    assert per[1]["cluster.forward.received"] >= 5, per[1]
    on2 = per[1]
    assert on2["messages.qos1.sent"] >= 6 and on2["packets.subscribe.received"] == 1, on2
    assert on2["packets.suback.sent"] == 1 and on2["session.created"] >= 1, on2
    st, agg = api_call(n3, "GET", "/api/v5/metrics?aggregate=true")
    assert st == 200 and "node" not in agg, agg
    assert agg["messages.qos1.received"] == sum(x["messages.qos1.received"] for x in per), agg

    st, stats = api_call(n1, "GET", "/api/v5/stats")
    assert st == 200, stats
    by = {x["node"]: x for x in stats}
    assert [by[n]["connections.count"] for n in names] == [2, 1, 0], stats
    assert [by[n]["sessions.count"] for n in names] == [2, 1, 0], stats
    assert by[names[1]]["subscriptions.count"] == 1, stats
    terms = {by[n]["cluster.raft.term"] for n in names}
    assert len(terms) == 1 and min(terms) >= 1, stats  # one Raft log, one term
    assert by[names[0]]["cluster.routes.remote"] >= 1, stats  # node 2's route for met/#
    st, s_agg = api_call(n2, "GET", "/api/v5/stats?aggregate=true")
    # cluster-wide figures are taken once: the registry holds the cluster's 3 client ids
    assert s_agg["cluster.raft.term"] in terms and s_agg["cluster.registry.count"] >= 3, s_agg
    assert (st, s_agg["connections.count"], s_agg["sessions.count"]) == (200, 3, 3), s_agg
    # every node has every retained message ($SYS's here): counted once, not three times
    assert s_agg["retained.count"] == by[names[0]]["retained.count"] > 0, (s_agg, stats)
    st, one = api_call(n2, "GET", "/api/v5/nodes/%s/stats" % urllib.parse.quote(names[2]))
    assert (st, one["node"], one["connections.count"]) == (200, names[2], 0), one

    for path in ("/api/v5/nodes/nobody@127.0.0.9/metrics", "/api/v5/nodes/nobody@x/stats"):
        st, body = api_call(n1, "GET", path)
        assert (st, body["code"]) == (404, "NOT_FOUND"), body
    st, body = api_call(n1, "GET", "/api/v5/metrics?aggregate=maybe")
    assert (st, body["code"]) == (400, "BAD_REQUEST"), body
    st, body = api_call(n1, "POST", "/api/v5/stats", {})
    assert (st, body["code"]) == (405, "METHOD_NOT_ALLOWED"), body

    # `starling ctl broker stats|metrics`: this node's, one "name : value" line each
    from clusterlib import ctl
    r = ctl(n1, "broker", "stats")
    lines = dict((k.strip(), int(v)) for k, v in (ln.split(":") for ln in r.stdout.splitlines()))
    assert r.returncode == 0 and lines["connections.count"] == 2, r.stdout
    r = ctl(n1, "broker", "metrics")
    assert r.returncode == 0 and "messages.qos1.received" in r.stdout, r.stdout

    # Prometheus, no credential: this node's figures, all summed, or one sample per node
    st, ctype, text = scrape(n1)
    assert st == 200 and ctype.startswith("text/plain"), (st, text)
    s = samples(text)
    assert s["emqx_connections_count"] == 2 and s["emqx_cluster_nodes_running"] == 3, text
    assert s["emqx_messages_qos1_received"] == after["messages.qos1.received"], text
    assert s["emqx_packets_connect"] == after["packets.connect.received"], text
    assert "# TYPE emqx_messages_received counter" in text, text
    assert s["emqx_messages_forward"] >= 5 and s["emqx_cluster_raft_term"] >= 1, text
    assert "# TYPE emqx_connections_count gauge" in text, text
    s = samples(scrape(n1, "all_nodes_aggregated")[2])
    assert s["emqx_connections_count"] == 3 and s["emqx_sessions_count"] == 3, s
    s = samples(scrape(n1, "all_nodes_unaggregated")[2])
    assert [s['emqx_connections_count{node="%s"}' % n] for n in names] == [2, 1, 0], s
    # EMQX's /monitor_current (summed, with messages per second) and /sessions_count
    st, mon = api_call(n3, "GET", "/api/v5/monitor_current")
    assert st == 200, mon
    assert (mon["connections"], mon["sessions"], mon["subscriptions"], mon["nodes"]) == (
        3, 3, 1, 3), mon
    assert mon["retained_msg_count"] == s_agg["retained.count"], (mon, s_agg)
    st, mon2 = api_call(n3, "GET", "/api/v5/monitor_current/nodes/%s" % urllib.parse.quote(
        names[1]))
    assert (st, mon2["connections"], mon2["nodes"]) == (200, 1, 1), mon2
    assert api_call(n3, "GET", "/api/v5/monitor_current/nodes/nobody@x")[0] == 404
    deadline = time.monotonic() + 20
    while True:  # a rate covers the time since the node was last asked (>= 1 s)
        assert pub.publish("met/rate", b"r", qos=1).reason == 0
        sub.expect_publish()
        st, mon = api_call(n1, "GET", "/api/v5/monitor_current/nodes/%s" % urllib.parse.quote(
            names[0]))
        if mon["received_msg_rate"] > 0:
            break
        assert time.monotonic() < deadline, mon
        time.sleep(0.2)
    assert mon["dropped_msg_rate"] >= 0 and mon["sent_msg_rate"] >= 0, mon
    assert api_call(n2, "GET", "/api/v5/sessions_count") == (200, 3)
    st, body = api_call(n2, "GET", "/api/v5/sessions_count?since=1700000000")
    assert (st, body["code"]) == (400, "BAD_REQUEST"), body

    for c in (sub, pub, idle):
        c.close()


def test_the_prometheus_scrape_asks_for_a_credential_when_told_to(broker_factory):
    from clusterlib import wait_api
    from conftest import api_auth_header
    b = broker_factory({"prometheus.enable_basic_auth": True})
    b.start()
    wait_api(b)
    st, _, body = scrape(b)
    assert st == 401 and json.loads(body)["code"] == "AUTHORIZATION_HEADER_ERROR", body
    st, _, body = scrape(b, headers=api_auth_header())
    assert st == 200 and "emqx_connections_count 0" in body, body


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_prometheus_server_scrapes_the_cluster(broker_factory, tmp_path):
    prom = shutil.which("prometheus")
    if not prom:
        pytest.skip("prometheus is not installed (scripts/deps.sh installs it)")
    nodes, names = three_nodes(broker_factory)
    clients = []
    for i, n in enumerate(nodes):  # 1, 2 and 3 connections: 6 in all
        for k in range(i + 1):
            c = m.Conn(n.port, 5, host=n.host)
            assert c.connect("prom-%d-%d" % (i, k)).reason == 0
            clients.append(c)
    port = free_port()
    targets = ", ".join('"%s:%d"' % (n.host, n.api_port) for n in nodes)
    conf = tmp_path / "prometheus.yml"
    conf.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                    "  - job_name: starling\n    metrics_path: /api/v5/prometheus/stats\n"
                    "    static_configs:\n      - targets: [%s]\n" % targets)
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen([prom, "--config.file=%s" % conf,
                             "--storage.tsdb.path=%s" % (tmp_path / "tsdb"),
                             "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        query = urllib.parse.urlencode({"query": "sum(emqx_connections_count)"})
        deadline = time.monotonic() + 90
        got = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query?%s" % (
                        port, query), timeout=5) as r:
                    res = json.loads(r.read())["data"]["result"]
                got = float(res[0]["value"][1]) if res else None
            except OSError:
                got = None
            up = None
            if got == 6:
                q = urllib.parse.urlencode({"query": "count(up == 1)"})
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query?%s" % (
                        port, q), timeout=5) as r:
                    res = json.loads(r.read())["data"]["result"]
                up = float(res[0]["value"][1]) if res else None
            if got == 6 and up == 3:
                break
            time.sleep(0.5)
        assert (got, up) == (6, 3), (got, up, open(tmp_path / "prometheus.log").read()[-3000:])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        for c in clients:
            c.close()
