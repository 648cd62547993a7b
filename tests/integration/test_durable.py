"""Durable sessions on one node (docs/durability.md): with persistence on, a session with a
non-zero expiry comes back after a clean stop and after kill -9 — its subscriptions, its
queue in order, its in-flight messages again with DUP and the same packet ids, its QoS 2
ids awaiting PUBREL — and what was acknowledged to a publisher is not lost. Expiry counts
across the downtime. A data dir of another node, or one that is not a store, stops the
node with a way out."""

import os
import re
import signal
import subprocess
import time

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's durable sessions")

DURABLE = {"persistence.enable": True, "persistence.wal_sync_interval": "0ms"}
V5_KEEP = {"session_expiry": 3600}


def persistent(b, cid, version=5, clean=False, expiry=3600):
    c = m.Conn(b.port, version, host=b.host)
    props = {"session_expiry": expiry} if version == 5 else None
    ca = c.connect(cid, clean=clean, properties=props)
    assert ca.reason == 0, ca
    return c, ca


def wait(what, cond, timeout=30):
    """cond() once it is true (its value); fails naming what after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def kill9(b):
    os.kill(b.proc.pid, signal.SIGKILL)
    b.proc.wait()
    b.proc = None


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_queue_and_subscriptions_survive_a_restart(broker_factory, how):
    b = broker_factory(DURABLE)
    b.start()
    others = []
    for i in range(5):  # several sessions: each keeps its own queue and sid
        o, _ = persistent(b, "other-%d" % i)
        o.subscribe([("d/%d" % i, 1)])
        o.disconnect()
        others.append("other-%d" % i)
    sub, _ = persistent(b, "keeper")
    sub.subscribe([("d/#", 1), ("q2/#", 2)])
    sub.disconnect()
    pub = m.client(b.port, "pub", 5)
    for i in range(20):
        assert pub.publish("d/%d" % i, b"m%d" % i, qos=1).reason == 0
    assert pub.publish("q2/x", b"two", qos=2).reason == 0
    pub.publish("d/zero", b"qos0", qos=0)  # not kept for an offline session
    pub.ping()
    pub.close()
    if how == "stop":
        b.stop()
    else:
        kill9(b)
    b.start()
    assert "durable store: 6 sessions recovered with 26 messages" in b.log()
    for i, cid in enumerate(others):
        o, ca = persistent(b, cid)
        assert ca.session_present == 1
        assert o.expect_publish().payload == b"m%d" % i
    sub, ca = persistent(b, "keeper")
    assert ca.session_present == 1
    got = [sub.expect_publish() for _ in range(21)]
    assert [p.payload for p in got] == [b"m%d" % i for i in range(20)] + [b"two"]
    assert [p.qos for p in got] == [1] * 20 + [2]
    # the subscriptions came back too: a new message arrives live
    pub = m.client(b.port, "pub2", 5)
    assert pub.publish("d/live", b"live", qos=1).reason == 0
    assert sub.expect_publish().payload == b"live"  # next: nothing was delivered twice


def test_inflight_messages_come_back_with_dup_and_their_packet_ids(broker_factory):
    b = broker_factory(dict(DURABLE, **{"mqtt.max_inflight": 3}))
    b.start()
    sub, _ = persistent(b, "slow")
    sub.subscribe([("f/#", 2)])
    pub = m.client(b.port, "pub", 5)
    for i in range(5):
        pub.publish("f/%d" % i, b"x%d" % i, qos=1)
    pub.publish("f/q2", b"y", qos=2)
    first = [sub.expect_publish(auto_ack=False) for _ in range(3)]  # the window is 3
    assert [p.payload for p in first] == [b"x0", b"x1", b"x2"]
    sub.send(m.ack(m.PUBACK, first[0].packet_id, version=5))  # x0 done, x3 goes out
    x3 = sub.expect_publish(auto_ack=False)
    assert x3.payload == b"x3"
    sub.ping()
    sub.close()
    b.stop()  # a subscriber's ack is not waited for: after kill -9, x0 could come again
    b.start()
    sub, ca = persistent(b, "slow")
    assert ca.session_present == 1
    again = [sub.expect_publish(auto_ack=False) for _ in range(3)]
    assert [(p.payload, p.packet_id, p.dup) for p in again] == \
        [(b"x1", first[1].packet_id, 1), (b"x2", first[2].packet_id, 1),
         (b"x3", x3.packet_id, 1)]
    for p in again:
        sub.send(m.ack(m.PUBACK, p.packet_id, version=5))
    rest = [sub.expect_publish() for _ in range(2)]
    assert [p.payload for p in rest] == [b"x4", b"y"]
    assert [p.dup for p in rest] == [0, 0]
    sub.disconnect()
    b.stop()
    b.start()  # everything was acknowledged: nothing comes back
    assert "durable store: 1 sessions recovered with 0 messages" in b.log()


def test_a_qos2_flow_resumes_after_pubrec(broker_factory):
    """PUBREC received, then the node stops: PUBREL again, and no second PUBLISH."""
    b = broker_factory(DURABLE)
    b.start()
    sub, _ = persistent(b, "q2sub")
    sub.subscribe([("t", 2)])
    pub = m.client(b.port, "pub", 5)
    pub.publish("t", b"once", qos=2)
    p = sub.expect_publish(auto_ack=False)
    sub.send(m.ack(m.PUBREC, p.packet_id, version=5))
    rel = sub.expect(m.PUBREL)
    assert rel.packet_id == p.packet_id
    sub.close()
    b.stop()  # after kill -9 the PUBREC might not be on disk: PUBLISH again, DUP (allowed)
    b.start()
    sub, ca = persistent(b, "q2sub")
    assert ca.session_present == 1
    rel = sub.expect(m.PUBREL)
    assert rel.packet_id == p.packet_id
    sub.send(m.ack(m.PUBCOMP, rel.packet_id, version=5))
    pub = m.client(b.port, "pub2", 5)
    pub.publish("t", b"marker", qos=1)
    assert sub.expect_publish().payload == b"marker"  # and not "once" again


def test_a_publishers_qos2_id_awaiting_pubrel_survives(broker_factory):
    """A QoS 2 PUBLISH got its PUBREC; the node dies; the publisher sends the PUBLISH again
    (it never saw the PUBREC, say): it is not delivered twice."""
    b = broker_factory(DURABLE)
    b.start()
    sub, _ = persistent(b, "s")
    sub.subscribe([("e", 1)])
    pub, _ = persistent(b, "p")
    pub.send(m.publish("e", b"exactly", qos=2, packet_id=7, version=5))
    assert pub.expect(m.PUBREC).packet_id == 7
    assert sub.expect_publish(auto_ack=False).payload == b"exactly"
    kill9(b)
    b.start()
    # the subscriber's copy comes again (its ack was never sent), once
    sub, _ = persistent(b, "s")
    assert sub.expect_publish().payload == b"exactly"
    pub, ca = persistent(b, "p")
    assert ca.session_present == 1
    pub.send(m.publish("e", b"exactly", qos=2, packet_id=7, dup=True, version=5))
    assert pub.expect(m.PUBREC).packet_id == 7
    pub.send(m.ack(m.PUBREL, 7, version=5))
    assert pub.expect(m.PUBCOMP).reason == 0
    pub.publish("e", b"marker", qos=1)
    assert sub.expect_publish().payload == b"marker"  # the resent PUBLISH was not delivered


def test_sessions_that_expire_while_the_node_is_down_are_gone(broker_factory):
    b = broker_factory(DURABLE)
    b.start()
    short, _ = persistent(b, "short", expiry=1)
    short.subscribe([("x", 1)])
    short.disconnect()
    long_, _ = persistent(b, "long", expiry=3600)
    long_.subscribe([("x", 1)])
    long_.disconnect()
    b.stop()
    time.sleep(1.5)  # longer than "short"'s expiry: the downtime counts
    b.start()
    assert "durable store: 1 sessions recovered" in b.log()
    assert "1 sessions expired while the node was down" in b.log()
    _, ca = persistent(b, "short")
    assert ca.session_present == 0
    _, ca = persistent(b, "long")
    assert ca.session_present == 1


def test_clean_sessions_and_mqtt3_persistent_sessions(broker_factory):
    b = broker_factory(DURABLE)
    b.start()
    c3 = m.Conn(b.port, 4)
    assert c3.connect("v311", clean=False).reason == 0  # 3.1.1: the node's session_expiry
    c3.subscribe([("v3/#", 1)])
    c3.disconnect()
    cl, _ = persistent(b, "clean", clean=True, expiry=0)
    cl.subscribe([("v3/#", 1)])
    pub = m.client(b.port, "pub", 5)
    pub.publish("v3/a", b"a", qos=1)
    assert cl.expect_publish().payload == b"a"
    b.stop()
    b.start()
    assert "durable store: 1 sessions recovered with 1 messages" in b.log()
    c3 = m.Conn(b.port, 4)
    ca = c3.connect("v311", clean=False)
    assert ca.session_present == 1
    assert c3.expect_publish().payload == b"a"


def test_a_data_dir_of_another_node_or_not_a_store_is_refused(broker_factory):
    b = broker_factory(DURABLE)
    b.start()
    b.stop()
    b.conf["node.name"] = "starling@127.0.0.9"
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert "belongs to node starling@127.0.0.1, not starling@127.0.0.9" in p.stderr, p.stderr
    assert "mv %s/data/durable %s/data/durable.old" % (b.dir, b.dir) in p.stderr
    store = os.path.join(b.dir, "data", "durable", "data.mdb")
    with open(store, "r+b") as f:  # damaged: not a store any more
        f.write(b"\0" * 8192)
    del b.conf["node.name"]
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert "cannot be read" in p.stderr and "mv " in p.stderr, p.stderr


def tmpfs_available():
    if os.geteuid() != 0:
        return "not root: a small tmpfs for the store needs mount"
    return None


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs, unmounted at the end."""
    why = tmpfs_available()
    if why:
        print("skipped: " + why)
        pytest.skip(why)
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.strip())
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path):
    """Fill the file system of path with one file; returns its name."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_refuses_durable_writes_and_recovers(broker_factory, small_disk):
    """The store's disk fills: a PUBLISH for a durable session gets 0x97 (MQTT 5) or the
    connection closes (3.x), the alarm durable_storage_full is raised, a clean session's
    traffic goes on; space comes back and durable writes succeed again by themselves (the
    alarm cleared), with nothing that was acknowledged lost."""
    # (the memory and descriptor alarms depend on the machine: off, this test counts alarms)
    b = broker_factory(dict(DURABLE, **{"sysmon.os.mem_check_interval": "disabled"}))
    os.makedirs(os.path.join(b.dir, "data"), exist_ok=True)
    os.symlink(str(small_disk), os.path.join(b.dir, "data", "durable"))
    b.start()
    sub, _ = persistent(b, "keeper")
    sub.subscribe([("d/#", 1)])
    sub.disconnect()
    live = m.client(b.port, "live", 5)
    live.subscribe([("c/#", 1)])
    pub = m.client(b.port, "pub", 5)
    assert pub.publish("d/0", b"before", qos=1).reason == 0
    filler = fill(str(small_disk))
    payload = b"x" * 100000
    reasons = [pub.publish("d/big", payload, qos=1).reason for _ in range(3)]
    assert 0x97 in reasons, reasons  # the round that needed the disk failed
    assert pub.publish("d/1", b"refused", qos=1).reason == 0x97  # until a round succeeds
    assert "durable store: a commit failed" in b.log()
    from clusterlib import api_call
    st = api_call(b, "GET", "/api/v5/durable_storage")[1]
    assert st["status"] == "failed" and "No space left" in st["error"], st
    # an alarm is raised (and logged) while the disk is full
    alarms = api_call(b, "GET", "/api/v5/alarms")[1]
    full = [a for a in alarms["data"] if a["name"] == "durable_storage_full"]
    me = api_call(b, "GET", "/api/v5/nodes")[1][0]["node"]
    assert len(full) == 1 and full[0]["node"] == me, alarms
    assert "No space left" in full[0]["details"]["error"] and "activate_at" in full[0], full
    assert "deactivate_at" not in full[0] and alarms["meta"]["count"] == 1, alarms
    assert "alarm durable_storage_full raised" in b.log()
    # clean traffic goes on
    assert pub.publish("c/1", b"clean", qos=1).reason == 0
    assert live.expect_publish().payload == b"clean"
    # MQTT 3.1.1: no reason code to give: the connection closes without the PUBACK
    p3 = m.client(b.port, "pub3", 4)
    p3.send(m.publish("d/3", b"v3", qos=1, packet_id=1))
    p3.expect_closed()
    os.unlink(filler)
    deadline = time.monotonic() + 30  # retried every 5 s
    while pub.publish("d/2", b"after", qos=1).reason != 0:
        assert time.monotonic() < deadline, "the store did not recover"
        time.sleep(0.2)
    assert "durable store: writes succeed again" in b.log()
    # the alarm is cleared: it is in the history, no longer active
    assert api_call(b, "GET", "/api/v5/alarms?activated=true")[1]["data"] == []
    done = api_call(b, "GET", "/api/v5/alarms?activated=false")[1]["data"]
    assert [a["name"] for a in done] == ["durable_storage_full"], done
    assert done[0]["deactivate_at"] >= done[0]["activate_at"] and done[0]["duration"] > 0, done
    b.stop()
    b.start()
    sub, ca = persistent(b, "keeper")
    assert ca.session_present == 1
    got = []
    while True:
        p = sub.expect_publish()
        got.append(p.payload)
        if p.payload == b"after":
            break
    assert got[0] == b"before"
    assert b"refused" not in got  # never acknowledged, never stored


def test_a_truncated_store_is_refused_not_crashed_on(broker_factory):
    b = broker_factory(DURABLE)
    b.start()
    sub, _ = persistent(b, "keeper")
    sub.subscribe([("d/#", 1)])
    sub.disconnect()
    pub = m.client(b.port, "pub", 5)
    for i in range(200):
        pub.publish("d/%d" % i, b"y" * 2000, qos=1)
    b.stop()
    store = os.path.join(b.dir, "data", "durable", "data.mdb")
    size = os.path.getsize(store)
    with open(store, "r+b") as f:
        f.truncate(size // 2)
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode == 1, (p.returncode, p.stderr)  # an error, not a signal
    assert "is truncated" in p.stderr and "mv " in p.stderr, p.stderr


def test_the_api_and_ctl_show_the_store(broker_factory):
    from clusterlib import api_call, ctl, wait_api
    off = broker_factory({"persistence.enable": False})
    off.start()
    wait_api(off)
    assert api_call(off, "GET", "/api/v5/durable_storage") == (404, {
        "code": "NOT_FOUND",
        "message": "durable sessions are off on this node (persistence.enable = false)"})
    b = broker_factory(DURABLE, name="on")
    b.start()
    wait_api(b)
    sub, _ = persistent(b, "keeper")
    sub.subscribe([("d/#", 1)])
    sub.disconnect()
    clean, _ = persistent(b, "clean", clean=True, expiry=0)
    pub = m.client(b.port, "pub", 5)
    for i in range(3):
        assert pub.publish("d/%d" % i, b"m", qos=1).reason == 0
    status, st = api_call(b, "GET", "/api/v5/durable_storage")
    assert status == 200, st
    assert st["enable"] is True and st["status"] == "ok" and st["error"] is None, st
    assert st["sessions"] == 1 and st["messages"] == 3, st  # "clean" is not kept
    assert st["wal_sync_interval_ms"] == 0 and st["disk_bytes"] > 0 and st["rounds"] >= 1, st
    assert st["last_sync"].endswith("Z"), st
    r = ctl(b, "durable", "status")
    assert r.returncode == 0, r.stderr
    assert '"sessions":1' in r.stdout and '"messages":3' in r.stdout, r.stdout
    sub, _ = persistent(b, "keeper")
    for _ in range(3):
        sub.expect_publish()
    sub.ping()
    deadline = time.monotonic() + 10  # the acks are counted once handled
    while api_call(b, "GET", "/api/v5/durable_storage")[1]["messages"] != 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_session_that_moves_to_another_node_is_kept_there(broker_factory):
    """A durable session with queued messages moves from node 1 to node 3 (its client
    connects there): node 1's store lets it go, node 3's keeps it, its messages in flight
    and its queue, across a kill -9 of node 3."""
    from clusterlib import api_call, same_seeds, wait_api
    from test_cluster_takeover import wait_registry
    cl, (n1, n2, n3), _ = same_seeds(broker_factory, 3, **DURABLE)
    dev, _ = persistent(n1, "dev")
    dev.subscribe([("mv/#", 1)])
    dev.disconnect()
    pub = m.Conn(n2.port, 5, host=n2.host)
    assert pub.connect("pub").reason == 0
    for i in range(4):
        assert pub.publish("mv/%d" % i, b"m%d" % i, qos=1).reason == 0
    wait_registry([n1, n2, n3], 2)  # dev and pub: node 3 will find dev's session
    dev = m.Conn(n3.port, 5, host=n3.host)
    ca = dev.connect("dev", clean=False, properties={"session_expiry": 3600})
    assert ca.reason == 0 and ca.session_present == 1
    first = dev.expect_publish(auto_ack=False)  # in flight, never acked
    assert first.payload == b"m0"
    rest = [dev.expect_publish() for _ in range(3)]
    assert [p.payload for p in rest] == [b"m1", b"m2", b"m3"]
    dev.ping()
    dev.close()
    for n in (n1, n3):
        wait_api(n)
    deadline = time.monotonic() + 10
    while api_call(n1, "GET", "/api/v5/durable_storage")[1]["sessions"] != 0:
        assert time.monotonic() < deadline, "node 1 still keeps the session"
        time.sleep(0.05)
    assert pub.publish("mv/4", b"m4", qos=1).reason == 0  # queued on node 3 (offline)
    # a message from another node is stored when it arrives, but its PUBACK did not wait
    # for node 3's disk (§10): once node 3 has it, a PUBLISH on node 3 itself, whose PUBACK
    # waits for node 3's round, shows that it is on disk too. (A clean stop would hand the
    # session to another node: evacuation.)
    deadline = time.monotonic() + 10
    while api_call(n3, "GET", "/api/v5/durable_storage")[1]["messages"] != 2:
        assert time.monotonic() < deadline, "node 3 did not take m4"
        time.sleep(0.05)
    local = m.Conn(n3.port, 5, host=n3.host)
    assert local.connect("local").reason == 0
    assert local.publish("mv/5", b"m5", qos=1).reason == 0
    kill9(n3)
    n3.start()
    dev = m.Conn(n3.port, 5, host=n3.host)
    ca = dev.connect("dev", clean=False, properties={"session_expiry": 3600})
    assert ca.reason == 0 and ca.session_present == 1
    again = dev.expect_publish()
    assert (again.payload, again.dup, again.packet_id) == (b"m0", 1, first.packet_id)
    assert [dev.expect_publish().payload for _ in range(2)] == [b"m4", b"m5"]


def test_retained_messages_survive_a_kill(broker_factory):
    """A retained message acknowledged at wal_sync_interval 0 is on disk: after kill -9 a
    new subscriber gets it; a deleted one (empty payload) stays deleted; an expired one is
    gone."""
    b = broker_factory(DURABLE)
    b.start()
    pub = m.client(b.port, "pub", 5)
    assert pub.publish("r/keep", b"kept", qos=1, retain=True).reason in (0, 0x10)
    assert pub.publish("r/gone", b"soon gone", qos=1, retain=True).reason in (0, 0x10)
    assert pub.publish("r/gone", b"", qos=1, retain=True).reason in (0, 0x10)
    assert pub.publish("r/short", b"short", qos=1, retain=True,
                       properties={"message_expiry": 1}).reason in (0, 0x10)
    kill9(b)
    time.sleep(1.5)  # longer than r/short's expiry: the downtime counts
    b.start()
    assert "(1 retained messages;" in b.log()
    sub = m.client(b.port, "sub", 5)
    sub.subscribe([("r/#", 1)])
    p = sub.expect_publish()
    assert (p.topic, p.payload, p.retain) == ("r/keep", b"kept", 1)
    pub = m.client(b.port, "pub2", 5)
    pub.publish("r/marker", b"m", qos=1)
    assert sub.expect_publish().payload == b"m"  # nothing else was retained


def test_wills_of_durable_sessions_survive(broker_factory):
    """A client with a will is connected when the node is killed: after the restart its
    connection is over, abnormally, so its will is published (after its delay). A session
    whose expiry passed while the node was down publishes its delayed will too. A client
    that disconnected normally has no will left."""
    b = broker_factory(DURABLE)
    b.start()
    watcher, _ = persistent(b, "watcher")
    watcher.subscribe([("will/#", 1)])
    watcher.disconnect()
    c1 = m.Conn(b.port, 5)
    assert c1.connect("dies", clean=False, properties={"session_expiry": 3600},
                      will={"topic": "will/dies", "payload": b"gone", "qos": 1}).reason == 0
    c2 = m.Conn(b.port, 5)
    assert c2.connect("expires", clean=False, properties={"session_expiry": 1},
                      will={"topic": "will/expires", "payload": b"expired", "qos": 1,
                            "properties": {"will_delay": 600}}).reason == 0
    c2.abort()  # its will waits 600 s, its session ends in 1 s: the session's end sends it
    c3 = m.Conn(b.port, 5)
    assert c3.connect("polite", clean=False, properties={"session_expiry": 3600},
                      will={"topic": "will/polite", "payload": b"never", "qos": 1}).reason == 0
    c3.disconnect()
    ping = m.client(b.port, "ping", 5)
    ping.ping()  # every CONNECT and close above is handled: their records are submitted
    b.stop()  # (c1 stays connected: a clean stop ends it abnormally too, like a kill)
    c1.close()
    time.sleep(1.5)  # longer than "expires"'s expiry
    b.start()
    watcher, ca = persistent(b, "watcher")
    assert ca.session_present == 1
    got = {watcher.expect_publish(timeout=10).payload for _ in range(2)}
    assert got == {b"gone", b"expired"}, got
    pub = m.client(b.port, "pub", 5)
    pub.publish("will/marker", b"m", qos=1)
    assert watcher.expect_publish().payload == b"m"  # and "never" did not come


def test_on_by_default_and_env_only_with_emqx_key_names(broker_factory):
    """No key in the file: durable sessions are on by default; the seed's wal_sync_interval
    from the environment (as a container user sets it) applies, and a queued message
    survives kill -9. EMQX's durable_sessions.enable = false from the environment turns them
    off; set against persistence.enable, the node refuses to start and names both."""
    from clusterlib import api_call, wait_api
    b = broker_factory({})
    b.env.update({"STARLING_PERSISTENCE__WAL_SYNC_INTERVAL": "0ms"})
    b.start()
    wait_api(b)
    st = api_call(b, "GET", "/api/v5/durable_storage")[1]
    assert st["enable"] is True and st["wal_sync_interval_ms"] == 0, st
    sub, _ = persistent(b, "env")
    sub.subscribe([("e/#", 1)])
    sub.disconnect()
    pub = m.client(b.port, "pub", 5)
    assert pub.publish("e/1", b"from env", qos=1).reason == 0
    kill9(b)
    b.start()
    sub, ca = persistent(b, "env")
    assert ca.session_present == 1 and sub.expect_publish().payload == b"from env"
    off = broker_factory({}, name="off")
    off.env.update({"EMQX_DURABLE_SESSIONS__ENABLE": "false"})
    off.start()
    wait_api(off)
    assert api_call(off, "GET", "/api/v5/durable_storage")[0] == 404
    both = broker_factory({"persistence.enable": True}, name="both")
    both.env.update({"EMQX_DURABLE_SESSIONS__ENABLE": "false"})
    both.write_config()
    p = subprocess.run(both.command(), capture_output=True, text=True, timeout=30, cwd=both.dir,
                       env=dict(os.environ, **both.env))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "persistence.enable (" in p.stderr and "durable_sessions.enable (env " in p.stderr, \
        p.stderr


def test_the_seed_documents_lines_start_a_node(broker_factory):
    """The seed document's persistence and resource lines, as written there
    (`persistence.shared_client_session = true`, `persistence.shared_client_state = true`,
    `persistence.wal_sync_interval = 1000`, `mnesia.max_fragment_size = 1024`) and its second
    listener (`listeners.tcp.internal = <port>`): the node starts (alone: no copy of an earlier
    store of its own to look for, and it says so), syncs every 1000 ms, and serves MQTT on
    both listeners with durable sessions."""
    from clusterlib import api_call, wait_api, wait_log
    from conftest import free_port
    internal = free_port()
    b = broker_factory({"persistence.shared_client_session": True,
                        "persistence.shared_client_state": True,
                        "persistence.wal_sync_interval": 1000,
                        "mnesia.max_fragment_size": 1024,
                        "listeners.tcp.internal": internal}).start()
    # its store is new: it looks for a copy of an earlier one before it takes clients
    wait_log(b, r"replicas: no other member is up: this node starts with an empty durable store")
    wait_api(b)
    st = api_call(b, "GET", "/api/v5/durable_storage")[1]
    assert st["status"] == "ok" and st["wal_sync_interval_ms"] == 1000, st
    assert st["replication"]["restoring"] is False, st
    c = m.Conn(internal, 5, host=b.host)
    ca = c.connect("seed-dev", clean=False, properties={"session_expiry": 3600})
    assert ca.reason == 0
    c.subscribe([("seed/#", 1)])
    c.disconnect()
    b.stop()
    b.start()
    c = m.Conn(internal, 5, host=b.host)
    ca = c.connect("seed-dev", clean=False, properties={"session_expiry": 3600})
    assert ca.reason == 0 and ca.session_present == 1
    c.disconnect()


def test_shared_client_session_keeps_a_copy_of_the_store_on_another_member(broker_factory):
    """persistence.shared_client_session on three nodes (the same seed list on each): node 1's
    durable store is copied to the member rendezvous hashing picks (its holder). A durable
    session with 5 queued messages is in the holder's copy; the holder is killed (-9) while
    3 more are published (their PUBACKs come: a holder that is gone is not waited for) and
    started again: it gets the whole store again and its copy holds the 8. Then node 1 loses
    its whole data dir and restarts with the same config: it takes the copy back from the
    holder before it takes clients, starts again by itself, and the session comes back with
    its 8 messages; the holder keeps the copy it gave aside and copies the restored store."""
    from clusterlib import api_call, same_seeds, up_members, wait_api, wait_info, wait_log
    cl, nodes, names = same_seeds(broker_factory, 3, **dict(
        DURABLE, **{"persistence.shared_client_session": True, "cluster.link_timeout": "1s"}))
    a = nodes[0]
    for n in nodes:  # every member up in every table: the holders are chosen among them
        wait_api(n)
        wait_info(n, lambda i: up_members(i) == sorted(names), "all members up", timeout=30)

    def repl(n):
        return api_call(n, "GET", "/api/v5/durable_storage")[1]["replication"]

    holders = wait("node 1 chose its holder among both others, and it is in step", lambda: [
        h for h in repl(a)["holders"] if h["state"] == "in_step" and repl(a)["members"] == 2])
    assert len(holders) == 1 and holders[0]["node"] in names[1:], holders
    h = nodes[names.index(holders[0]["node"])]
    dev, _ = persistent(a, "rep-dev")
    dev.subscribe([("rep/#", 1)])
    dev.disconnect()
    pub = m.Conn(a.port, 5, host=a.host, timeout=30)
    assert pub.connect("rep-pub").reason == 0
    for i in range(5):
        assert pub.publish("rep/%d" % i, b"m%d" % i, qos=1).reason == 0

    def copy_of_a(n, messages):
        return [x for x in repl(n)["mirrors"] if x["owner"] == names[0] and
                x["sessions"] >= 1 and x["messages"] == messages]
    wait("the holder's copy has the session and its 5 messages", lambda: copy_of_a(h, 5))
    assert repl(a)["enable"] is True

    os.kill(h.proc.pid, signal.SIGKILL)
    h.proc.wait()
    h.proc = None
    for i in range(5, 8):  # the holder is gone: not waited for
        assert pub.publish("rep/%d" % i, b"m%d" % i, qos=1).reason == 0
    h.start()
    wait_api(h)
    wait("the restarted holder's copy has all 8 messages", lambda: copy_of_a(h, 8))
    wait("node 1's holder is in step again", lambda: [
        x for x in repl(a)["holders"] if x["state"] == "in_step"])
    pub.disconnect()
    dev, ca = persistent(a, "rep-dev")
    assert ca.session_present == 1
    assert [dev.expect_publish(auto_ack=False).payload for _ in range(8)] == [
        b"m%d" % i for i in range(8)]  # not acknowledged: they stay in the store
    dev.close()

    # node 1 loses its whole data dir (its Raft state too) and starts again with the same
    # config: it finds the copy of its old store on the holder, takes it back, starts again
    # by itself to recover it, and the session is there with its 8 messages
    kill9(a)
    import shutil
    shutil.rmtree(os.path.join(a.dir, "data"))
    a.start()
    wait_log(h, r"replicas: sent %s the copy of its earlier durable store \(1 session\(s\)" %
             re.escape(names[0]), timeout=60)
    wait_log(a, r"durable store is restored from %s's copy" % re.escape(holders[0]["node"]),
             timeout=60)
    wait_log(a, r"durable store: 1 sessions recovered with 8 messages", timeout=60)
    wait_api(a)
    dev, ca = persistent(a, "rep-dev")
    assert ca.session_present == 1
    got = [dev.expect_publish() for _ in range(8)]
    assert [p.payload for p in got] == [b"m%d" % i for i in range(8)], got
    dev.close()
    # the holder kept the copy it gave aside, and copies the restored store anew
    wait("the holder's copy of node 1's restored store has the session", lambda: [
        x for x in repl(h)["mirrors"] if x["owner"] == names[0] and x["sessions"] == 1])
    aside = [d for d in os.listdir(os.path.join(h.dir, "data", "replicas"))
             if d.startswith(names[0] + ".")]
    assert len(aside) == 1, aside


@pytest.mark.plain_only("a fault test with two kills")
def test_a_restarted_node_keeps_the_session_a_crash_lost_a_reconnect_of(broker_factory):
    """Three nodes, wal_sync_interval 5 s. A durable session on node 1 is on disk; node 1
    is killed and started again; its client reconnects there (the new process registers
    the client at a newer clock, and the cluster commits it) and node 1 is killed again
    before its disk has that. Started once more, node 1 recovers the session with the
    registration it had stored, older than the registry's row, which is node 1's own: the
    session stays (before, the registry took the row for another connection and ended it),
    so the client finds it, subscription and all."""
    from clusterlib import api_call, same_seeds, wait_api, wait_status
    cl, nodes, names = same_seeds(broker_factory, 3, **{
        "persistence.enable": True, "persistence.wal_sync_interval": "5s"})
    a, b = nodes[0], nodes[1]

    def applied():
        return max(n["cluster.raft.applied_index"] for n in api_call(b, "GET", "/api/v5/stats")[1])

    dev, _ = persistent(a, "rk-dev")
    assert dev.subscribe([("rk/#", 1)]).reasons == [1]
    dev.close()
    time.sleep(5.5)  # at least one round of the store since: the session is on disk
    for i in range(2):
        kill9(a)
        a.start()
        for n in nodes:
            wait_status(n, names, timeout=30)
        if i == 0:  # the client again, its new registration committed, not on disk yet
            wait_api(b)
            before = applied()
            dev, ca = persistent(a, "rk-dev")
            assert ca.session_present == 1
            wait("the registration committed", lambda: applied() > before)
            dev.close()
    dev, ca = persistent(a, "rk-dev")
    assert ca.session_present == 1
    pub = m.Conn(b.port, 5, host=b.host)
    assert pub.connect("rk-pub").reason == 0
    assert pub.publish("rk/1", b"after", qos=1).reason == 0
    assert dev.expect_publish().payload == b"after"
    for c in (dev, pub):
        c.close()
