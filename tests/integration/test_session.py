"""Sessions: clean start / clean session, expiry, session present, queued and unacknowledged
messages across reconnects, takeover."""

import time

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


def persistent(v):
    """CONNECT arguments for a session that outlives the connection."""
    return {"clean": False, "properties": {"session_expiry": 300}} if v == 5 else {"clean": False}


@VERSIONS
def test_session_kept_with_queued_messages(mqtt, raw, v):
    """A persistent session keeps its subscriptions and the QoS 1/2 messages published while
    the client was away; CONNACK says session present [MQTT-3.1.2-5 (3.1.1), MQTT-3.2.2-2]."""
    sub = mqtt("sub", v, **persistent(v))
    sub.subscribe([("t/1", 1), ("t/2", 2)])
    sub.disconnect()
    pub = mqtt("pub", v)
    pub.publish("t/1", b"q1", qos=1)
    pub.publish("t/2", b"q2", qos=2)
    sub = raw(v)
    assert sub.connect("sub", **persistent(v)).session_present == 1
    got = {(p.topic, p.payload, p.qos) for p in (sub.expect_publish(), sub.expect_publish())}
    assert got == {("t/1", b"q1", 1), ("t/2", b"q2", 2)}
    pub.publish("t/1", b"live", qos=1)
    assert sub.expect_publish().payload == b"live"


@VERSIONS
def test_clean_start_discards_session(mqtt, raw, v):
    """Clean Start / Clean Session 1 discards the old session: session present 0 and the old
    subscriptions are gone [MQTT-3.1.2-4, MQTT-3.2.2-1]."""
    old = mqtt("sub", v, **persistent(v))
    old.subscribe([("old", 1)])
    old.close()
    sub = raw(v)
    ca = sub.connect("sub", clean=True)
    assert ca.reason == 0 and ca.session_present == 0
    sub.subscribe([("marker", 0)])
    pub = mqtt("pub", v)
    pub.publish("old", b"x", qos=1)
    pub.publish("marker", b"m")
    assert sub.expect_publish().topic == "marker"


def test_v5_session_expiry_zero_ends_with_connection(mqtt, raw):
    """MQTT 5 without Session Expiry Interval (0): the session ends when the connection
    closes, so clean start 0 afterwards finds no session [MQTT-3.1.2-23]."""
    c = mqtt("c", 5, clean=False)
    c.subscribe([("t", 1)])
    c.disconnect()
    assert raw(5).connect("c", clean=False).session_present == 0


def test_v5_session_expires(mqtt, raw):
    """A session ends Session Expiry Interval after the connection closed. The end is
    observed through a will whose delay (30 s) exceeds the expiry (1 s): it is published
    when the session ends [MQTT-3.1.3-9]; after that the session is gone."""
    watch = mqtt("watch", 5)
    watch.subscribe([("will/c", 0)])
    c = mqtt("c", 5, clean=False, properties={"session_expiry": 1},
             will={"topic": "will/c", "payload": b"gone", "properties": {"will_delay": 30}})
    c.subscribe([("t", 1)])
    c.abort()
    assert watch.expect_publish(timeout=1 + 8).payload == b"gone"
    assert raw(5).connect("c", clean=False).session_present == 0


@pytest.mark.broker_conf({"mqtt.session_expiry_interval": "1s"})
def test_v3_session_expiry_setting(mqtt, raw):
    """mqtt.session_expiry_interval bounds a 3.x persistent session (EMQX); after it the
    session is gone. (A bounded sleep: 3.x has no event that marks a session's end.)"""
    c = mqtt("c", 4, clean=False)
    c.subscribe([("t", 1)])
    c.disconnect()
    time.sleep(2.5)
    assert raw(4).connect("c", clean=False).session_present == 0


@VERSIONS
def test_takeover_closes_old_connection(mqtt, v, expect_dropped):
    """A second connection with the same client id takes over: the old connection is closed
    [MQTT-3.1.4-3]; an MQTT 5 one gets DISCONNECT 0x8E (session taken over) first."""
    old = mqtt("same", v)
    new = mqtt("same", v)
    expect_dropped(old, 0x8E)
    new.ping()


@VERSIONS
def test_takeover_keeps_session(mqtt, raw, v):
    """A takeover with clean start 0 resumes the session: session present 1 and the
    subscriptions work on the new connection."""
    old = mqtt("same", v, **persistent(v))
    old.subscribe([("t", 1)])
    new = raw(v)
    assert new.connect("same", **persistent(v)).session_present == 1
    mqtt("pub", v).publish("t", b"x", qos=1)
    assert new.expect_publish().payload == b"x"


@VERSIONS
def test_unacked_resent_with_dup(mqtt, raw, v):
    """On reconnect with a kept session the server resends unacknowledged PUBLISHes with
    DUP=1 and their original packet ids, and PUBREL for PUBREC'd QoS 2 [MQTT-4.4.0-1,
    MQTT-3.3.1-1]."""
    sub = mqtt("sub", v, **persistent(v))
    sub.subscribe([("t/1", 1), ("t/2", 2), ("t/3", 2)])
    pub = mqtt("pub", v)
    pub.publish("t/1", b"one", qos=1)
    pub.publish("t/2", b"two", qos=2)
    pub.publish("t/3", b"three", qos=2)
    first = {p.topic: p for p in (sub.expect(m.PUBLISH) for _ in range(3))}
    sub.send(m.ack(m.PUBREC, first["t/2"].packet_id, version=v))
    assert sub.expect(m.PUBREL).packet_id == first["t/2"].packet_id
    sub.close()
    sub = raw(v)
    assert sub.connect("sub", **persistent(v)).session_present == 1
    again = [sub.recv(5) for _ in range(3)]
    pubs = {p.topic: p for p in again if p and p.type == m.PUBLISH}
    rels = [p for p in again if p and p.type == m.PUBREL]
    assert set(pubs) == {"t/1", "t/3"} and len(rels) == 1, again
    for t in ("t/1", "t/3"):
        assert (pubs[t].dup, pubs[t].packet_id) == (1, first[t].packet_id), pubs[t]
    assert rels[0].packet_id == first["t/2"].packet_id


@pytest.mark.parametrize("store", [True, False])
def test_mqueue_store_qos0(broker_factory, store):
    """mqtt.mqueue_store_qos0: QoS 0 messages for an offline session are queued only when
    true (EMQX; QoS 0 storing is optional in MQTT [MQTT-3.1.2-5 (3.1.1)])."""
    broker = broker_factory({"mqtt.mqueue_store_qos0": store}).start()
    sub = m.client(broker.port, "sub", 4, clean=False)
    sub.subscribe([("t", 1)])
    sub.disconnect()
    pub = m.client(broker.port, "pub", 4)
    pub.publish("t", b"qos0", qos=0)
    pub.publish("t", b"qos1", qos=1)
    sub = m.Conn(broker.port, 4)
    assert sub.connect("sub", clean=False).session_present == 1
    got = [sub.expect_publish().payload for _ in range(2 if store else 1)]
    assert got == ([b"qos0", b"qos1"] if store else [b"qos1"])


@pytest.mark.broker_conf({"mqtt.max_mqueue_len": 2})
def test_max_mqueue_len_bounds_queue(mqtt, raw):
    """An offline session holds at most mqtt.max_mqueue_len messages."""
    sub = mqtt("sub", 4, clean=False)
    sub.subscribe([("t", 1)])
    sub.disconnect()
    pub = mqtt("pub", 4)
    for i in range(5):
        pub.publish("t", str(i), qos=1)
    sub = raw(4)
    sub.connect("sub", clean=False)
    sub.expect_publish()
    sub.expect_publish()
    sub.expect_nothing()


@pytest.mark.starling_only("mosquitto drops the newest message when its queue is full")
@pytest.mark.broker_conf({"mqtt.max_mqueue_len": 2})
def test_max_mqueue_len_drops_oldest(mqtt, raw):
    """A full session queue drops its oldest message (EMQX): the newest two survive."""
    sub = mqtt("sub", 4, clean=False)
    sub.subscribe([("t", 1)])
    sub.disconnect()
    pub = mqtt("pub", 4)
    for i in range(5):
        pub.publish("t", str(i), qos=1)
    sub = raw(4)
    sub.connect("sub", clean=False)
    assert [sub.expect_publish().payload for _ in range(2)] == [b"3", b"4"]


def test_restart_fixture(broker, restart_broker, raw):
    """The restart fixture brings the broker back on the same port (no persistence check:
    regular sessions live in memory)."""
    port = broker.port
    restart_broker()
    assert broker.port == port
    assert raw(5).connect("c").reason == 0
