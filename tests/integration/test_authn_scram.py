"""MQTT 5 enhanced authentication with SCRAM (EMQX's `mechanism = scram`, docs/security.md §2):
the exchange against a client written here from RFC 5802 (Python's hashlib and hmac), the
server's signature checked by the client, wrong passwords, unknown users and methods,
re-authentication, users from a bootstrap file and from the API, SHA-256 and SHA-512."""

import base64
import hashlib
import hmac
import os
import subprocess

import pytest

import mqttraw as m
from clusterlib import api_call, wait_api

pytestmark = pytest.mark.starling_only("Starling's SCRAM authenticator")


class Scram:
    """The client's side of one exchange."""

    def __init__(self, user, password, alg="sha256"):
        self.alg, self.h = alg, getattr(hashlib, alg)
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
        self.server_signature = None

    @property
    def method(self):
        return "SCRAM-SHA-%s" % self.alg[3:]

    def first(self):
        return ("n,," + self.bare).encode()

    def final(self, server_first, password=None):
        sf = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        assert attrs["r"].startswith(self.nonce) and len(attrs["r"]) > len(self.nonce), sf
        salted = hashlib.pbkdf2_hmac(self.alg, password or self.password,
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.h).digest()
        stored = self.h(client_key).digest()
        without = "c=biws,r=" + attrs["r"]
        auth = ",".join([self.bare, sf, without]).encode()
        sig = hmac.new(stored, auth, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", self.h).digest()
        self.server_signature = "v=" + base64.b64encode(
            hmac.new(server_key, auth, self.h).digest()).decode()
        return (without + ",p=" + base64.b64encode(proof).decode()).encode()


def scram_authn(path=None, alg="sha256", **kw):
    a = dict({"mechanism": "scram", "backend": "built_in_database", "algorithm": alg}, **kw)
    if path:
        a["bootstrap_file"] = str(path)
    return a


@pytest.fixture
def users(tmp_path):
    p = tmp_path / "scram.csv"
    p.write_text("user_id,password,is_superuser\nsam,s3cret,false\nroot,r00t,true\n")
    return p


def login(b, user, password, alg="sha256", wrong=None):
    """CONNECT with SCRAM; returns (connection, CONNACK)."""
    s = Scram(user, password, alg)
    c = m.Conn(b.port, 5)
    c.send(m.connect("scram-" + user, version=5,
                     properties=[("auth_method", s.method), ("auth_data", s.first())]))
    p = c.recv()
    if p.type == m.CONNACK:
        return c, p, s
    assert p.reason == 0x18 and p.props.get("auth_method") == s.method, p
    c.send(m.auth(0x18, [("auth_method", s.method),
                         ("auth_data", s.final(p.props.get("auth_data"), wrong))]))
    return c, c.expect(m.CONNACK), s


def test_a_scram_login_and_the_servers_signature(broker_factory, users):
    b = broker_factory({"authentication": [scram_authn(users)]}).start()
    c, ack, s = login(b, "sam", "s3cret")
    assert ack.reason == 0, ack
    assert ack.props.get("auth_method") == "SCRAM-SHA-256"
    assert ack.props.get("auth_data").decode() == s.server_signature  # the server knows the key
    c.send(m.subscribe(1, [("t", m.subopts(0))], version=5))
    assert c.expect(m.SUBACK).reasons == [0]
    c.close()


def test_wrong_password_unknown_user_and_method(broker_factory, users):
    b = broker_factory({"authentication": [scram_authn(users)]}).start()
    c, ack, _ = login(b, "sam", "s3cret", wrong=b"guess")
    assert ack.reason == 0x86
    c.expect_closed()
    c, ack, _ = login(b, "nobody", "x")  # answers as for a user, fails at the proof
    assert ack.reason == 0x86
    c, ack, _ = login(b, "sam", "s3cret", alg="sha512")  # only SHA-256 is configured
    assert ack.reason == 0x8C
    c = m.Conn(b.port, 5)
    c.send(m.connect("k", version=5, properties=[("auth_method", "KERBEROS"),
                                                  ("auth_data", b"x")]))
    assert c.expect(m.CONNACK).reason == 0x8C
    assert "SCRAM login of sam refused" in b.log()


def test_reauthentication(broker_factory, users):
    """AUTH 0x19 on a connected client: a right proof gets AUTH 0 with the server's
    signature and the client stays; a wrong one gets DISCONNECT 0x86."""
    b = broker_factory({"authentication": [scram_authn(users)]}).start()
    c, ack, _ = login(b, "sam", "s3cret")
    assert ack.reason == 0
    for wrong in (None, b"nope"):
        s = Scram("sam", "s3cret")
        c.send(m.auth(0x19, [("auth_method", s.method), ("auth_data", s.first())]))
        p = c.expect(m.AUTH)
        assert p.reason == 0x18
        c.send(m.auth(0x18, [("auth_method", s.method),
                             ("auth_data", s.final(p.props.get("auth_data"), wrong))]))
        if wrong is None:
            p = c.expect(m.AUTH)
            assert p.reason == 0 and p.props.get("auth_data").decode() == s.server_signature
            c.send(m.pingreq())
            assert c.expect(m.PINGRESP)
        else:
            assert c.expect_disconnect([0x86]).reason == 0x86
    c2, ack, _ = login(b, "sam", "s3cret")
    s = Scram("sam", "s3cret", "sha512")  # another method than the CONNECT's: protocol error
    c2.send(m.auth(0x19, [("auth_method", s.method), ("auth_data", s.first())]))
    assert c2.expect_disconnect([0x82]).reason == 0x82


def test_sha512_users_from_the_api(broker_factory):
    b = broker_factory({"authentication": [scram_authn(alg="sha512", iteration_count=1000)]})
    b.start()
    wait_api(b)
    path = "/api/v5/authentication/scram%3Abuilt_in_database/users"
    code, body = api_call(b, "POST", path, {"user_id": "ann", "password": "pw-512"})
    assert code == 201, body
    c, ack, s = login(b, "ann", "pw-512", alg="sha512")
    assert ack.reason == 0 and ack.props.get("auth_data").decode() == s.server_signature
    c.close()
    code, body = api_call(b, "GET", path)
    assert code == 200 and [u["user_id"] for u in body["data"]] == ["ann"], body


def test_a_plain_connect_is_not_scrams(broker_factory, users):
    """A CONNECT without an authentication method does not reach the SCRAM users: with
    nothing else in the chain and allow_anonymous unset, a password login is refused."""
    b = broker_factory({"authentication": [scram_authn(users)]}).start()
    c = m.Conn(b.port, 5)
    assert c.connect("plain", username="sam", password=b"s3cret").reason == 0x87


def test_bad_scram_configs_stop_the_node(broker_factory):
    for i, (auth, words) in enumerate((
            ({"mechanism": "scram", "backend": "http"}, "scram keeps its users in built_in_database"),
            ({"mechanism": "scram", "algorithm": "md5"}, "authentication.0.algorithm"))):
        b = broker_factory({"authentication": [auth]}, name="b%d" % i)
        b.write_config()
        p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
        assert p.returncode != 0 and words in p.stdout + p.stderr, p.stdout + p.stderr
