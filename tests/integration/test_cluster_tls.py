"""TLS between nodes (cluster.proto_dist = inet_tls, docs/transports.md §5): every control
link, Raft stream and data lane runs over mutual TLS with cluster.ssl_options, the cookie
handshake inside it. A cluster forms and carries messages; a recording proxy on the path
shows what crosses the wire (the payload in clear without TLS, never with it); a node with
a certificate of another CA, or without TLS, is refused and the log says why."""

import os
import socket
import subprocess
import threading
import time

import pytest

from certs import make_ca, make_cert
from clusterlib import Cluster, message_crosses, status, wait_log, wait_status

pytestmark = pytest.mark.starling_only("Starling's cluster")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("cluster-certs"))
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    for i in range(3):
        make_cert(d, "ca", "node%d" % i, "starling@127.0.0.%d" % (i + 2))
    make_cert(d, "other-ca", "stranger", "stranger")
    return lambda name: os.path.join(d, name)


def tls(certs, cert, ca="ca.pem"):
    return {"cluster.proto_dist": "inet_tls",
            "cluster.ssl_options.certfile": certs(cert + ".pem"),
            "cluster.ssl_options.keyfile": certs(cert + ".key"),
            "cluster.ssl_options.cacertfile": certs(ca)}


def wait_running(b, names, timeout=30):
    deadline = time.monotonic() + timeout
    while sorted(status(b)["running_nodes"]) != sorted(names):
        assert time.monotonic() < deadline, status(b)
        time.sleep(0.1)


class Recorder:
    """A TCP proxy on host:port to target that keeps every byte it carries."""

    def __init__(self, host, port, target):
        self.target = target
        self.data = bytearray()
        self.lock = threading.Lock()
        self.sock = socket.create_server((host, port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a, b):
        while True:
            try:
                d = a.recv(65536)
            except OSError:
                d = b""
            if not d:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            with self.lock:
                self.data += d
            try:
                b.sendall(d)
            except OSError:
                return

    def seen(self):
        with self.lock:
            return bytes(self.data)

    def close(self):
        self.sock.close()


def test_three_nodes_form_a_cluster_over_mutual_tls(broker_factory, certs):
    """The seed list everyone writes, all three nodes started at once: the cluster forms
    (membership is Raft's, so Raft's streams work through TLS) and QoS 1 messages cross
    every pair of nodes over TLS data lanes."""
    cl = Cluster(broker_factory, 3)
    nodes = [cl.node(i, seeds=(0, 1, 2), **tls(certs, "node%d" % i)) for i in range(3)]
    for n in nodes:
        n.start()
    names = [cl.name(i) for i in range(3)]
    for n in nodes:
        wait_status(n, names, timeout=30)
    for a in range(3):
        for b in range(3):
            if a != b:
                message_crosses(nodes[a], nodes[b], "tls%d%d/x" % (a, b), b"m%d%d" % (a, b))
    for n in nodes:
        assert "TLS handshake" not in n.log()


@pytest.mark.parametrize("proto", ["inet_tcp", "inet_tls"])
def test_what_crosses_the_wire(broker_factory, certs, proto):
    """Node 0 is named after a proxy's address, so node 1 reaches it (control link, Raft
    streams, data lanes) through the proxy, which keeps what it carries. A message from a
    client of node 1 to one of node 0 crosses it: in clear over inet_tcp (so the check can
    fail), never over inet_tls, where not even the node names show."""
    cl = Cluster(broker_factory, 2)
    proxy_host = "127.0.0.9"
    rec = Recorder(proxy_host, cl.port, (cl.hosts[0], cl.port))
    try:
        n0_name, n1_name = "starling@" + proxy_host, cl.name(1)
        seeds = [n0_name, n1_name]
        conf = lambda i: tls(certs, "node%d" % i) if proto == "inet_tls" else {}
        n0 = cl.node(0, **{"node.name": n0_name, "cluster.discovery_strategy": "static",
                           "cluster.static.seeds": seeds}, **conf(0))
        n1 = cl.node(1, **{"cluster.discovery_strategy": "static",
                           "cluster.static.seeds": seeds}, **conf(1))
        n0.start()
        n1.start()
        for n in (n0, n1):
            wait_status(n, seeds, timeout=30)
        secret = os.urandom(8).hex().encode()
        message_crosses(n1, n0, "wire/x", b"payload-" + secret)
        seen = rec.seen()
        assert len(seen) > 1000, len(seen)
        if proto == "inet_tcp":
            assert secret in seen and n1_name.encode() in seen
        else:
            assert secret not in seen and n1_name.encode() not in seen
            assert b"STCL" not in seen  # no frame of the cookie handshake in clear
    finally:
        rec.close()


def test_a_node_with_a_certificate_of_another_ca_is_refused(broker_factory, certs):
    cl = Cluster(broker_factory, 3)
    seeds = (0, 1, 2)
    n0 = cl.node(0, seeds=seeds, **tls(certs, "node0")).start()
    n1 = cl.node(1, seeds=seeds, **tls(certs, "node1")).start()
    names = [cl.name(0), cl.name(1)]
    wait_running(n0, names)
    # node 2 trusts its own CA and shows a certificate of it: neither side accepts the other
    n2 = cl.node(2, seeds=seeds, **tls(certs, "stranger", ca="other-ca.pem")).start()
    wait_log(n2, r"TLS handshake with starling@127\.0\.0\.[23] \(.*\) failed: .*certificate",
             timeout=20)
    wait_log(n0, r"TLS handshake with a node \(127\.0\.0\.4:\d+\) failed: .*certificate",
             timeout=20)
    assert sorted(status(n0)["running_nodes"]) == names


def test_a_plain_node_and_a_tls_node_do_not_link(broker_factory, certs):
    """Each side says what is wrong: the plain node hears TLS, the TLS node a handshake
    that is not one."""
    cl = Cluster(broker_factory, 2)
    n0 = cl.node(0, seeds=(0, 1), **tls(certs, "node0")).start()
    n1 = cl.node(1, seeds=(0, 1)).start()
    wait_log(n1, r"refused .*it speaks TLS \(cluster.proto_dist = inet_tls there, not here\)",
             timeout=20)
    wait_log(n0, r"TLS handshake with a node \(127\.0\.0\.3:\d+\) failed", timeout=20)
    assert status(n0)["running_nodes"] == [cl.name(0)]


@pytest.mark.parametrize("drop,words", [
    ("cluster.ssl_options.cacertfile",
     "cluster.ssl_options.cacertfile is required with cluster.proto_dist = inet_tls"),
    ("cluster.ssl_options.certfile",
     "cluster.ssl_options.certfile is required with cluster.proto_dist = inet_tls"),
    (None, "cluster.ssl_options.certfile /nonexistent/node.pem"),
])
def test_a_bad_cluster_tls_config_stops_the_node_with_its_reason(broker_factory, certs, drop,
                                                                 words):
    conf = tls(certs, "node0")
    if drop:
        del conf[drop]
    else:
        conf["cluster.ssl_options.certfile"] = "/nonexistent/node.pem"
    cl = Cluster(broker_factory, 1)
    b = cl.node(0, **conf)
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert words in p.stdout + p.stderr, p.stdout + p.stderr
