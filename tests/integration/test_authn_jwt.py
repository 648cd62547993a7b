"""The JWT authenticator (EMQX's `mechanism = jwt`, docs/security.md §2): tokens made by
another library (PyJWT) with an HMAC secret, an RSA key and an EC key (made by the OpenSSL
command line) are checked by the broker with OpenSSL; exp, nbf and verify_claims with
${clientid}; a token that does not verify leaves the decision to the rest of the chain
(0x87 at its end), one that verifies but fails a check is refused (0x86)."""

import base64
import subprocess
import time

import jwt
import pytest

import mqttraw as m
from conftest import free_port

pytestmark = pytest.mark.starling_only("Starling's JWT authenticator")

SECRET = "s3cr3t-of-at-least-thirty-two-bytes!"


def connack(b, version=5, **kw):
    c = m.Conn(b.port, version)
    try:
        return c.connect(kw.pop("client_id", "dev-1"), **kw).reason
    finally:
        c.close()


def token(key=SECRET, alg="HS256", **claims):
    claims.setdefault("exp", int(time.time()) + 600)
    return jwt.encode(claims, key, algorithm=alg).encode()


def jwt_broker(broker_factory, name="broker", **auth):
    a = {"mechanism": "jwt"}
    a.update(auth)
    return broker_factory({"authentication": [a]}, name=name).start()


def test_hmac_tokens_and_their_claims(broker_factory):
    b = jwt_broker(broker_factory, secret=SECRET, verify_claims={"sub": "${clientid}"})
    assert connack(b, password=token(sub="dev-1")) == 0
    assert connack(b, 4, username="u", password=token(sub="dev-1")) == 0  # 3.1.1: a name too
    assert connack(b, password=token(sub="dev-2")) == 0x86  # the claim is not this client's
    assert connack(b, password=token()) == 0x86  # the claim is missing
    assert connack(b, password=token(sub="dev-1", exp=int(time.time()) - 10)) == 0x86
    assert connack(b, 4, username="u", password=token(sub="dev-1", exp=int(time.time()) - 10)) == 4
    assert connack(b, password=token(sub="dev-1", nbf=int(time.time()) + 3600)) == 0x86
    # a token that does not verify: nobody decided, and a chain lets no one in then
    assert connack(b, password=token("another-secret-of-32-bytes-or-more", sub="dev-1")) == 0x87
    none = jwt.encode({"sub": "dev-1"}, None, algorithm="none").encode()
    assert connack(b, password=none) == 0x87  # alg none is never accepted
    forged = token(sub="dev-2").split(b".")
    good = token(sub="dev-1").split(b".")
    assert connack(b, password=b".".join([good[0], forged[1], good[2]])) == 0x87
    assert connack(b, password=b"not-a-jwt") == 0x87
    assert connack(b) == 0x87  # no password: no token


def test_a_base64_secret_and_the_token_in_the_username(broker_factory):
    b = jwt_broker(broker_factory, secret=base64.b64encode(SECRET.encode()).decode(),
                   secret_base64_encoded=True, **{"from": "username"})
    assert connack(b, username=token(sub="x").decode()) == 0
    assert connack(b, password=token(sub="x")) == 0x87


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_public_key_tokens(broker_factory, tmp_path, kind):
    """RS256 with the key in a file, ES256 with the PEM text in the config."""
    key, pub = str(tmp_path / "key.pem"), str(tmp_path / "pub.pem")
    gen = (["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
           if kind == "rsa" else
           ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    subprocess.run(gen + ["-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    with open(key) as f:
        private = f.read()
    with open(pub) as f:
        public = f.read()
    alg = "RS256" if kind == "rsa" else "ES256"
    b = jwt_broker(broker_factory, algorithm="public-key",
                   public_key=pub if kind == "rsa" else public)
    assert connack(b, password=token(private, alg, sub="a")) == 0
    assert connack(b, password=token(private, alg, exp=1)) == 0x86
    assert connack(b, password=token(SECRET, "HS256")) == 0x87  # HMAC with a public key: no


@pytest.mark.parametrize("auth,words", [
    ({"mechanism": "jwt"}, "authentication.0.secret: required with hmac-based"),
    ({"mechanism": "jwt", "algorithm": "public-key"},
     "authentication.0.public_key: required with public-key"),
    ({"mechanism": "jwt", "algorithm": "public-key", "public_key": "/nonexistent.pem"},
     "authentication.0.public_key: not a PEM public key"),
    ({"mechanism": "jwt", "secret": "x", "use_jwks": True},
     "authentication.0.use_jwks: JWKS is not built yet"),
    ({"mechanism": "jwt", "secret": "x", "verify_claims": {"exp": "1"}},
     "authentication.0.verify_claims.exp: exp, iat and nbf are checked on their own"),
])
def test_a_bad_jwt_config_stops_the_node(broker_factory, auth, words):
    b = broker_factory({"authentication": [auth]})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert words in p.stdout + p.stderr, p.stdout + p.stderr


def test_the_acl_claim_is_the_clients_own(broker_factory):
    """EMQX's acl claim, both forms: the list of rules (first match; no match: the sources,
    none here, so allowed) and the legacy {"pub", "sub", "all"} allow lists (no match:
    denied); after the token's exp they deny all; a claim that does not parse refuses the
    token (0x86)."""
    b = jwt_broker(broker_factory, secret=SECRET)
    listed = token(acl=[{"permission": "allow", "action": "publish", "topic": "d/${clientid}"},
                        {"permission": "deny", "action": "all", "topic": "d/#", "qos": "0,1"}])
    c = m.Conn(b.port, 5)
    assert c.connect("dev-1", password=listed).reason == 0
    assert c.publish("d/dev-1", b"", qos=1).reason == 0x10
    assert c.publish("d/dev-2", b"", qos=1).reason == 0x87
    assert c.publish("d/dev-2", b"", qos=2).type == m.PUBCOMP  # the deny rule: QoS 0 and 1
    assert c.publish("other", b"", qos=1).reason == 0x10  # no rule: no_match (allow)
    c.close()
    legacy = token(acl={"pub": ["a/#"], "sub": ["b/#"], "all": ["c"]})
    c = m.Conn(b.port, 5)
    assert c.connect("dev-3", password=legacy).reason == 0
    assert c.publish("a/1", b"", qos=1).reason == 0x10
    assert c.publish("b/1", b"", qos=1).reason == 0x87
    assert c.publish("c", b"", qos=1).reason == 0x10
    assert c.subscribe([("b/1", 0), ("a/1", 0), ("c", 0)]).reasons == [0, 0x87, 0]
    c.close()
    soon = token(exp=int(time.time()) + 2, acl=[{"permission": "allow", "action": "all",
                                                  "topic": "#"}])
    c = m.Conn(b.port, 5)
    assert c.connect("dev-4", password=soon).reason == 0
    assert c.subscribe([("x/1", 0)]).reasons == [0]
    deadline = time.monotonic() + 30
    while c.subscribe([("x/%d" % int(time.monotonic() * 1000), 0)]).reasons != [0x87]:
        assert time.monotonic() < deadline, "the token's rules did not end at its exp"
        time.sleep(0.2)
    c.close()
    assert connack(b, password=token(acl=[{"permission": "allow"}])) == 0x86
    assert connack(b, password=token(acl="all")) == 0x86
