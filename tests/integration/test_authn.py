"""Authentication at CONNECT (docs/security.md §2): EMQX 5's authenticator chain with the
built-in database, users from EMQX's bootstrap files (CSV and JSON, plain passwords and
hashes made here by Python's hashlib), allow_anonymous, enable_authn per listener, the
reason codes (MQTT 5 and 3.1.1), and configs that are refused with the file, line and key."""

import hashlib
import json
import os
import socket
import subprocess

import pytest

import mqttraw as m
from clusterlib import wait_log
from conftest import free_port

pytestmark = pytest.mark.starling_only("Starling's access control")


def builtin(bootstrap, kind="plain", **algo):
    a = {"mechanism": "password_based", "backend": "built_in_database",
         "bootstrap_file": str(bootstrap), "bootstrap_type": kind}
    if algo:
        a["password_hash_algorithm"] = algo
    return a


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def connack(b, version=5, port=None, **kw):
    c = m.Conn(port or b.port, version)
    try:
        return c.connect(kw.pop("client_id", "c1"), **kw).reason
    finally:
        c.close()


def chain_broker(broker_factory, *authenticators, name="broker", **conf):
    return broker_factory(dict(conf, authentication=list(authenticators)), name=name).start()


@pytest.fixture
def users_csv(tmp_path):
    return write(tmp_path / "users.csv",
                 "user_id,password,is_superuser\nalice,secret1,true\nbob secret2 false\n")


def test_the_chain_decides_with_mqtt5_and_311_codes(broker_factory, users_csv):
    b = chain_broker(broker_factory, builtin(users_csv))
    for version, ok, bad, nobody in ((5, 0, 0x86, 0x87), (4, 0, 4, 5)):
        assert connack(b, version, username="alice", password=b"secret1") == ok
        assert connack(b, version, username="bob", password=b"secret2") == ok
        assert connack(b, version, username="alice", password=b"secret2") == bad
        assert connack(b, version, username="alice") == bad  # found, no password
        assert connack(b, version, username="carol", password=b"x") == nobody
        assert connack(b, version) == nobody  # anonymous, and a chain without anonymous
    # a client let in works as any other
    c = m.client(b.port, "pub", 5, username="alice", password=b"secret1")
    c.close()


def test_hashes_from_another_implementation_import_as_they_are(broker_factory, tmp_path):
    """bootstrap_type = hash: rows made with hashlib (what an EMQX export holds): sha256
    with the salt before, sha512 after, pbkdf2; CSV and JSON."""
    salt = "e378187547bf2d6f0545a3f441aa4d8a"
    rows = "user_id,password_hash,salt,is_superuser\n"
    rows += "u1,%s,%s,false\n" % (hashlib.sha256((salt + "pw1").encode()).hexdigest(), salt)
    rows += "u2,%s,%s,true\n" % (hashlib.sha256((salt + "pw2").encode()).hexdigest().upper(),
                                  salt)  # capitals: hex compares without case
    b = chain_broker(broker_factory, builtin(write(tmp_path / "h.csv", rows), "hash"))
    assert connack(b, username="u1", password=b"pw1") == 0
    assert connack(b, username="u2", password=b"pw2") == 0
    assert connack(b, username="u1", password=b"pw2") == 0x86
    b.stop()

    js = [{"user_id": "u3", "password_hash": hashlib.sha512(("pw3" + salt).encode()).hexdigest(),
           "salt": salt, "is_superuser": True}]
    b = chain_broker(broker_factory,
                     builtin(write(tmp_path / "h.json", json.dumps(js)), "hash", name="sha512",
                             salt_position="suffix"), name="b2")
    assert connack(b, username="u3", password=b"pw3") == 0
    assert connack(b, username="u3", password=b"pw4") == 0x86
    b.stop()

    dk = hashlib.pbkdf2_hmac("sha256", b"pw5", salt.encode(), 2000, 24).hex()
    b = chain_broker(broker_factory,
                     builtin(write(tmp_path / "p.csv", "user_id,password_hash,salt\nu5,%s,%s\n"
                                   % (dk, salt)), "hash", name="pbkdf2", mac_fun="sha256",
                             iterations=2000, dk_length=24), name="b3")
    assert connack(b, username="u5", password=b"pw5") == 0
    assert connack(b, username="u5", password=b"pw6") == 0x86


@pytest.mark.parametrize("algo", [{"name": "bcrypt", "salt_rounds": 5},
                                  {"name": "pbkdf2", "mac_fun": "sha512", "iterations": 10},
                                  {"name": "md5", "salt_position": "suffix"},
                                  {"name": "plain", "salt_position": "disable"}],
                         ids=["bcrypt", "pbkdf2", "md5", "plain"])
def test_plain_bootstrap_passwords_are_hashed_with_the_algorithm(broker_factory, users_csv, algo):
    b = chain_broker(broker_factory, builtin(users_csv, **algo))
    assert connack(b, username="alice", password=b"secret1") == 0
    assert connack(b, username="alice", password=b"secret1x") == 0x86


def test_user_id_type_clientid_and_a_second_authenticator(broker_factory, tmp_path, users_csv):
    """The first authenticator does not know the client: the next one decides."""
    by_id = dict(builtin(write(tmp_path / "ids.csv", "user_id,password\ndev-1,k1\n")),
                 user_id_type="clientid")
    b = broker_factory({"authentication": [by_id]}).start()
    assert connack(b, client_id="dev-1", username="anyone", password=b"k1") == 0
    assert connack(b, client_id="dev-1", password=b"k2", username="x") == 0x86
    b.stop()
    # EMQX allows one authenticator per id: a second built-in database is refused
    b = broker_factory({"authentication": [builtin(users_csv), by_id]}, name="b2")
    err = start_error(b)
    assert "authentication.1.mechanism: a second authenticator password_based:built_in_" \
           "database (each may appear once)" in err, err


def test_allow_anonymous(broker_factory, users_csv):
    # no chain, not set: everyone (EMQX 5)
    b = broker_factory().start()
    assert connack(b) == 0
    b.stop()
    # no chain, false: no one
    b = broker_factory({"allow_anonymous": False}, name="b2").start()
    assert connack(b) == 0x87 and connack(b, 4) == 5
    assert connack(b, username="alice", password=b"secret1") == 0x87
    b.stop()
    # a chain and true: a client without credentials passes; an unknown user does not
    b = chain_broker(broker_factory, builtin(users_csv), allow_anonymous=True, name="b3")
    assert connack(b) == 0
    assert connack(b, username="carol", password=b"x") == 0x87
    assert connack(b, username="alice", password=b"no") == 0x86


def test_enable_authn_per_listener(broker_factory, users_csv):
    free, quick = free_port(), free_port()
    b = chain_broker(broker_factory, builtin(users_csv), **{
        "listeners.tcp.open.bind": "127.0.0.1:%d" % free,
        "listeners.tcp.open.enable_authn": False,
        "listeners.tcp.quick.bind": "127.0.0.1:%d" % quick,
        "listeners.tcp.quick.enable_authn": "quick_deny_anonymous"})
    assert connack(b) == 0x87
    assert connack(b, port=free) == 0
    assert connack(b, port=free, username="alice", password=b"wrong") == 0  # skipped
    assert connack(b, port=quick) == 0x87
    assert connack(b, port=quick, username="alice", password=b"secret1") == 0
    assert connack(b, port=quick, username="alice", password=b"wrong") == 0x86


def on_all_addresses(b):
    b.port = free_port()
    b.conf["listeners.tcp.default.bind"] = "0.0.0.0:%d" % b.port
    return b.start()


def test_the_node_warns_about_anonymous_access_off_loopback(broker_factory, users_csv):
    b = on_all_addresses(broker_factory())
    assert "anonymous clients are let in on tcp:default (0.0.0.0:" in b.log()
    assert b.log().count("anonymous clients are let in") == 1
    b.stop()
    b = on_all_addresses(broker_factory({"authentication": [builtin(users_csv)]}, name="b2"))
    b.stop()  # the log is complete once it has stopped
    assert "anonymous clients" not in b.log()
    assert "broker stopped" in b.log()


def test_the_seed_keys_load(broker_factory, users_csv, tmp_path):
    """The seed's `allow_anonymous = true` and `authentication.password_hash_salt` load (as
    keys, and as the object HOCON makes of them); with a password_hash_salt, passwords from
    a plain bootstrap file (mixed with it) and imported hashes (made without it) both work."""
    b = broker_factory({"allow_anonymous": True,
                        "authentication.password_hash_salt": "pepper"}).start()
    assert connack(b) == 0
    b.stop()
    conf = {"authentication": {"password_hash_salt": "pepper"}}  # the seed's shape, as HOCON
    b = broker_factory(conf, name="b2").start()
    assert connack(b) == 0
    b.stop()
    salt = "0123456789abcdef0123456789abcdef"
    hashed = write(tmp_path / "h.csv", "user_id,password_hash,salt\nu1,%s,%s\n"
                   % (hashlib.sha256((salt + "pw1").encode()).hexdigest(), salt))
    # HOCON cannot hold `authentication = [...]` beside `authentication.password_hash_salt`
    # (the later replaces the other): an authenticator takes its own
    for name, auth in (("b5", builtin(users_csv)), ("b6", builtin(hashed, "hash"))):
        b = chain_broker(broker_factory, dict(auth, password_hash_salt="pepper"), name=name)
        assert connack(b, username="alice", password=b"secret1") == (0 if name == "b5" else 0x87)
        assert connack(b, username="u1", password=b"pw1") == (0 if name == "b6" else 0x87)
        b.stop()


def start_error(b):
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0, p.stdout
    return p.stdout + p.stderr


@pytest.mark.parametrize("auth,words", [
    ({"backend": "built_in_database"},
     "authentication.0.mechanism: required: password_based"),
    ({"mechanism": "gssapi"}, 'authentication.0.mechanism: "gssapi" is not supported'),
    ({"mechanism": "password_based", "backend": "mysql"},
     'authentication.0.backend: "mysql" is not supported'),
    ({"mechanism": "password_based", "backend": "http"},
     "authentication.0.url: required: an http:// or https:// URL"),
    ({"mechanism": "password_based", "backend": "built_in_database",
      "password_hash_algorithm": {"name": "sha3"}},
     "authentication.0.password_hash_algorithm.name: expected one of plain, md5"),
    ({"mechanism": "password_based", "backend": "built_in_database",
      "bootstrap_file": "/nonexistent/users.csv"},
     "authentication.0.bootstrap_file: /nonexistent/users.csv: cannot read it"),
    ({"mechanism": "password_based", "backend": "built_in_database",
      "bootstrap_file": "USERS.txt"}, "a bootstrap file is .csv or .json"),
    ({"mechanism": "password_based", "backend": "built_in_database",
      "bootstrap_file": "BAD.csv"}, "BAD.csv:3: 2 fields, the header has 3"),
    ({"mechanism": "password_based", "backend": "built_in_database",
      "bootstrap_file": "NOPW.csv"}, "NOPW.csv:1: the header must name user_id and password"),
])
def test_a_bad_authentication_config_stops_the_node(broker_factory, tmp_path, auth, words):
    files = {"USERS.txt": "user_id,password\n", "BAD.csv": "user_id,password,is_superuser\n"
             "a,b,true\nc,d\n", "NOPW.csv": "user_id,pass\nx,y\n"}
    for name, text in files.items():
        if auth.get("bootstrap_file") == name:
            auth = dict(auth, bootstrap_file=write(tmp_path / name, text))
            words = words.replace(name, str(tmp_path / name))
    err = start_error(broker_factory({"authentication": [auth]}))
    assert words in err, err


def nothing_received_yet(conn):
    """Has nothing arrived on conn so far (at this instant, no waiting)?"""
    conn.sock.settimeout(0)
    try:
        conn.sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    finally:
        conn.sock.settimeout(5)


def test_slow_hashes_run_off_the_event_loop(broker_factory, tmp_path):
    """One worker, and a password check that takes seconds (pbkdf2, iterations sized from
    how fast this machine runs hashlib's): while it runs on the auth threads, a client
    already connected to that worker exchanges a message, and its answer comes first; then
    the slow CONNECT is answered. Clients that need no slow hash (no credentials, a user
    nobody knows) are decided at once, not queued behind it. A client that leaves while its
    check waits is noticed (its FIN, though it is not read) and its check dropped."""
    import time
    t0, n = time.monotonic(), 20000
    hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", n)
    iterations = int(n * 4.0 / max(time.monotonic() - t0, 1e-4))  # about 4 s here
    salt = "0123456789abcdef0123456789abcdef"
    dk = hashlib.pbkdf2_hmac("sha256", b"pw", salt.encode(), iterations).hex()
    users = write(tmp_path / "u.csv", "user_id,password_hash,salt\nslow,%s,%s\n" % (dk, salt))
    b = broker_factory({"node.worker_threads": 1, "allow_anonymous": True, "log.level": "debug",
                        "authentication": [builtin(users, "hash", name="pbkdf2",
                                                   mac_fun="sha256", iterations=iterations)]})
    b.start()
    fast = m.client(b.port, "fast", 5)  # anonymous: no hash
    fast.send(m.subscribe(1, [("t", m.subopts(1))], version=5))
    assert fast.expect(m.SUBACK).reasons == [1]
    slow = m.Conn(b.port, 5)
    slow.send(m.connect("slow", version=5, username="slow", password=b"pw"))
    gone = m.Conn(b.port, 5)  # leaves while its check is queued
    gone.send(m.connect("gone", version=5, username="slow", password=b"pw"))
    gone.close()
    assert connack(b, 5, client_id="anon") == 0
    assert connack(b, 5, client_id="nobody", username="nobody", password=b"x") == 0x87
    wait_log(b, "gone while its login was checked; the check is dropped")
    fast.send(m.publish("t", b"while hashing", qos=1, packet_id=7, version=5))
    assert fast.expect(m.PUBLISH, timeout=30, stash=True).payload == b"while hashing"
    assert nothing_received_yet(slow)  # the check has not come back yet
    assert slow.expect(m.CONNACK, timeout=45).reason == 0
    slow.close()
    fast.close()
