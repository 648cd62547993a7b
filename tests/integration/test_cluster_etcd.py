"""Discovery by etcd (docs/cluster.md §6): every node registers
<prefix>/<cluster.name>/nodes/<node.name> in a real etcd (started by the test on loopback)
under a lease it keeps alive, lists the keys under .../nodes/, dials every node listed, and
the nodes form one cluster by the same rule as with DNS (the smallest name forms it). A
node that stops deletes its key; a node that dies loses it when its lease expires."""

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from clusterlib import (Cluster, form_by_discovery, message_crosses, up_members, wait_info,
                        wait_status)
from conftest import free_port

pytestmark = pytest.mark.starling_only("Starling's cluster")

NODES_DIR = "starlingcl/starlingcl/nodes/"  # <prefix>/<cluster.name>/nodes/, the defaults

# Straight to 127.0.0.1, whatever *_proxy variables the environment has.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Etcd:
    def __init__(self, url):
        self.url = url

    def call(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with _http.open(req, timeout=5) as r:
            return json.loads(r.read())

    def nodes(self):
        """The node names registered under NODES_DIR, and each one's lease."""
        d = NODES_DIR.encode()
        end = d[:-1] + bytes([d[-1] + 1])
        r = self.call("/v3/kv/range", {"key": base64.b64encode(d).decode(),
                                       "range_end": base64.b64encode(end).decode()})
        return {base64.b64decode(kv["key"]).decode()[len(NODES_DIR):]: int(kv.get("lease", 0))
                for kv in r.get("kvs", [])}


@pytest.fixture
def etcd(tmp_path):
    """A one-member etcd on 127.0.0.1:<free port> (peer port free too), data in tmp_path."""
    exe = shutil.which("etcd")
    if not exe:
        print("skipped: etcd is not installed (scripts/deps.sh installs etcd-server)")
        pytest.skip("etcd is not installed (Debian package etcd-server)")
    client = "http://127.0.0.1:%d" % free_port()
    peer = "http://127.0.0.1:%d" % free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
    log = open(tmp_path / "etcd.log", "wb")
    p = subprocess.Popen([exe, "--name", "t", "--data-dir", str(tmp_path / "etcd"),
                          "--listen-client-urls", client, "--advertise-client-urls", client,
                          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                          "--initial-cluster", "t=" + peer], stdout=log, stderr=log, env=env)
    e = Etcd(client)
    deadline = time.monotonic() + 15
    while True:
        try:
            e.nodes()
            break
        except OSError:
            assert p.poll() is None and time.monotonic() < deadline, \
                "etcd did not start:\n" + (tmp_path / "etcd.log").read_text()[-3000:]
            time.sleep(0.1)
    yield e
    p.terminate()
    p.wait(timeout=10)
    log.close()


def etcd_conf(url, ttl="1m"):
    return {"cluster.discovery_strategy": "etcd", "cluster.etcd.server": url,
            "cluster.etcd.node_ttl": ttl}



def wait_nodes(e, pred, what, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        n = e.nodes()
        if pred(n):
            return n
        assert time.monotonic() < deadline, "%s: etcd has %r" % (what, n)
        time.sleep(0.1)


def test_etcd_discovery_forms_one_cluster(etcd, broker_factory):
    """Three nodes with the same settings, started largest name first: each registers in
    etcd, they find each other there (a node dials those it lists) and form one cluster (the smallest name forms it, the
    others join); a message crosses from node 1 to node 3. A node stopped gracefully deletes
    its key at once (EMQX unregisters a node that leaves) and the others stay."""
    cl = Cluster(broker_factory, 3)
    nodes = [cl.node(i, **etcd_conf(etcd.url)) for i in range(3)]
    names = form_by_discovery(cl, nodes)
    # each node found those started before it in etcd (and was dialled by the later ones)
    assert "discovered %s (etcd)" % names[2] in nodes[1].log()
    for name in names[1:]:
        assert "discovered %s (etcd)" % name in nodes[0].log()
    keys = etcd.nodes()
    assert sorted(keys) == names, keys
    assert all(lease > 0 for lease in keys.values()) and len(set(keys.values())) == 3, keys
    for n, name in zip(nodes, names):
        assert "registered in etcd as %s%s (lease %d)" % (NODES_DIR, name, keys[name]) in n.log()

    message_crosses(nodes[0], nodes[2], "e/1", b"via etcd")

    assert nodes[1].stop() == 0
    assert sorted(etcd.nodes()) == [names[0], names[2]]  # gone before the process exited
    assert "removed %s from etcd" % names[1] in nodes[1].log()
    for n in (nodes[0], nodes[2]):
        assert "etcd discovery:" not in n.log(), n.log()[-3000:]
        wait_status(n, [names[0], names[2]], [names[1]], timeout=15)


def test_etcd_lease_kept_alive_and_expires(etcd, broker_factory):
    """With node_ttl = 3s the key outlives several TTLs while the node runs (the lease is
    kept alive every second) and is gone about a TTL after the node is killed."""
    cl = Cluster(broker_factory, 1)
    n = cl.node(0, **etcd_conf(etcd.url, "3s")).start()
    name = cl.name(0)
    lease = wait_nodes(etcd, lambda k: name in k, "registered")[name]
    wait_info(n, lambda i: up_members(i) == [name], "a cluster of one", timeout=20)
    time.sleep(7)
    assert etcd.nodes() == {name: lease}
    n.proc.send_signal(signal.SIGKILL)
    n.proc.wait()
    n.proc = None
    killed = time.monotonic()
    wait_nodes(etcd, lambda k: name not in k, "key expired", timeout=10)
    assert time.monotonic() - killed > 1  # by the lease, not by anything the node did


def test_etcd_key_put_back_and_lease_granted_again(etcd, broker_factory):
    """Someone deletes the node's key: it is put back; its lease is revoked: a new one is
    granted and the key registered with it. etcd's bad answers are logged, nothing stops."""
    cl = Cluster(broker_factory, 1)
    n = cl.node(0, **etcd_conf(etcd.url, "3s")).start()
    name = cl.name(0)
    lease = wait_nodes(etcd, lambda k: name in k, "registered")[name]
    key = base64.b64encode((NODES_DIR + name).encode()).decode()
    etcd.call("/v3/kv/deleterange", {"key": key})
    wait_nodes(etcd, lambda k: k.get(name) == lease, "the key put back", timeout=10)
    etcd.call("/v3/lease/revoke", {"ID": str(lease)})
    again = wait_nodes(etcd, lambda k: k.get(name, lease) != lease, "a new lease", timeout=10)
    assert "lease %d had expired: registering again" % lease in n.log()
    assert "registered in etcd as %s%s (lease %d)" % (NODES_DIR, name, again[name]) in n.log()
    assert n.proc.poll() is None


def test_etcd_unreachable_is_logged(broker_factory):
    """No etcd at the URL: a warning that names it (once, not every round), and the node runs."""
    cl = Cluster(broker_factory, 1)
    url = "http://127.0.0.1:%d" % free_port()
    n = cl.node(0, **etcd_conf(url)).start()
    deadline = time.monotonic() + 10
    while "etcd discovery: %s/v3/lease/grant: " % url not in n.log():
        assert time.monotonic() < deadline, n.log()[-3000:]
        time.sleep(0.1)
    time.sleep(6)
    assert n.log().count("etcd discovery: ") == 1, n.log()[-3000:]
    assert n.proc.poll() is None
    assert n.stop() == 0  # no lease, nothing to remove: a prompt stop


@pytest.mark.parametrize("value,message", [
    ("127.0.0.1:2379", 'cluster.etcd.server: "127.0.0.1:2379" is not a URL'),
    ("[]", "cluster.etcd.server: discovery_strategy = etcd needs at least one"),
])
def test_etcd_bad_server_is_a_config_error(broker_factory, value, message):
    cl = Cluster(broker_factory, 1)
    b = cl.node(0, **{"cluster.discovery_strategy": "etcd"})
    path = b.write_config(["cluster.etcd.server = %s" % (value if value == "[]" else
                                                          '"%s"' % value)])
    r = subprocess.run([b.command()[0], "foreground", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=10, cwd=b.dir)
    assert r.returncode != 0 and message in r.stdout, r.stdout
