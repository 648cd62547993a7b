"""The HTTP authenticator (EMQX's `backend = http`, docs/security.md §2) against a real local
HTTP service: POST with a JSON body and GET with the query; the answers allow (with
is_superuser), deny (0x87), ignore, 204, garbage, 404; a service that hangs or is down
leaves the decision to the next authenticator, and the other clients are served
meanwhile."""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest

import mqttraw as m
from conftest import free_port
from httpsvc import answer, serve

pytestmark = pytest.mark.starling_only("Starling's HTTP authenticator")


class Service:
    """Answers by the username it is given; keeps what it was sent."""

    def __init__(self):
        self.seen = []
        self.release = threading.Event()  # "hang" waits on it
        svc = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self, fields):
                svc.seen.append((self.command, self.path, dict(self.headers), fields))
                user = fields.get("username", "")
                if user == "hang":
                    svc.release.wait(30)
                status, body, ctype = {
                    "alice": (200, {"result": "allow", "is_superuser": True}, "application/json"),
                    "bob": (200, {"result": "deny"}, "application/json"),
                    "carol": (204, None, None),
                    "dave": (200, {"result": "ignore"}, "application/json"),
                    "erin": (200, "result=allow&is_superuser=false",
                             "application/x-www-form-urlencoded"),
                    "junk": (200, "{{{", "application/json"),
                    # EMQX's acl in the answer: the client's own rules (docs/security.md §9)
                    "frank": (200, {"result": "allow", "acl": [
                        {"permission": "allow", "action": "pub", "topic": "f/${username}"},
                        {"permission": "deny", "action": "all", "topics": ["f/#", "g"]}]},
                        "application/json"),
                    "gone": (200, {"result": "allow", "expire_at": int(time.time()) - 10,
                                   "acl": [{"permission": "allow", "action": "all",
                                            "topic": "#"}]}, "application/json"),
                    "badacl": (200, {"result": "allow", "acl": [{"permission": "maybe"}]},
                               "application/json"),
                }.get(user, (404, {"message": "who?"}, "application/json"))
                answer(self, status, body, ctype)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._answer(json.loads(raw) if raw else {})

            def do_GET(self):
                q = urllib.parse.urlparse(self.path).query
                self._answer({k: v[0] for k, v in urllib.parse.parse_qs(q).items()})

        self.server, self.port = serve(Handler)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service():
    s = Service()
    yield s
    s.close()


BODY = {"username": "${username}", "password": "${password}", "clientid": "${clientid}",
        "peerhost": "${peerhost}"}


def http_auth(url, **kw):
    a = {"mechanism": "password_based", "backend": "http", "url": url, "body": BODY,
         "request_timeout": "1s"}
    a.update(kw)
    return a


def connack(b, version=5, **kw):
    c = m.Conn(b.port, version)
    try:
        return c.connect(kw.pop("client_id", "c1"), **kw).reason
    finally:
        c.close()


def test_the_service_decides(broker_factory, service, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,password\ndave,dave-pw\n")
    b = broker_factory({"authentication": [
        http_auth("http://127.0.0.1:%d/auth" % service.port),
        {"mechanism": "password_based", "backend": "built_in_database",
         "bootstrap_file": str(users)}]}).start()
    assert connack(b, username="alice", password=b"a-pw", client_id="dev-9") == 0
    method, path, headers, fields = service.seen[-1]
    assert (method, path) == ("POST", "/auth")
    assert fields == {"username": "alice", "password": "a-pw", "clientid": "dev-9",
                      "peerhost": "127.0.0.1"}, fields
    assert headers["Content-Type"] == "application/json"
    assert connack(b, username="bob", password=b"x") == 0x87
    assert connack(b, 4, username="bob", password=b"x") == 5
    assert connack(b, username="carol", password=b"x") == 0
    assert connack(b, username="erin", password=b"x") == 0
    # ignore, garbage and 404: the next authenticator (the built-in database) decides
    assert connack(b, username="dave", password=b"dave-pw") == 0
    assert connack(b, username="dave", password=b"wrong") == 0x86
    assert connack(b, username="junk", password=b"x") == 0x87
    assert connack(b, username="zed", password=b"x") == 0x87


def test_get_puts_the_fields_in_the_query(broker_factory, service):
    b = broker_factory({"authentication": [
        http_auth("http://127.0.0.1:%d/check?realm=mqtt" % service.port, method="get")]}).start()
    assert connack(b, username="alice", password=b"p&w=1") == 0
    method, path, _, fields = service.seen[-1]
    assert method == "GET" and path.startswith("/check?realm=mqtt&"), path
    assert fields["password"] == "p&w=1" and fields["realm"] == "mqtt", fields


def test_a_hanging_or_dead_service_is_passed_by(broker_factory, service):
    """request_timeout 1 s: a CONNECT whose check hangs is answered by the rest of the chain
    (nobody: 0x87) once it runs out; meanwhile a client already in exchanges messages. A
    service that is down: the same at once."""
    b = broker_factory({"node.worker_threads": 1, "allow_anonymous": True, "authentication": [
        http_auth("http://127.0.0.1:%d/auth" % service.port)]}).start()
    inside = m.client(b.port, "inside", 5)
    inside.send(m.subscribe(1, [("t", m.subopts(1))], version=5))
    assert inside.expect(m.SUBACK).reasons == [1]
    slow = m.Conn(b.port, 5)
    slow.send(m.connect("slow", version=5, username="hang", password=b"x"))
    inside.send(m.publish("t", b"meanwhile", qos=1, packet_id=3, version=5))
    assert inside.expect(m.PUBLISH, stash=True).payload == b"meanwhile"
    assert slow.expect(m.CONNACK, timeout=30).reason == 0x87
    service.release.set()
    slow.close()
    inside.close()
    dead = broker_factory({"authentication": [http_auth("http://127.0.0.1:%d/auth" % free_port())]},
                          name="dead").start()
    assert connack(dead, username="alice", password=b"x") == 0x87


def test_the_acl_in_the_answer_is_the_clients_own(broker_factory, service):
    """{"result": "allow", "acl": [...]}: the rules apply to that client before any source
    (none here); after "expire_at" they deny everything; rules that do not parse refuse the
    client (0x86), as EMQX does."""
    b = broker_factory({"authentication": [
        http_auth("http://127.0.0.1:%d/auth" % service.port)]}).start()
    c = m.Conn(b.port, 5)
    assert c.connect("f1", username="frank", password=b"x").reason == 0
    assert c.publish("f/frank", b"", qos=1).reason == 0x10
    assert c.publish("f/other", b"", qos=1).reason == 0x87
    assert c.subscribe([("f/frank", 0), ("g", 0), ("h", 0)]).reasons == [0x87, 0x87, 0]
    c.close()
    c = m.Conn(b.port, 5)
    assert c.connect("g1", username="gone", password=b"x").reason == 0
    assert c.subscribe([("anything", 0)]).reasons == [0x87]
    c.close()
    assert connack(b, username="badacl", password=b"x") == 0x86


def test_the_client_certificates_common_name(broker_factory, service, tmp_path):
    """${cert_common_name}: the CN of the certificate a TLS client presented."""
    import socket
    import ssl

    from certs import make_ca, make_cert
    d = str(tmp_path)
    make_ca(d, "ca")
    make_cert(d, "ca", "server", "localhost", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "ca", "client", "device-17")
    port = free_port()
    pre = "listeners.ssl.default.ssl_options."
    b = broker_factory({"listeners.ssl.default.bind": "127.0.0.1:%d" % port,
                        pre + "certfile": d + "/server.pem", pre + "keyfile": d + "/server.key",
                        pre + "cacertfile": d + "/ca.pem", pre + "verify": "verify_peer",
                        "authentication": [http_auth(
                            "http://127.0.0.1:%d/auth" % service.port,
                            body=dict(BODY, cn="${cert_common_name}"))]}).start()
    ctx = ssl.create_default_context(cafile=d + "/ca.pem")
    ctx.load_cert_chain(d + "/client.pem", d + "/client.key")
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                         server_hostname="localhost") as s:
        s.sendall(m.connect("tls-1", version=4, username="alice", password=b"a-pw"))
        assert s.recv(4) == b"\x20\x02\x00\x00"
    assert service.seen[-1][3]["cn"] == "device-17", service.seen[-1]
    assert connack(b, username="alice", password=b"a-pw") == 0  # plain TCP: no certificate
    assert service.seen[-1][3]["cn"] == "", service.seen[-1]
