"""Cluster links (docs/cluster.md §3, step 2 of its plan): nodes on their own loopback
addresses dial their seeds on the cluster port, prove the shared cookie, keep the link
alive with heartbeats and say goodbye when they stop. Refusals (cookie, cluster name) are
logged on both sides, once a minute. Observed through the nodes' logs until `starling ctl
cluster status` exists (step 3)."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's cluster")


def free_cluster_port(hosts):
    """A port free on every host (each node listens on its own address, same port)."""
    for _ in range(50):
        s = socket.socket()
        s.bind((hosts[0], 0))
        port = s.getsockname()[1]
        s.close()
        try:
            for h in hosts[1:]:
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


def wait_log(b, pattern, timeout=10, count=1):
    deadline = time.monotonic() + timeout
    while len(re.findall(pattern, b.log())) < count:
        assert time.monotonic() < deadline, "no %r (x%d) in the log within %gs:\n%s" % (
            pattern, count, timeout, b.log()[-3000:])
        time.sleep(0.05)


def link_up(peer):
    return r"cluster: link to %s up" % re.escape(peer)


def test_two_nodes_link_and_goodbye(broker_factory):
    """Node 2 has node 1 as its static seed: both log the link up; when node 2 stops it
    says goodbye and node 1 logs the link down. MQTT keeps working on both."""
    cl = Cluster(broker_factory, 2)
    a = cl.node(0).start()
    b = cl.node(1, seeds=[0]).start()
    wait_log(a, link_up(b.conf["node.name"]))
    wait_log(b, link_up(a.conf["node.name"]) + r" \(127\.0\.0\.2:%d, dialled by us\)" % cl.port)
    assert "dialled by them" in a.log()
    for node in (a, b):
        s = m.Conn(node.port, 4, host=node.host)
        assert s.connect("probe").reason == 0
        s.close()
    b.stop()
    wait_log(a, r"cluster: starling@127\.0\.0\.3 says goodbye \(shutting down\)")
    wait_log(a, r"cluster: link to starling@127\.0\.0\.3 down: goodbye")


def test_seed_started_later(broker_factory):
    """A node whose seed is not up yet keeps dialling (with backoff) until it is."""
    cl = Cluster(broker_factory, 2)
    b = cl.node(1, seeds=[0]).start()
    time.sleep(1.0)  # a few failed dials
    a = cl.node(0).start()
    wait_log(b, link_up(cl.name(0)))
    wait_log(a, link_up(cl.name(1)))


def test_walkthrough_env_three_nodes(broker_factory):
    """The seed walkthrough with environment variables (STARLING_ and EMQX_ spellings):
    three nodes, every pair linked."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, env={"STARLING_NODE_NAME": cl.name(1), "STARLING_DISCOVERY_STRATEGY": "static",
                         "STARLING_STATIC_DISCOVERY_NODES": cl.name(0)}).start()
    n3 = cl.node(2, env={"EMQX_NODE_NAME": cl.name(2), "EMQX_DISCOVERY_STRATEGY": "static",
                         "EMQX_STATIC_DISCOVERY_NODES": "%s,%s" % (cl.name(0), cl.name(1))}).start()
    nodes = [n1, n2, n3]
    for i, node in enumerate(nodes):
        for j in range(3):
            if i != j:
                wait_log(node, link_up(cl.name(j)))


def test_cookie_mismatch_refused_on_both_sides(broker_factory):
    """A node with another node.cookie is refused: both sides log it (once a minute, though
    the dialler keeps retrying), and no link comes up."""
    cl = Cluster(broker_factory, 2)
    a = cl.node(0).start()
    b = cl.node(1, seeds=[0], **{"node.cookie": "not-the-same"}).start()
    wait_log(b, r"cluster: refused starling@127\.0\.0\.2 \(127\.0\.0\.2:%d\): cookie mismatch "
                r"\(node\.cookie differs\)" % cl.port)
    wait_log(a, r"cluster: starling@127\.0\.0\.3 refused us: cookie mismatch")
    time.sleep(2.0)  # several more dials
    for node in (a, b):  # one warning each; the retries show at debug level only
        warnings = re.findall(r"\[warning\] cluster: .*cookie mismatch", node.log())
        assert len(warnings) == 1, node.log()
    assert len(re.findall(r"dial starling@127\.0\.0\.2 .* failed: cookie mismatch", b.log())) > 1
    assert "link to" not in a.log() + b.log()


def test_cluster_name_mismatch(broker_factory):
    """Nodes with different cluster.name never link; the acceptor says why."""
    cl = Cluster(broker_factory, 2)
    a = cl.node(0).start()
    b = cl.node(1, seeds=[0], **{"cluster.name": "other"}).start()
    wait_log(a, r"cluster: refused starling@127\.0\.0\.3 \(127\.0\.0\.3:\d+\): cluster\.name differs")
    wait_log(b, r"cluster: starling@127\.0\.0\.2 refused us: cluster\.name differs")
    assert "link to" not in a.log() + b.log()


def test_heartbeat_timeout_and_relink(broker_factory):
    """A node that stops answering (SIGSTOP) is dropped after the link timeout (5 s); when
    it runs again the link comes back."""
    cl = Cluster(broker_factory, 2)
    a = cl.node(0).start()
    b = cl.node(1, seeds=[0]).start()
    wait_log(a, link_up(cl.name(1)))
    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        wait_log(a, r"cluster: link to starling@127\.0\.0\.3 down: timeout", timeout=15)
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    wait_log(a, link_up(cl.name(1)), count=2, timeout=15)
    wait_log(b, link_up(cl.name(0)), count=2, timeout=15)


def test_bad_seed_is_a_config_error(broker_factory):
    """A seed that is not name@host stops startup with the key in the message."""
    cl = Cluster(broker_factory, 1)
    b = cl.node(0, **{"cluster.discovery_strategy": "static",
                      "cluster.static.seeds": ["nohost"]})
    path = b.write_config()
    r = subprocess.run([b.command()[0], "foreground", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=10, cwd=b.dir)
    assert r.returncode != 0
    assert "cluster.static.seeds" in r.stdout and "nohost" in r.stdout, r.stdout
