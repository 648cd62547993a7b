"""Cluster links (docs/cluster.md §3, step 2 of its plan): nodes on their own loopback
addresses dial their seeds on the cluster port, prove the shared cookie, keep the link
alive with heartbeats and say goodbye when they stop. Refusals (cookie, cluster name) are
logged on both sides, once a minute. Observed through the nodes' logs until `starling ctl
cluster status` exists (step 3)."""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import mqttraw as m
from clusterlib import (Cluster, cluster_info, ctl, link_up, members, wait_api,
                        wait_info, wait_log, wait_member, wait_status)

pytestmark = pytest.mark.starling_only("Starling's cluster")


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


def test_walkthrough_emqx5_keys_as_env(broker_factory):
    """The EMQX 5 keys as environment variables, nested form: STARLING_CLUSTER__... and
    EMQX_CLUSTER__... (a HOCON array for the seeds), as in EMQX's docs and Helm charts."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, env={"STARLING_NODE__NAME": cl.name(1),
                         "STARLING_CLUSTER__DISCOVERY_STRATEGY": "static",
                         "STARLING_CLUSTER__STATIC__SEEDS": '["%s"]' % cl.name(0)}).start()
    n3 = cl.node(2, env={"EMQX_NODE__NAME": cl.name(2),
                         "EMQX_CLUSTER__DISCOVERY_STRATEGY": "static",
                         "EMQX_CLUSTER__STATIC__SEEDS": '["%s", "%s"]' % (cl.name(0), cl.name(1))}
                 ).start()
    names = [cl.name(i) for i in range(3)]
    for n in (n1, n2, n3):
        wait_status(n, names, timeout=20)


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


def test_raft_timing_keys(broker_factory):
    """cluster.raft.* set libraft's timing: a heartbeat not below the election timeout stops
    startup naming both keys; sensible values start a node that leads its cluster of one."""
    cl = Cluster(broker_factory, 2)
    b = cl.node(0, **{"cluster.raft.election_timeout": "200ms",
                      "cluster.raft.heartbeat_timeout": "200ms"})
    path = b.write_config()
    r = subprocess.run([b.command()[0], "foreground", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=10, cwd=b.dir)
    assert r.returncode != 0
    assert "cluster.raft.heartbeat_timeout (200 ms) must be below cluster.raft.election_timeout" \
        in r.stdout, r.stdout
    ok = cl.node(1, **{"cluster.raft.election_timeout": "300ms",
                       "cluster.raft.heartbeat_timeout": "30ms",
                       "cluster.raft.snapshot_threshold": 16}).start()
    wait_info(ok, lambda i: i["raft"]["state"] == "leader", "leader")


def test_ctl_cluster_status(broker_factory):
    """`starling ctl cluster status` lists the running nodes as EMQX does, on every node;
    a stopped node moves to stopped_nodes; `--json` gives the same as JSON."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, seeds=[0]).start()
    n3 = cl.node(2, seeds=[0, 1]).start()
    names = [cl.name(i) for i in range(3)]
    for node in (n1, n2, n3):
        wait_status(node, names)
    r = ctl(n3, "cluster", "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Cluster status: #{running_nodes => ['"), r.stdout
    assert "stopped_nodes => []}" in r.stdout and all(n in r.stdout for n in names), r.stdout
    n2.stop()
    wait_status(n1, [names[0], names[2]], [names[1]])
    wait_status(n3, [names[0], names[2]], [names[1]])


def test_ctl_errors(broker_factory):
    """ctl against a node that is not running says so (exit 1); bad usage exits 2."""
    cl = Cluster(broker_factory, 1)
    b = cl.node(0)
    b.write_config()
    r = ctl(b, "cluster", "status")
    assert r.returncode == 1 and "does not answer" in r.stderr, r
    r = ctl(b, "cluster", "frobnicate")
    assert r.returncode == 2 and "usage" in r.stderr, r


def test_http_api(broker_factory):
    """The HTTP API: /status (EMQX's text), /api/v5/nodes, /api/v5/nodes/{node},
    /api/v5/cluster; 404 and 405 with a JSON error; a malformed request gets 400."""
    cl = Cluster(broker_factory, 1)
    b = cl.node(0).start()
    wait_api(b)
    base = "http://%s:%d" % (b.host, b.api_port)

    def get(path, method="GET"):
        req = urllib.request.Request(base + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    deadline = time.monotonic() + 30  # the API answers before the node has formed its cluster
    code, text = get("/status")
    while code == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
        code, text = get("/status")
    assert code == 200 and text.startswith("Node %s is started" % cl.name(0)), text
    code, text = get("/api/v5/nodes")
    nodes = json.loads(text)
    assert code == 200 and nodes[0]["node"] == cl.name(0) and nodes[0]["node_status"] == "running"
    assert nodes[0]["role"] == "core" and nodes[0]["version"]
    code, text = get("/api/v5/nodes/" + cl.name(0))
    assert code == 200 and json.loads(text)["node"] == cl.name(0)
    code, text = get("/api/v5/nodes/starling@nowhere")
    assert code == 404 and json.loads(text)["code"] == "NOT_FOUND"
    code, text = get("/api/v5/cluster")
    assert code == 200 and json.loads(text)["nodes"] == [cl.name(0)]
    code, text = get("/api/v5/nope")
    assert code == 404 and json.loads(text)["code"] == "NOT_FOUND"
    code, text = get("/api/v5/nodes", method="DELETE")
    assert code == 405 and json.loads(text)["code"] == "METHOD_NOT_ALLOWED"
    s = socket.create_connection((b.host, b.api_port), timeout=5)
    s.sendall(b"garbage\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 400"), "malformed request not answered with 400"
    s.close()


def test_control_plane_cluster_of_one_survives_restarts(broker_factory):
    """A fresh node forms a Raft cluster of one: it leads, the cluster gets a uuid, and the
    node is a member (slot 0) that is up in incarnation 1. Restarted on its data dir it
    keeps the uuid and comes back as incarnation 2, then 3 (docs/cluster.md §5.6)."""
    cl = Cluster(broker_factory, 1)
    b = cl.node(0).start()
    info = wait_member(b, cl.name(0), "up", 1)
    assert info["raft"]["state"] == "leader" and re.fullmatch(r"[0-9a-f]{32}", info["uuid"]), info
    assert info["members"][0]["slot"] == 0 and info["members"][0]["role"] == "core"
    uuid = info["uuid"]
    for inc in (2, 3):
        b.restart()
        info = wait_member(b, cl.name(0), "up", inc)
        assert info["uuid"] == uuid, info
        assert len(info["members"]) == 1
    assert os.path.isdir(os.path.join(b.dir, "data", "raft"))


def frame(ftype, body, flags=0):
    return struct.pack(">IBB", len(body) + 2, ftype, flags) + body


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\n\r\n",                      # not our protocol at all
    struct.pack(">IBB", 1 << 20, 1, 0),             # a frame over the 4 KiB pre-auth limit
    struct.pack(">IBB", 1, 1, 0),                   # a frame shorter than its header
    frame(1, b"XXXX" + b"\x00" * 80),               # HELLO with a bad magic
    frame(2, b"\x01" * 10),                         # WELCOME to an acceptor
    frame(6, b"\x00" * 8),                          # PING before the handshake
    frame(1, b"STCL\x01\x01\x01\x01", flags=2),    # reserved LZ4 flag
], ids=["http", "oversized", "short", "magic", "welcome", "ping", "lz4"])
def test_garbage_on_the_cluster_port(broker_factory, data):
    """Whatever arrives on the cluster port before a valid handshake closes that connection
    only: the node keeps serving MQTT and its real peers."""
    cl = Cluster(broker_factory, 2)
    a = cl.node(0).start()
    wait_api(a)  # the cluster port opens just before the API, after MQTT
    s = socket.create_connection((cl.hosts[0], cl.port), timeout=5)
    s.sendall(data)
    s.settimeout(5)
    try:
        while s.recv(4096):  # a REFUSE may come first; then the close
            pass
    except ConnectionResetError:
        pass
    s.close()
    b = cl.node(1, seeds=[0]).start()
    wait_log(a, link_up(cl.name(1)))
    c = m.Conn(a.port, 4, host=a.host)
    assert c.connect("still-fine").reason == 0
    c.close()


def test_replicant_tails_a_core_log(broker_factory):
    """node.role = replicant: the node never forms or votes in a Raft group (no raft/ dir),
    but tails a core's applied log (docs/cluster.md §5.5): it gets the state image, then
    each entry, so its member table and uuid are the cores'. When the core it tails stops,
    it tails the other core from where it was, and sees what is committed after that (the
    stopped core's restart, a new incarnation)."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    rep = cl.node(2, seeds=[0], **{"node.role": "replicant"}).start()
    names = [cl.name(i) for i in range(3)]
    wait_member(rep, names[2], "up", 1)
    info = cluster_info(rep)
    assert info["raft"]["state"] == "replicant" and info["uuid"] == cluster_info(n1)["uuid"]
    assert not os.path.exists(os.path.join(rep.dir, "data", "raft"))
    assert "tailing the log of %s" % names[0] in rep.log()
    n2 = cl.node(1, seeds=[0]).start()  # a JOIN and a JOINED the replicant gets as entries
    wait_member(rep, names[1], "up", 1)
    wait_status(rep, names)
    n1.stop()
    wait_log(rep, "tailing the log of %s" % re.escape(names[1]), timeout=15)
    n1.start()
    wait_member(rep, names[0], "up", 2, timeout=20)
    assert cluster_info(rep)["uuid"] == cluster_info(n2)["uuid"]


def test_walkthrough_forms_one_raft_cluster(broker_factory):
    """The walkthrough: node 1 forms the cluster, nodes 2 and 3 (static seeds) ask to join;
    the leader commits JOIN, adds them to Raft as voters and commits JOINED. Every node then
    has the same uuid and the same member table with all three up. When the leader is
    killed, the other two elect a leader between them and keep the table."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, seeds=[0]).start()
    n3 = cl.node(2, seeds=[0, 1]).start()
    names = [cl.name(i) for i in range(3)]

    def all_up(info):
        ms = {m["node"]: m for m in info["members"]}
        return sorted(ms) == sorted(names) and all(m["state"] == "up" for m in ms.values())

    infos = [wait_info(n, all_up, "all three up on %s" % n.host) for n in (n1, n2, n3)]
    assert len({i["uuid"] for i in infos}) == 1, infos
    assert [i["raft"]["state"] for i in infos].count("leader") == 1, infos
    assert infos[0]["raft"]["state"] == "leader"
    assert sorted(m["slot"] for m in infos[0]["members"]) == [0, 1, 2]
    assert "joined the cluster of starling@127.0.0.2" in n2.log()
    n1.proc.kill()
    n1.proc.wait()
    n1.proc = None
    new = wait_info(n2, lambda i: i["raft"]["state"] == "leader" or
                    cluster_info(n3)["raft"]["state"] == "leader", "a new leader", timeout=20)
    for n in (n2, n3):
        info = cluster_info(n)
        assert info["uuid"] == infos[0]["uuid"] and sorted(members(n)) == sorted(names)
    assert new is not None


def test_status_follows_the_member_table(broker_factory):
    """Once nodes are members, `ctl cluster status` lists the member table: a member whose
    process is gone is stopped; /status names the node itself on every node."""
    cl = Cluster(broker_factory, 3)
    n1 = cl.node(0).start()
    n2 = cl.node(1, seeds=[0]).start()
    n3 = cl.node(2, seeds=[0]).start()
    names = [cl.name(i) for i in range(3)]
    for n in (n1, n2, n3):
        wait_status(n, names)
    for i, n in enumerate((n1, n2, n3)):
        with urllib.request.urlopen("http://%s:%d/status" % (n.host, n.api_port), timeout=5) as r:
            assert r.read().decode().startswith("Node %s is started" % names[i])
    n3.stop()
    wait_status(n1, names[:2], [names[2]])
    wait_status(n2, names[:2], [names[2]])
