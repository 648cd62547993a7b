"""Alarms (EMQX's /api/v5/alarms; docs/operations.md): raised on the node where the condition
is, listed, cleared and forgotten through any node's API."""

import json
import os
import subprocess
import time

import pytest

import mqttraw as m
from clusterlib import api_call, same_seeds, wait_api

pytestmark = pytest.mark.starling_only("Starling's alarms API")

# the memory and descriptor alarms depend on the machine: off where a test counts alarms
NO_SYSMON = {"sysmon.os.mem_check_interval": "disabled"}


def test_an_alarm_on_one_node_is_seen_cleared_and_forgotten_through_another(broker_factory):
    """Node 2's durable store fills (persistence.max_size = 1MB): PUBACK 0x97 and the alarm
    durable_storage_full on node 2, listed by node 1's API with node 2's name; bad requests
    get 400/404/405; force_deactivate through node 1 clears it (into the history); DELETE
    forgets every node's history. A subscriber on node 1 sees both on $SYS (EMQX's
    $SYS/brokers/<node>/alarms/activate and /deactivate)."""
    cl, nodes, names = same_seeds(broker_factory, 2, **dict(NO_SYSMON, **{
        "persistence.enable": True, "persistence.max_size": "1MB",
        "persistence.wal_sync_interval": "0ms"}))
    a, b = nodes
    for n in nodes:
        wait_api(n)
    assert api_call(a, "GET", "/api/v5/alarms")[1] == {
        "data": [], "meta": {"page": 1, "limit": 100, "count": 0, "hasnext": False}}
    watch = m.Conn(a.port, 5, host=a.host)
    assert watch.connect("alarm-watch").reason == 0
    assert watch.subscribe([("$SYS/brokers/+/alarms/#", 0)]).reasons == [0]
    keeper = m.Conn(b.port, 5, host=b.host)
    assert keeper.connect("keeper", clean=False, properties={"session_expiry": 3600}).reason == 0
    keeper.subscribe([("d/#", 1)])
    keeper.disconnect()
    pub = m.Conn(b.port, 5, host=b.host)
    assert pub.connect("pub").reason == 0
    reasons = []
    for i in range(40):
        reasons.append(pub.publish("d/%d" % i, b"x" * 100000, qos=1).reason)
        if reasons[-1] == 0x97:
            break
    assert reasons[-1] == 0x97, reasons  # the store is full: nothing more is acknowledged

    status, body = api_call(a, "GET", "/api/v5/alarms")
    assert status == 200 and body["meta"]["count"] == 1, body
    alarm = body["data"][0]
    assert alarm["node"] == names[1] and alarm["name"] == "durable_storage_full", alarm
    assert "durable writes are refused" in alarm["message"], alarm
    assert alarm["details"]["path"].endswith("/durable") and alarm["duration"] >= 0, alarm

    def sys_alarm(what):
        while True:
            p = watch.expect_publish(timeout=15)
            if p.topic == "$SYS/brokers/%s/alarms/%s" % (names[1], what):
                return json.loads(p.payload)
    on = sys_alarm("activate")
    assert (on["name"], on["activated"]) == ("durable_storage_full", True), on
    assert on["details"]["path"].endswith("/durable") and on["activate_at"] > 0, on

    assert api_call(a, "GET", "/api/v5/alarms?activated=maybe")[0] == 400
    assert api_call(a, "GET", "/api/v5/alarms?limit=0")[0] == 400
    assert api_call(a, "PUT", "/api/v5/alarms", {})[0] == 405
    assert api_call(a, "POST", "/api/v5/alarms/force_deactivate",
                    {"node": names[1], "name": "no_such_alarm"})[0] == 404
    assert api_call(a, "POST", "/api/v5/alarms/force_deactivate", {"node": names[1]})[0] == 400

    assert api_call(a, "POST", "/api/v5/alarms/force_deactivate",
                    {"node": names[1], "name": "durable_storage_full"})[0] == 204
    assert api_call(b, "GET", "/api/v5/alarms")[1]["data"] == []
    off = sys_alarm("deactivate")
    assert (off["name"], off["activated"]) == ("durable_storage_full", False), off
    assert off["deactivate_at"] >= off["activate_at"], off
    history = api_call(a, "GET", "/api/v5/alarms?activated=false")[1]["data"]
    assert [(h["node"], h["name"]) for h in history] == [(names[1], "durable_storage_full")]
    assert "deactivate_at" in history[0], history
    assert "alarm durable_storage_full cleared" in b.log()

    assert api_call(a, "DELETE", "/api/v5/alarms")[0] == 204
    assert api_call(b, "GET", "/api/v5/alarms?activated=false")[1]["data"] == []


@pytest.mark.plain_only("a slow fault test")
def test_a_member_declared_down_raises_node_down_on_the_leader_until_it_is_back(broker_factory):
    """Three nodes; one is killed (-9): once the cluster declares it down, one alarm
    node_down/<its name> is active in the cluster (on the Raft leader, with the member in its
    details); started again, it is back and the alarm is cleared into the history."""
    from clusterlib import wait_status
    cl, nodes, names = same_seeds(broker_factory, 3, **dict(NO_SYSMON,
                                                            **{"cluster.link_timeout": "1s"}))
    for n in nodes:
        wait_api(n)
    gone = nodes[2]
    gone.proc.kill()
    gone.proc.wait()
    gone.proc = None
    want = "node_down/" + names[2]

    def active():
        return [a for a in api_call(nodes[0], "GET", "/api/v5/alarms")[1]["data"]
                if a["name"] == want]
    deadline = time.monotonic() + 60
    while not active():
        assert time.monotonic() < deadline, "no node_down alarm"
        time.sleep(0.2)
    alarm = active()
    assert len(alarm) == 1 and alarm[0]["node"] in names[:2], alarm
    assert alarm[0]["details"]["node"] == names[2] and "is down" in alarm[0]["message"], alarm
    gone.start()
    wait_status(nodes[0], names, timeout=60)
    deadline = time.monotonic() + 60
    while active():
        assert time.monotonic() < deadline, "the node_down alarm stayed"
        time.sleep(0.2)
    history = api_call(nodes[1], "GET", "/api/v5/alarms?activated=false")[1]["data"]
    assert history and {h["name"] for h in history} == {want}, history  # (a new leader
    # while it was down would have raised it too)


def test_memory_and_descriptor_watermarks_raise_their_alarms(broker_factory):
    """sysmon.os.*: watermarks below what a running node uses raise high_process_memory_usage,
    high_system_memory_usage and high_fd_usage (with their usage in the details); a node with
    the defaults has neither of the node's own; a watermark that is not a percentage stops
    the node, naming the key."""
    low = broker_factory({"sysmon.os.mem_check_interval": "1s",
                          "sysmon.os.procmem_high_watermark": "0.0001%",
                          "sysmon.os.sysmem_high_watermark": "0%",
                          "sysmon.os.fd_high_watermark": "0%"}, name="low").start()
    wait_api(low)

    def names(b):
        return {a["name"]: a for a in api_call(b, "GET", "/api/v5/alarms")[1]["data"]}
    deadline = time.monotonic() + 30
    want = {"high_process_memory_usage", "high_system_memory_usage", "high_fd_usage"}
    while not want <= set(names(low)):
        assert time.monotonic() < deadline, names(low)
        time.sleep(0.2)
    got = names(low)
    assert got["high_process_memory_usage"]["message"] == \
        "Process memory usage is higher than 0.0001%", got
    assert got["high_fd_usage"]["details"]["open"] > 0, got
    assert "usage" in got["high_system_memory_usage"]["details"], got
    normal = broker_factory({"sysmon.os.mem_check_interval": "1s"}, name="normal").start()
    wait_api(normal)
    from clusterlib import wait_log
    wait_log(normal, r"sysmon: system memory", timeout=30)  # its first check has run
    assert not {"high_process_memory_usage", "high_fd_usage"} & set(names(normal)), names(normal)
    bad = broker_factory({"sysmon.os.fd_high_watermark": "lots"}, name="bad")
    bad.write_config()
    p = subprocess.run(bad.command(), capture_output=True, text=True, timeout=30, cwd=bad.dir)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and 'sysmon.os.fd_high_watermark: "lots" is not a percentage' in out, \
        out


@pytest.mark.plain_only("a slow fault test")
def test_a_data_lane_that_stays_full_raises_cluster_forward_backlog(broker_factory):
    """Two nodes; node 2 is stopped (SIGSTOP) while a client on node 1 publishes 100 KB QoS 0
    messages to node 2's subscriber: node 1's lane to it fills past
    cluster.forward_buffer_high (64 KB here), and after 5 s node 1 raises
    cluster_forward_backlog; node 2 resumed, the lane drains and the alarm is cleared."""
    import signal
    import threading
    cl, nodes, names = same_seeds(broker_factory, 2, **dict(NO_SYSMON, **{
        "cluster.forward_buffer_high": "64KB", "cluster.link_timeout": "120s",
        "cluster.node_down_timeout": "600s"}))
    a, b = nodes
    for n in nodes:
        wait_api(n)
    sub = m.Conn(b.port, 5, host=b.host)
    assert sub.connect("backlog-sub").reason == 0
    sub.subscribe([("bl/#", 0)])
    pub = m.Conn(a.port, 5, host=a.host, timeout=30)
    assert pub.connect("backlog-pub").reason == 0
    deadline = time.monotonic() + 15
    while pub.publish("bl/probe", b"p", qos=1).reason != 0:  # node 1 has node 2's route
        assert time.monotonic() < deadline, "no route to node 2"
        time.sleep(0.2)
    os.kill(b.proc.pid, signal.SIGSTOP)
    stop = threading.Event()

    def flood():
        try:
            while not stop.is_set():
                pub.send(m.publish("bl/x", b"x" * 100000, qos=0, version=5))
        except OSError:
            pass
    t = threading.Thread(target=flood, daemon=True)
    t.start()

    def active():
        return [x for x in api_call(a, "GET", "/api/v5/alarms")[1]["data"]
                if x["name"] == "cluster_forward_backlog"]
    try:
        deadline = time.monotonic() + 60
        while not active():
            assert time.monotonic() < deadline, "no cluster_forward_backlog alarm"
            time.sleep(0.2)
        assert active()[0]["details"]["lanes"] >= 1, active()
    finally:
        stop.set()
        os.kill(b.proc.pid, signal.SIGCONT)
    deadline = time.monotonic() + 60
    while active():
        assert time.monotonic() < deadline, "the backlog alarm stayed"
        time.sleep(0.2)
    pub.abort()
    sub.close()
