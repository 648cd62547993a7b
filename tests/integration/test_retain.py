"""Retained messages: store, replace, clear, Retain Handling, Retain As Published, expiry."""

import time

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


@pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])
def test_retained_to_new_and_live_subscribers(paho_client, v):
    """A retained message goes to a later subscriber with RETAIN 1 [MQTT-3.3.1-6,
    MQTT-3.3.1-8 (3.1.1)] and to an existing subscriber with RETAIN 0 [MQTT-3.3.1-9 (3.1.1),
    MQTT-3.3.1-12] (paho clients)."""
    live = paho_client("live", version=v)
    live.subscribe("r/t", 1)
    paho_client("pub", version=v).publish("r/t", b"state", qos=1, retain=True)
    msg = live.get()
    assert (msg.payload, msg.retain) == (b"state", 0)
    late = paho_client("late", version=v)
    late.subscribe("r/#", 1)
    msg = late.get()
    assert (msg.topic, msg.payload, msg.retain, msg.qos) == ("r/t", b"state", 1, 1)


@VERSIONS
def test_retained_replaced_and_cleared(mqtt, v):
    """Only the latest retained message per topic is kept [MQTT-3.3.1-5]; an empty retained
    payload clears it [MQTT-3.3.1-6, MQTT-3.3.1-7] and is delivered to current subscribers
    as a normal message [MQTT-3.3.1-10 (3.1.1)]."""
    live = mqtt("live", v)
    live.subscribe([("r/#", 1)])
    pub = mqtt("pub", v)
    pub.publish("r/a", b"one", qos=1, retain=True)
    pub.publish("r/a", b"two", qos=1, retain=True)
    pub.publish("r/b", b"gone", qos=1, retain=True)
    pub.publish("r/b", b"", qos=1, retain=True)
    assert [live.expect_publish().payload for _ in range(4)] == [b"one", b"two", b"gone", b""]
    late = mqtt("late", v)
    late.subscribe([("r/#", 1)])
    p = late.expect_publish()
    assert (p.topic, p.payload, p.retain) == ("r/a", b"two", 1)
    late.expect_nothing()


@VERSIONS
def test_retained_wildcard_and_qos(mqtt, v):
    """A wildcard subscription gets every matching retained message, each at
    min(message QoS, granted QoS) [MQTT-3.8.4-6 (3.1.1) / MQTT-3.8.4-8]."""
    pub = mqtt("pub", v)
    for i, q in enumerate((0, 1, 2)):
        pub.publish("r/%d" % i, b"m%d" % i, qos=q, retain=True)
    pub.publish("other/x", b"no", qos=1, retain=True)
    sub = mqtt("sub", v)
    sub.subscribe([("r/+", 1)])
    got = sorted((p.topic, p.qos, p.retain) for p in (sub.expect_publish() for _ in range(3)))
    assert got == [("r/0", 0, 1), ("r/1", 1, 1), ("r/2", 1, 1)]
    sub.expect_nothing()


@pytest.mark.parametrize("rh, first, again", [(0, True, True), (1, True, False), (2, False, False)])
def test_retain_handling(mqtt, rh, first, again):
    """Retain Handling 0: retained messages on every SUBSCRIBE; 1: only when the subscription
    is new; 2: never [MQTT-3.3.1-9, MQTT-3.3.1-10, MQTT-3.3.1-11]."""
    pub = mqtt("pub", 5)
    pub.publish("r/t", b"state", qos=1, retain=True)
    sub = mqtt("sub", 5)
    sub.subscribe([("marker", 0)])
    for expected in (first, again):
        sub.subscribe([("r/t", m.subopts(1, rh=rh))])
        pub.publish("marker", b"m")
        got = sorted(sub.expect_publish().topic for _ in range(2 if expected else 1))
        assert got == (["marker", "r/t"] if expected else ["marker"])
        if not expected:
            sub.expect_nothing()


@pytest.mark.parametrize("rap", [True, False])
def test_retain_as_published(mqtt, rap):
    """Retain As Published 1 keeps RETAIN 1 on forwarded retained messages; 0 clears it
    [MQTT-3.3.1-12, MQTT-3.3.1-13]."""
    sub = mqtt("sub", 5)
    sub.subscribe([("r/t", m.subopts(1, rap=rap))])
    mqtt("pub", 5).publish("r/t", b"x", qos=1, retain=True)
    assert sub.expect_publish().retain == (1 if rap else 0)


def test_retained_message_expiry(mqtt):
    """An expired retained message is not delivered [MQTT-3.3.2-5]; a live one carries its
    remaining expiry [MQTT-3.3.2-6]. (A bounded sleep lets the 1 s message expire.)"""
    pub = mqtt("pub", 5)
    pub.publish("r/short", b"s", qos=1, retain=True, properties={"message_expiry": 1})
    pub.publish("r/long", b"l", qos=1, retain=True, properties={"message_expiry": 60})
    time.sleep(2.1)
    sub = mqtt("sub", 5)
    sub.subscribe([("r/#", 1)])
    p = sub.expect_publish()
    assert p.topic == "r/long" and 0 < p.props.get("message_expiry") <= 59, p
    sub.expect_nothing()


@pytest.mark.starling_only("cluster.retained_tombstone_ttl")
@pytest.mark.broker_conf({"cluster.retained_tombstone_ttl": "2s"})
def test_retained_tombstones_are_forgotten(broker, paho_client):
    """Clearing a retained message leaves a versioned tombstone (so that an older copy from
    another node cannot bring it back, docs/cluster.md §9.2); tombstones older than
    cluster.retained_tombstone_ttl are forgotten, so deleted topics do not pile up."""
    pub = paho_client("pub")
    for i in range(3):
        pub.publish("tomb/%d" % i, b"x", qos=1, retain=True)
    for i in range(3):
        pub.publish("tomb/%d" % i, b"", qos=1, retain=True)
    deadline = time.monotonic() + 15
    while "3 retained tombstone(s) forgotten" not in broker.log():
        assert time.monotonic() < deadline, broker.log()[-2000:]
        time.sleep(0.1)
    sub = paho_client("sub")
    sub.subscribe("tomb/#", qos=1)
    sub.expect_nothing(timeout=0.5)
