"""Discovery by DNS (docs/cluster.md §6): nodes look up cluster.dns.name on a real dnsmasq
that the test starts on loopback, dial every address as <name part>@<address>, and form one
cluster: the node with the smallest name forms it when no node they reach is in one, the
others join it."""

import shutil
import socket
import subprocess
import time

import pytest

from clusterlib import Cluster, cluster_info, form_by_discovery, message_crosses, wait_info
from conftest import free_port

pytestmark = pytest.mark.starling_only("Starling's cluster")


def run_dnsmasq(tmp_path, lines):
    """Run dnsmasq on 127.0.0.1:<port> with these lines until the test ends; yields the port."""
    if not shutil.which("dnsmasq"):
        print("skipped: dnsmasq is not installed (scripts/deps.sh installs dnsmasq-base)")
        pytest.skip("dnsmasq is not installed")
    port = free_port()
    p = subprocess.Popen(["dnsmasq", "--no-daemon", "--port=%d" % port,
                          "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                          "--no-hosts", "--pid-file=%s" % (tmp_path / "dnsmasq.pid")] + lines,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 5
    while True:  # wait until it answers
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        q = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x08starling\x04test\x00\x00\x01\x00\x01"
        try:
            s.sendto(q, ("127.0.0.1", port))
            if s.recv(512):
                break
        except OSError:
            assert time.monotonic() < deadline and p.poll() is None, "dnsmasq did not start"
        finally:
            s.close()
    yield port
    p.terminate()
    p.wait(timeout=5)


@pytest.fixture
def dnsmasq(tmp_path):
    """A dnsmasq on 127.0.0.1:<port> answering starling.test with 127.0.0.2-4."""
    yield from run_dnsmasq(tmp_path, ["--address=/starling.test/127.0.0.%d" % i for i in (2, 3, 4)])


def dns_conf(port):
    return {"cluster.discovery_strategy": "dns", "cluster.dns.name": "starling.test",
            "cluster.dns.record_type": "a", "cluster.dns.servers": ["127.0.0.1:%d" % port]}


def test_dns_discovery_forms_one_cluster(broker_factory, dnsmasq):
    """Three nodes with the same settings and no seeds, started largest name first: after
    the discovery window node 127.0.0.2 (the smallest name) forms the cluster and the two
    others join it; every node lists all three, one uuid, one leader; messages cross."""
    cl = Cluster(broker_factory, 3)
    conf = dns_conf(dnsmasq)
    nodes = [cl.node(i, **conf) for i in range(3)]
    names = form_by_discovery(cl, nodes)
    for n in nodes[1:]:
        assert "discovered %s (DNS starling.test)" % names[0] in n.log()
    message_crosses(nodes[0], nodes[2], "d/1", b"found")


def test_dns_node_restarts_into_its_cluster(broker_factory, dnsmasq):
    """A node with Raft state does not wait for the window: restarted, it comes back into
    the same cluster (same uuid, a new incarnation)."""
    cl = Cluster(broker_factory, 2)
    conf = dns_conf(dnsmasq)
    n1, n2 = cl.node(0, **conf).start(), cl.node(1, **conf).start()
    names = [cl.name(i) for i in range(2)]
    for n in (n1, n2):
        wait_info(n, lambda i: sorted(m["node"] for m in i["members"] if m["state"] == "up")
                  == names, "both members up", timeout=30)
    uuid = cluster_info(n1)["uuid"]
    n2.restart()
    wait_info(n1, lambda i: [m for m in i["members"] if m["node"] == names[1]][0]["incarnation"]
              == 2, "node 2 back", timeout=20)
    assert cluster_info(n2)["uuid"] == uuid


def srv_name(i):
    return "starling@n%d.starling.test" % (i + 1)


@pytest.fixture
def dnsmasq_srv(tmp_path):
    """A dnsmasq whose SRV records for _starling._tcp.starling.test name three hosts
    n1-n3.starling.test, with host records 127.0.0.2-4 for them (given back as additional
    records, as a Kubernetes headless service's DNS does)."""
    lines = []
    for i in range(3):
        host = srv_name(i).split("@")[1]
        lines += ["--srv-host=_starling._tcp.starling.test,%s,4370" % host,
                  "--host-record=%s,127.0.0.%d" % (host, i + 2)]
    yield from run_dnsmasq(tmp_path, lines)


def test_srv_discovery_forms_one_cluster(broker_factory, dnsmasq_srv):
    """record_type = srv: each SRV target is a node, <name part>@<target>; nodes named by
    host name (starling@n1.starling.test, listening on 127.0.0.2) are dialled at the
    addresses the answer's additional records give, form one cluster (the smallest name
    forms it), and messages cross."""
    cl = Cluster(broker_factory, 3)
    conf = dns_conf(dnsmasq_srv)
    conf.update({"cluster.dns.name": "_starling._tcp.starling.test",
                 "cluster.dns.record_type": "srv"})
    nodes = [cl.node(i, **dict(conf, **{"node.name": srv_name(i)})) for i in range(3)]
    names = form_by_discovery(cl, nodes, [srv_name(i) for i in range(3)])
    for n in nodes[1:]:
        assert "discovered %s (DNS _starling._tcp.starling.test)" % names[0] in n.log()
    message_crosses(nodes[0], nodes[2], "s/1", b"via srv")
