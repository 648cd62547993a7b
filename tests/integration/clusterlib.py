"""Helpers for tests with several Starling nodes on one machine: each node on its own
loopback address (127.0.0.2, 127.0.0.3, ...), all on one cluster port, with its own data dir,
MQTT listener and HTTP API; status through `starling ctl` and the API."""

import json
import re
import socket
import subprocess
import time
import urllib.request

from conftest import free_port


def free_cluster_port(hosts):
    """A port free on every host (each node listens on its own address, same port), and
    never handed out for anything else in this run (conftest.free_port keeps the record)."""
    for _ in range(50):
        port = free_port()
        try:
            for h in hosts:
                t = socket.socket()
                t.bind((h, port))
                t.close()
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


class Cluster:
    def __init__(self, broker_factory, n, port=None):
        self.hosts = ["127.0.0.%d" % (i + 2) for i in range(n)]
        self.port = port or free_cluster_port(self.hosts)
        self.factory = broker_factory
        self.nodes = []

    def name(self, i):
        return "starling@" + self.hosts[i]

    def node(self, i, seeds=(), env=None, **conf):
        """Make (not start) node i with these seed indexes."""
        c = {"node.name": self.name(i), "cluster.listen": "%s:%d" % (self.hosts[i], self.port)}
        if seeds:
            c["cluster.discovery_strategy"] = "static"
            c["cluster.static.seeds"] = [self.name(j) for j in seeds]
        c.update(conf)
        b = self.factory(c, name="node%d-%d" % (i, len(self.nodes)))
        b.host = self.hosts[i]
        if env:
            for k in [k for k in c if k not in ("cluster.listen",)]:
                del b.conf[k]
            b.env.update(env)
        self.nodes.append(b)
        return b


def same_seeds(broker_factory, n, **conf):
    """The config users write: n nodes, each with the same static seed list naming all of
    them, every process spawned before any is waited for. Returns (cl, nodes, names) once
    every node lists them all as running."""
    cl = Cluster(broker_factory, n)
    names = [cl.name(i) for i in range(n)]
    nodes = [cl.node(i, **dict(conf, **{"cluster.discovery_strategy": "static",
                                        "cluster.static.seeds": names}))
             for i in range(n)]
    for b in nodes:
        b.spawn()
    for b in nodes:
        b.wait_ready()
    for b in nodes:
        wait_status(b, names, timeout=40)
    return cl, nodes, names


def members_up(broker_factory, n, **conf):
    """same_seeds, then wait until every node's API answers and its member table has every
    node up (what the API's cluster-wide answers need). Returns (nodes, names)."""
    cl, nodes, names = same_seeds(broker_factory, n, **conf)
    for b in nodes:
        wait_api(b)
        wait_info(b, lambda i: up_members(i) == sorted(names), "all members up", timeout=30)
    return nodes, names


def start_formed(cl, nodes, timeout=30):
    """Start these nodes of cl (node i is cl's i-th), wait until each lists them all as
    running and answers on its API."""
    for n in nodes:
        n.start()
    names = [cl.name(i) for i in range(len(nodes))]
    for n in nodes:
        wait_status(n, names, timeout=timeout)
        wait_api(n)
    return names


def wait_log(b, pattern, timeout=10, count=1):
    deadline = time.monotonic() + timeout
    while len(re.findall(pattern, b.log())) < count:
        assert time.monotonic() < deadline, "no %r (x%d) in the log within %gs:\n%s" % (
            pattern, count, timeout, b.log()[-3000:])
        time.sleep(0.05)


def link_up(peer):
    return r"cluster: link to %s up" % re.escape(peer)


def ctl(b, *args):
    return subprocess.run([b.command()[0], "-c", b.conf_path, "ctl", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=15,
                          cwd=b.dir)


def status(b):
    wait_api(b)
    r = ctl(b, "cluster", "status", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_status(b, running, stopped=(), timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        s = status(b)
        if sorted(s["running_nodes"]) == sorted(running) and \
                sorted(s["stopped_nodes"]) == sorted(stopped):
            return s
        assert time.monotonic() < deadline, "cluster status %r, want running %r stopped %r" % (
            s, running, stopped)
        time.sleep(0.1)


def wait_api(b, timeout=10):
    """The HTTP API starts a moment after the MQTT listener the fixture waits for."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((b.host, b.api_port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "HTTP API not up:\n" + b.log()[-2000:]
            time.sleep(0.05)


def cluster_info(b):
    wait_api(b)
    with urllib.request.urlopen("http://%s:%d/api/v5/cluster" % (b.host, b.api_port),
                                timeout=5) as resp:
        return json.loads(resp.read())


def wait_member(b, name, state, incarnation, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        info = cluster_info(b)
        rows = [m for m in info["members"] if m["node"] == name]
        if rows and rows[0]["state"] == state and rows[0]["incarnation"] == incarnation:
            return info
        assert time.monotonic() < deadline, "member %s not %s/%d: %r" % (
            name, state, incarnation, info)
        time.sleep(0.05)


def members(b):
    return {m["node"]: m for m in cluster_info(b)["members"]}


def wait_info(b, pred, what, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        info = cluster_info(b)
        if pred(info):
            return info
        assert time.monotonic() < deadline, "%s: %r" % (what, info)
        time.sleep(0.1)


def up_members(info):
    return sorted(m["node"] for m in info["members"] if m["state"] == "up")


def form_by_discovery(cl, nodes, names=None):
    """Start nodes with the same discovery settings, largest name first, and wait until they
    are one cluster: all members up everywhere, one uuid, formed by the smallest name (the
    bootstrap rule, docs/cluster.md §5.6) and joined by the others. Returns the names."""
    for n in reversed(nodes):
        n.start()
    names = names or [cl.name(i) for i in range(len(nodes))]
    for n in nodes:
        wait_info(n, lambda i: up_members(i) == names, "all members up", timeout=30)
        wait_status(n, names)
    infos = [cluster_info(n) for n in nodes]
    assert len({i["uuid"] for i in infos}) == 1 and infos[0]["uuid"], infos
    assert "forming one (smallest name)" in nodes[0].log()
    for n in nodes[1:]:
        assert "forming one" not in n.log()
    return names


def message_crosses(src, dst, topic, payload):
    """A QoS 1 message published on node src reaches a subscriber on node dst."""
    from conftest import PahoClient
    sub = PahoClient(dst.port, "sub-" + dst.host, host=dst.host)
    sub.subscribe(topic.split("/")[0] + "/#", qos=1)
    pub = PahoClient(src.port, "pub-" + src.host, host=src.host)
    pub.publish(topic, payload, qos=1)
    assert sub.get().payload == payload
    sub.close()
    pub.close()


def api_call(b, method, path, body=None):
    """(status, parsed JSON or None) of an API call to node b (with the harness's key)."""
    import urllib.error
    import urllib.request
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://%s:%d%s" % (b.host, b.api_port, path), data=data,
                                 method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, json.loads(text) if text else None


def connack(b, version=5, **kw):
    """The CONNACK reason of a CONNECT to node b (client id kw client_id, default c1)."""
    import mqttraw as m
    c = m.Conn(b.port, version, host=b.host)
    try:
        return c.connect(kw.pop("client_id", "c1"), **kw).reason
    finally:
        c.close()


def wait_connack(b, want, timeout=15, **kw):
    """Wait until such a CONNECT gets `want` (a change has reached node b)."""
    deadline = time.monotonic() + timeout
    while True:
        got = connack(b, **kw)
        if got == want:
            return
        assert time.monotonic() < deadline, "%s: CONNACK %#x, want %#x" % (b.host, got, want)
        time.sleep(0.1)
