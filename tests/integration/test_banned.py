"""Bans (EMQX's banned table, docs/security.md §3): checked at CONNECT before any
authenticator (0x8A; 3.1.1: 5), by client id, username or address, by regular expression or
network, until a time or for ever; cluster-wide (a row of the replicated table); a client id
ban ends the client's live session wherever it is (DISCONNECT 0x98); the API, ctl and
banned.bootstrap_file."""

import subprocess
import time

import pytest

import mqttraw as m
from clusterlib import (Cluster, api_call as api, connack, ctl, wait_api, wait_connack,
                        wait_log, wait_status)

pytestmark = pytest.mark.starling_only("Starling's banned table")


def test_bans_by_id_name_address_pattern_and_network(broker):
    wait_api(broker)
    for ban in ({"as": "clientid", "who": "bad-1", "reason": "spam"},
                {"as": "username", "who": "mallory"},
                {"as": "clientid_re", "who": "^bot-[0-9]+$"},
                {"as": "peerhost_net", "who": "10.0.0.0/8"}):
        status, got = api(broker, "POST", "/api/v5/banned", ban)
        assert status == 200 and got["as"] == ban["as"] and got["until"] == "infinity", got
        assert got["by"] == "mgmt_api"
    assert connack(broker, client_id="bad-1") == 0x8A
    assert connack(broker, 4, client_id="bad-1") == 5
    assert connack(broker, client_id="ok-1", username="mallory") == 0x8A
    assert connack(broker, client_id="bot-42") == 0x8A
    assert connack(broker, client_id="bot-x") == 0  # the pattern does not match
    assert connack(broker, client_id="ok-2") == 0  # 127.0.0.1 is not in 10/8
    status, got = api(broker, "POST", "/api/v5/banned", {"as": "peerhost", "who": "127.0.0.1"})
    assert status == 200
    assert connack(broker, client_id="ok-3") == 0x8A
    assert api(broker, "POST", "/api/v5/banned", {"as": "clientid", "who": "bad-1"})[1][
        "code"] == "ALREADY_EXISTS"
    assert api(broker, "POST", "/api/v5/banned", {"as": "owner", "who": "x"})[0] == 400
    assert api(broker, "POST", "/api/v5/banned", {"as": "clientid_re", "who": "(("})[0] == 400
    assert api(broker, "POST", "/api/v5/banned",
               {"as": "clientid", "who": "late", "until": "2001-01-01T00:00:00Z"})[0] == 400
    page = api(broker, "GET", "/api/v5/banned?limit=2")[1]
    assert page["meta"] == {"page": 1, "limit": 2, "count": 5, "hasnext": True}, page
    found = api(broker, "GET", "/api/v5/banned?like_clientid=bad")[1]
    assert [b["who"] for b in found["data"]] == ["bad-1"] and found["meta"]["count"] == 1
    assert api(broker, "GET", "/api/v5/banned?username=mallory")[1]["meta"]["count"] == 1
    assert api(broker, "GET", "/api/v5/banned?username=eve")[1]["data"] == []
    assert api(broker, "DELETE", "/api/v5/banned/peerhost/127.0.0.1")[0] == 204
    assert connack(broker, client_id="ok-4") == 0
    assert api(broker, "DELETE", "/api/v5/banned/peerhost/127.0.0.1")[0] == 404
    assert api(broker, "DELETE", "/api/v5/banned")[0] == 204
    assert connack(broker, client_id="bad-1") == 0
    assert api(broker, "GET", "/api/v5/banned")[1]["meta"]["count"] == 0


def test_a_ban_that_ends_lets_the_client_back(broker):
    wait_api(broker)
    until = int(time.time()) + 2
    assert api(broker, "POST", "/api/v5/banned",
               {"as": "clientid", "who": "brief", "until": until})[0] == 200
    assert connack(broker, client_id="brief") == 0x8A
    wait_connack(broker, 0, client_id="brief")  # the event: the ban has run out


def test_a_client_id_ban_ends_the_live_session_on_every_node(broker_factory, tmp_path):
    """Two nodes; the client is on node 2, the ban is made on node 1 with ctl: node 2 sends
    it DISCONNECT 0x98 and refuses it from then on, and so does node 1. A node started with a
    banned.bootstrap_file makes its bans the cluster's."""
    bans = tmp_path / "bans.csv"
    bans.write_text("as,who,reason,at,until,by\nusername,eve,from the file,,,\n")
    cl = Cluster(broker_factory, 2)
    a = cl.node(0, seeds=(0, 1), **{"banned.bootstrap_file": str(bans)})
    b = cl.node(1, seeds=(0, 1))
    for n in (a, b):
        n.start()
    for n in (a, b):
        wait_status(n, [cl.name(0), cl.name(1)], timeout=30)
    wait_connack(b, 0x8A, client_id="any", username="eve")  # node 1's file, on node 2
    live = m.Conn(b.port, 5, host=b.host)
    assert live.connect("target").reason == 0
    r = ctl(a, "banned", "add", "clientid", "target", "abuse")
    assert r.returncode == 0 and "clientid target banned" in r.stdout, r.stderr
    live.expect_disconnect([0x98], timeout=15)
    assert connack(b, client_id="target") == 0x8A
    wait_connack(a, 0x8A, client_id="target")
    r = ctl(b, "banned", "list")
    assert r.returncode == 0 and '"who":"target"' in r.stdout and '"by":"ctl"' in r.stdout
    r = ctl(b, "banned", "delete", "clientid", "target")
    assert r.returncode == 0, r.stderr
    wait_connack(a, 0, client_id="target")


def test_a_bad_bans_file_stops_the_node(broker_factory, tmp_path):
    bans = tmp_path / "bans.csv"
    bans.write_text("as,who\nclientid,a\nowner,b\n")
    b = broker_factory({"banned.bootstrap_file": str(bans)})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert "%s:3: as: clientid, username" % bans in p.stdout + p.stderr, p.stdout + p.stderr


@pytest.mark.broker_conf({"flapping_detect.enable": True, "flapping_detect.max_count": 3,
                          "flapping_detect.ban_time": "5m"})
def test_flapping_makes_a_ban(broker):
    """flapping_detect: a client id that disconnects max_count times within the window is
    banned (EMQX's clientid ban by the "flapping detector") for ban_time."""
    wait_api(broker)
    for _ in range(3):
        assert connack(broker, client_id="flappy") == 0
    wait_connack(broker, 0x8A, client_id="flappy")
    bans = api(broker, "GET", "/api/v5/banned")[1]["data"]
    assert [(b["as"], b["who"], b["by"], b["reason"]) for b in bans] == [
        ("clientid", "flappy", "flapping detector", "flapping is detected")], bans
    assert bans[0]["until"] != "infinity"
    assert connack(broker, client_id="steady") == 0


def connect_from(b, source):
    """CONNECT from a source address: the CONNACK's reason, or None when the connection is
    closed (or reset) without one."""
    import socket
    s = None
    try:  # the reset may come while the connection is still being made
        s = socket.create_connection(("127.0.0.1", b.port), timeout=10,
                                     source_address=(source, 0))
        s.sendall(m.connect("from-" + source, version=5))
        data = s.recv(16)
        return data[3] if len(data) >= 4 and data[0] == 0x20 else None
    except (ConnectionResetError, BrokenPipeError):
        return None
    finally:
        if s:
            s.close()


@pytest.mark.broker_conf({"listeners.tcp.default.access_rules":
                          ["deny 127.0.0.3", "allow 127.0.0.0/24", "deny all"]})
def test_a_listeners_access_rules(broker):
    """listeners.<type>.<name>.access_rules (EMQX's): the first rule that covers the
    address decides, before a byte of MQTT is read."""
    assert connect_from(broker, "127.0.0.2") == 0
    assert connect_from(broker, "127.0.0.3") is None
    assert connect_from(broker, "127.0.1.9") is None  # not in 127.0.0.0/24: deny all
    assert "denied by the listener's access_rules" in broker.log()


def test_a_bad_access_rule_stops_the_node(broker_factory):
    b = broker_factory({"listeners.tcp.default.access_rules": ["deny 10.0.0.0/33"]})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert 'listeners.tcp.default.access_rules: "deny 10.0.0.0/33": expected' in \
        p.stdout + p.stderr, p.stdout + p.stderr


@pytest.mark.broker_conf({"node.worker_threads": 1,
                          "listeners.tcp.default.max_conn_rate": "2/s"})
def test_max_conn_rate_holds_connections_back(broker):
    """listeners.<type>.<name>.max_conn_rate (EMQX's "2/s"): six connections at once: the
    listener stops accepting once two are in (the log says so), and takes the rest as the
    rate allows: all six are answered in the end, none refused."""
    conns = []
    for i in range(6):
        c = m.Conn(broker.port, 5)
        c.send(m.connect("rate-%d" % i, version=5))
        conns.append(c)
    wait_log(broker, "max_conn_rate reached")
    for c in conns:
        assert c.expect(m.CONNACK, timeout=30).reason == 0
        c.close()


def test_a_bad_max_conn_rate_stops_the_node(broker_factory):
    b = broker_factory({"listeners.tcp.default.max_conn_rate": "fast"})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert 'listeners.tcp.default.max_conn_rate: "fast": expected infinity or a rate' in \
        p.stdout + p.stderr, p.stdout + p.stderr
