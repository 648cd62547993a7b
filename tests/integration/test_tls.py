"""MQTT over TLS (listeners.ssl, docs/transports.md): real clients (mosquitto_pub/sub,
paho) on a TLS listener beside the plain one, client certificates, and the refusals: no
certificate where one is required, one from another CA, plain MQTT to the TLS port, TLS to
the plain port, old protocol versions, handshakes that stop half way. The certificates are
made by the test with the OpenSSL command line."""

import os
import resource
import socket
import ssl
import subprocess
import time

import pytest

from certs import make_ca, make_cert
from conftest import PahoClient, api_auth_header, free_port

pytestmark = pytest.mark.starling_only("Starling's TLS listener")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("certs"))
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "server", "localhost", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "ca", "client", "client1")
    make_cert(d, "other-ca", "stranger", "stranger")
    make_cert(d, "ca", "expired", "expired", days="-1")  # not valid after yesterday
    return lambda name: os.path.join(d, name)


def tls_conf(certs, port, **opts):
    conf = {"listeners.ssl.default.bind": "127.0.0.1:%d" % port,
            "listeners.ssl.default.ssl_options.certfile": certs("server.pem"),
            "listeners.ssl.default.ssl_options.keyfile": certs("server.key")}
    for k, v in opts.items():
        conf["listeners.ssl.default.ssl_options." + k] = v
    return conf


def tls_broker(broker_factory, certs, **opts):
    port = free_port()
    b = broker_factory(tls_conf(certs, port, **opts)).start()
    b.tls_port = port
    return b


def client_ctx(certs, cert=None, **kw):
    ctx = ssl.create_default_context(cafile=certs("ca.pem"))
    if cert:
        ctx.load_cert_chain(certs(cert + ".pem"), certs(cert + ".key"))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def connect_packet(cid):
    """A minimal MQTT 3.1.1 CONNECT."""
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid.encode()
    return bytes([0x10, len(body)]) + body


def tls_connack(b, certs, cert=None, **kw):
    """Connect over TLS with the ssl module, send CONNECT, return the CONNACK's bytes."""
    raw = socket.create_connection(("127.0.0.1", b.tls_port), timeout=10)
    with client_ctx(certs, cert, **kw).wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(connect_packet("raw-tls"))
        return s.recv(4)


def tls_refused(b, certs, cert=None, **kw):
    """The connection ends without a CONNACK: the handshake fails, or (TLS 1.3, where the
    server checks the client's certificate after the client has finished) it is closed at
    the first read."""
    try:
        return tls_connack(b, certs, cert, **kw) == b""
    except OSError:  # ssl.SSLError and ConnectionError are OSErrors
        return True


def wait_log(b, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in b.log():
        assert time.monotonic() < deadline, "%r not in the log:\n%s" % (text, b.log()[-3000:])
        time.sleep(0.05)


def mosquitto(tool, b, certs, *args, cert=None):
    cmd = [tool, "-h", "127.0.0.1", "-p", str(b.tls_port), "--cafile", certs("ca.pem"),
           "-V", "mqttv5"]
    if cert:
        cmd += ["--cert", certs(cert + ".pem"), "--key", certs(cert + ".key")]
    return cmd + list(args)


def test_mosquitto_clients_over_tls_and_a_tcp_client_see_each_other(broker_factory, certs):
    """mosquitto_pub and mosquitto_sub on the TLS port, paho on the plain one: each gets what
    the other publishes."""
    b = tls_broker(broker_factory, certs)
    tcp = PahoClient(b.port, "tcp-sub")
    assert tcp.subscribe("t/#", qos=1) == [1]
    subprocess.run(mosquitto("mosquitto_pub", b, certs, "-t", "t/tls", "-m", "over-tls", "-q", "1",
                             "-r"), check=True, timeout=15)
    m = tcp.get()
    assert (m.topic, m.payload) == ("t/tls", b"over-tls")
    sub = subprocess.Popen(mosquitto("mosquitto_sub", b, certs, "-t", "t/#", "-q", "1", "-C", "2",
                                     "-i", "tls-sub"), stdout=subprocess.PIPE, text=True)
    try:
        assert sub.stdout.readline().strip() == "over-tls"  # the retained one: subscribed
        pub = PahoClient(b.port, "tcp-pub")
        pub.publish("t/tcp", b"over-tcp", qos=1)
        assert sub.stdout.readline().strip() == "over-tcp"
        assert sub.wait(timeout=15) == 0
        pub.close()
    finally:
        if sub.poll() is None:
            sub.kill()
    tcp.close()


def test_paho_over_tls_qos1_both_ways(broker_factory, certs):
    b = tls_broker(broker_factory, certs)
    tls = {"ca_certs": certs("ca.pem")}
    sub = PahoClient(b.tls_port, "paho-tls-sub", tls=tls)
    assert sub.subscribe("p/#", qos=1) == [1]
    pub = PahoClient(b.tls_port, "paho-tls-pub", tls=tls)
    for i in range(200):
        pub.publish("p/%d" % i, b"x" * (i * 97), qos=1)
    for i in range(200):
        m = sub.get()
        assert (m.topic, len(m.payload)) == ("p/%d" % i, i * 97)
    pub.close()
    sub.close()
    wait_log(b, "TLSv1.3")  # what was negotiated, in the debug log


def test_client_certificates_are_required_and_checked(broker_factory, certs):
    """verify_peer + fail_if_no_peer_cert: a client with a certificate of the CA connects;
    one without a certificate, or with one from another CA, is refused in the handshake,
    and the broker says why."""
    b = tls_broker(broker_factory, certs, verify="verify_peer", fail_if_no_peer_cert=True,
                   cacertfile=certs("ca.pem"))
    assert tls_connack(b, certs, cert="client") == b"\x20\x02\x00\x00"
    assert tls_refused(b, certs)
    wait_log(b, "TLS handshake failed")
    assert tls_refused(b, certs, cert="stranger")
    wait_log(b, "client certificate")
    assert tls_refused(b, certs, cert="expired")
    wait_log(b, "certificate has expired")
    r = subprocess.run(mosquitto("mosquitto_pub", b, certs, "-t", "x", "-m", "y"),
                       capture_output=True, text=True, timeout=15)
    assert r.returncode != 0
    r = subprocess.run(mosquitto("mosquitto_pub", b, certs, "-t", "x", "-m", "y", cert="client"),
                       capture_output=True, text=True, timeout=15)
    assert r.returncode == 0, r.stderr


def test_old_protocol_versions_are_refused(broker_factory, certs):
    b = tls_broker(broker_factory, certs, versions=["tlsv1.3"])
    assert tls_refused(b, certs, maximum_version=ssl.TLSVersion.TLSv1_2)
    wait_log(b, "TLS handshake failed")
    assert tls_connack(b, certs) == b"\x20\x02\x00\x00"


def test_plain_mqtt_to_the_tls_port_and_tls_to_the_plain_port(broker_factory, certs):
    b = tls_broker(broker_factory, certs)
    with socket.create_connection(("127.0.0.1", b.tls_port), timeout=10) as s:
        s.sendall(connect_packet("plain-on-tls"))
        try:
            assert s.recv(64) == b""  # closed, no CONNACK
        except ConnectionResetError:
            pass
    wait_log(b, "TLS handshake failed")
    raw = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        client_ctx(certs).wrap_socket(raw, server_hostname="localhost")
    raw.close()
    assert tls_connack(b, certs) == b"\x20\x02\x00\x00"


def test_stalled_handshakes_are_closed_and_others_are_served(broker_factory, certs):
    """1,000 connections that never send a byte: a TLS client is served meanwhile, and each
    stalled one is closed after handshake_timeout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2200:
        pytest.skip("RLIMIT_NOFILE hard limit %d is below what 1,000 sockets need" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))
    b = tls_broker(broker_factory, certs, handshake_timeout="2s")
    stalled = [socket.create_connection(("127.0.0.1", b.tls_port), timeout=30)
               for _ in range(1000)]
    try:
        assert tls_connack(b, certs) == b"\x20\x02\x00\x00"
        for s in stalled:
            assert s.recv(16) == b""  # closed by the broker, not by us
        wait_log(b, "did not finish its TLS handshake in time")
    finally:
        for s in stalled:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_proxy_protocol_header_before_the_handshake(broker_factory, certs):
    """A load balancer in TCP mode (haproxy send-proxy) puts the PROXY header before the
    client's TLS bytes: the client's address is the header's."""
    port = free_port()
    conf = tls_conf(certs, port)
    conf["listeners.ssl.default.proxy_protocol"] = True
    b = broker_factory(conf).start()
    b.tls_port = port
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(b"PROXY TCP4 198.51.100.7 127.0.0.1 40000 8883\r\n")
    with client_ctx(certs).wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(connect_packet("behind-lb"))
        assert s.recv(4) == b"\x20\x02\x00\x00"
    wait_log(b, "198.51.100.7:40000")


@pytest.mark.parametrize("opts,words", [
    ({"certfile": "/nonexistent/cert.pem"},
     "listeners.ssl.default.ssl_options.certfile /nonexistent/cert.pem"),
    ({"keyfile": "CA_KEY"}, "key values mismatch"),
    ({"versions": ["tlsv1.1"]},
     'listeners.ssl.default.ssl_options.versions: "tlsv1.1" is not offered'),
    ({"verify": "verify_peer"}, "verify = verify_peer needs ssl_options.cacertfile"),
])
def test_a_bad_tls_config_stops_the_node_with_its_reason(broker_factory, certs, opts, words):
    opts = {k: certs("ca.key") if v == "CA_KEY" else v for k, v in opts.items()}
    b = broker_factory(tls_conf(certs, free_port(), **opts))
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert words in p.stdout + p.stderr, p.stdout + p.stderr


@pytest.mark.parametrize("as_key", ["peer_cert_as_clientid", "peer_cert_as_username"])
def test_the_certificate_names_the_client(broker_factory, certs, as_key):
    """peer_cert_as_clientid = cn (or peer_cert_as_username = cn with
    use_username_as_clientid): two connections that send different client ids with the same
    certificate are the same client, so the second takes the session over from the first."""
    port = free_port()
    conf = tls_conf(certs, port, verify="verify_peer", fail_if_no_peer_cert=True,
                    cacertfile=certs("ca.pem"))
    conf["listeners.ssl.default." + as_key] = "cn"
    if as_key == "peer_cert_as_username":
        conf["mqtt.use_username_as_clientid"] = True
    b = broker_factory(conf).start()
    ctx = client_ctx(certs, "client")
    first = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                            server_hostname="localhost")
    first.sendall(connect_packet("chosen-by-me"))
    assert first.recv(4) == b"\x20\x02\x00\x00"
    wait_log(b, "client client1 (")  # the certificate's CN, not the CONNECT's id
    second = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="localhost")
    second.sendall(connect_packet("another-id"))
    assert second.recv(4) == b"\x20\x02\x00\x00"
    try:
        assert first.recv(16) == b""  # taken over: the first connection is closed
    except (ssl.SSLError, ConnectionResetError):
        pass
    first.close()
    second.close()


def test_the_http_api_over_https(broker_factory, certs):
    """dashboard.listeners.https: the API answers over TLS (the credentials of the access
    control work never travel in clear); plain HTTP to that port gets no answer."""
    import json
    import urllib.request
    port = free_port()
    b = broker_factory({"dashboard.listeners.https.bind": "127.0.0.1:%d" % port,
                        "dashboard.listeners.https.ssl_options.certfile": certs("server.pem"),
                        "dashboard.listeners.https.ssl_options.keyfile": certs("server.key")}
                       ).start()
    ctx = ssl.create_default_context(cafile=certs("ca.pem"))
    deadline = time.monotonic() + 10
    while True:  # the API starts a moment after the MQTT listener
        try:
            req = urllib.request.Request("https://127.0.0.1:%d/api/v5/nodes" % port,
                                         headers=api_auth_header())
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                nodes = json.loads(r.read())
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert nodes and nodes[0]["node_status"] == "running", nodes
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert not s.recv(4096).startswith(b"HTTP/1.1 200")
        except ConnectionResetError:
            pass
    wait_log(b, "HTTPS: handshake failed")


def test_certificates_are_reloaded_without_dropping_connections(broker_factory, certs, tmp_path):
    """`starling ctl listeners reload` (POST /api/v5/listeners/reload): new connections get
    the replaced certificate, an open one goes on; a file that does not load is refused with
    its reason and the last good certificate stays."""
    import hashlib
    import shutil
    from clusterlib import ctl
    d = str(tmp_path)
    live_crt, live_key = os.path.join(d, "live.pem"), os.path.join(d, "live.key")
    shutil.copy(certs("server.pem"), live_crt)
    shutil.copy(certs("server.key"), live_key)
    port = free_port()
    b = broker_factory({"listeners.ssl.default.bind": "127.0.0.1:%d" % port,
                        "listeners.ssl.default.ssl_options.certfile": live_crt,
                        "listeners.ssl.default.ssl_options.keyfile": live_key}).start()

    def open_conn(cid):
        s = client_ctx(certs).wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                                   timeout=10),
                                          server_hostname="localhost")
        s.sendall(connect_packet(cid))
        assert s.recv(4) == b"\x20\x02\x00\x00"
        return s, hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()

    old_conn, old_fp = open_conn("before")
    make_cert(os.path.dirname(certs("ca.pem")), "ca", "server2", "localhost",
              "IP:127.0.0.1,DNS:localhost")
    shutil.copy(certs("server2.pem"), live_crt)
    shutil.copy(certs("server2.key"), live_key)
    r = ctl(b, "listeners", "reload")
    assert r.returncode == 0 and '"reloaded":1' in r.stdout, r.stdout + r.stderr
    new_conn, new_fp = open_conn("after")
    assert new_fp != old_fp
    old_conn.sendall(b"\xc0\x00")  # PINGREQ on the connection opened before
    assert old_conn.recv(2) == b"\xd0\x00"
    with open(live_crt, "w") as f:
        f.write("not a certificate\n")
    r = ctl(b, "listeners", "reload")
    assert r.returncode != 0 and "ssl_options.certfile" in r.stderr, r.stdout + r.stderr
    third, fp = open_conn("still")
    assert fp == new_fp
    for s in (old_conn, new_conn, third):
        s.close()


def test_the_https_api_certificate_is_reloaded_too(broker_factory, certs, tmp_path):
    """`ctl listeners reload` reads dashboard.listeners.https's files again with the
    listeners': a new HTTPS connection gets the new certificate; a file that does not load
    keeps every old one, and the answer names it."""
    import hashlib
    import shutil
    from clusterlib import ctl, wait_api
    d = str(tmp_path)
    live_crt, live_key = os.path.join(d, "api.pem"), os.path.join(d, "api.key")
    shutil.copy(certs("server.pem"), live_crt)
    shutil.copy(certs("server.key"), live_key)
    port = free_port()
    b = broker_factory({"dashboard.listeners.https.bind": "127.0.0.1:%d" % port,
                        "dashboard.listeners.https.ssl_options.certfile": live_crt,
                        "dashboard.listeners.https.ssl_options.keyfile": live_key}).start()
    wait_api(b)

    def fingerprint():
        ctx = ssl.create_default_context(cafile=certs("ca.pem"))
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="localhost") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()

    old_fp = fingerprint()
    make_cert(d, certs("ca"), "api2", "localhost", "IP:127.0.0.1,DNS:localhost")
    shutil.copy(os.path.join(d, "api2.pem"), live_crt)
    shutil.copy(os.path.join(d, "api2.key"), live_key)
    r = ctl(b, "listeners", "reload")
    assert r.returncode == 0 and '"reloaded":1' in r.stdout, r.stdout + r.stderr
    new_fp = fingerprint()
    assert new_fp != old_fp
    wait_log(b, "HTTPS API: certificates reloaded")
    with open(live_key, "w") as f:
        f.write("not a key\n")
    r = ctl(b, "listeners", "reload")
    assert r.returncode != 0, r.stdout
    assert "dashboard.listeners.https.ssl_options.keyfile" in r.stderr, r.stderr
    assert fingerprint() == new_fp
