"""Will messages: when they are published, with what QoS, retain flag, delay and properties."""

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


def watcher(mqtt, v=5, topic="will/#"):
    w = mqtt("watcher", v)
    w.subscribe([(topic, 2)])
    return w


@VERSIONS
@pytest.mark.parametrize("how", ["close", "reset"])
def test_will_on_abnormal_disconnect(mqtt, v, how):
    """A connection that ends without DISCONNECT (FIN or RST) publishes the will, at the
    will QoS [MQTT-3.1.2-8, MQTT-3.1.2-14 (3.1.1)]."""
    w = watcher(mqtt, v)
    c = mqtt("c", v, will={"topic": "will/c", "payload": b"gone", "qos": 1})
    if how == "close":
        c.close()
    else:
        c.abort()
    p = w.expect_publish()
    assert (p.topic, p.payload, p.qos, p.retain) == ("will/c", b"gone", 1, 0)


@VERSIONS
def test_will_retained(mqtt, v):
    """A will with Will Retain 1 is published as a retained message [MQTT-3.1.2-17]."""
    c = mqtt("c", v, will={"topic": "will/c", "payload": b"gone", "qos": 1, "retain": True})
    w = watcher(mqtt, v)
    c.abort()
    assert w.expect_publish().payload == b"gone"
    late = mqtt("late", v)
    late.subscribe([("will/c", 1)])
    p = late.expect_publish()
    assert (p.payload, p.retain) == (b"gone", 1)


@VERSIONS
def test_no_will_on_normal_disconnect(mqtt, v):
    """DISCONNECT (reason 0x00) deletes the will: it is not published [MQTT-3.1.2-10,
    MQTT-3.14.4-3]."""
    w = watcher(mqtt, v)
    c = mqtt("c", v, will={"topic": "will/c", "payload": b"gone"})
    c.send(m.disconnect(0 if v == 5 else None, version=v))
    c.expect_closed()
    mqtt("other", v).publish("will/marker", b"m")
    assert w.expect_publish().topic == "will/marker"
    w.expect_nothing()


def test_will_on_disconnect_with_will_message(mqtt):
    """MQTT 5 DISCONNECT with reason 0x04 (disconnect with will message) publishes the will
    [MQTT 5 §3.14.2.1]."""
    w = watcher(mqtt)
    c = mqtt("c", 5, will={"topic": "will/c", "payload": b"gone"})
    c.send(m.disconnect(0x04, version=5))
    assert w.expect_publish().payload == b"gone"


@VERSIONS
def test_will_on_keepalive_timeout(mqtt, v):
    """A keep alive timeout is an abnormal disconnect: the will is published
    [MQTT-3.1.2-8, MQTT-3.1.2-24 (3.1.1)]."""
    w = watcher(mqtt, v)
    mqtt("c", v, keepalive=1, will={"topic": "will/c", "payload": b"timeout"})
    assert w.expect_publish(timeout=1.5 + 8).payload == b"timeout"


def test_will_properties_passed_through(mqtt):
    """Will properties travel with the will: Payload Format Indicator, Content Type,
    Response Topic, Correlation Data, User Properties in order [MQTT-3.1.3-10], and a
    Message Expiry Interval no larger than the one given."""
    w = watcher(mqtt)
    user = [("k", "1"), ("a", "x"), ("k", "2")]
    c = mqtt("c", 5, will={"topic": "will/c", "payload": b"gone", "properties": {
        "payload_format": 1, "content_type": "text/plain", "response_topic": "reply/c",
        "correlation_data": b"\x00\x01\xff", "message_expiry": 100, "user": user}})
    c.abort()
    p = w.expect_publish()
    assert p.props.get("payload_format") == 1
    assert p.props.get("content_type") == "text/plain"
    assert p.props.get("response_topic") == "reply/c"
    assert p.props.get("correlation_data") == b"\x00\x01\xff"
    assert p.props.all("user") == user
    assert 0 < p.props.get("message_expiry") <= 100


def test_will_delay(mqtt):
    """With a Will Delay Interval the will comes after the delay, not at the disconnect:
    a message published right after the disconnect arrives first [MQTT-3.1.3-9]."""
    w = watcher(mqtt)
    c = mqtt("c", 5, properties={"session_expiry": 60},
             will={"topic": "will/c", "payload": b"late", "properties": {"will_delay": 2}})
    c.abort()
    mqtt("other", 5).publish("will/marker", b"m")
    assert w.expect_publish().payload == b"m"
    assert w.expect_publish(timeout=2 + 8).payload == b"late"


def test_will_delay_cancelled_by_reconnect(mqtt):
    """A reconnect within the Will Delay Interval cancels the will [MQTT-3.1.3-9]. A control
    client with the same delay, cut off later, shows when the will would have come."""
    w = watcher(mqtt)
    will = {"payload": b"gone", "properties": {"will_delay": 2}}
    c = mqtt("c", 5, properties={"session_expiry": 60}, will=dict(will, topic="will/c"))
    c.abort()
    mqtt("c", 5, clean=False, properties={"session_expiry": 60})
    mqtt("control", 5, properties={"session_expiry": 60}, will=dict(will, topic="will/control")).abort()
    assert w.expect_publish(timeout=2 + 8).topic == "will/control"


def test_will_at_session_end_before_delay(mqtt):
    """A Will Delay Interval longer than the Session Expiry Interval: the will is published
    when the session ends [MQTT-3.1.3-9]."""
    w = watcher(mqtt)
    c = mqtt("c", 5, properties={"session_expiry": 1},
             will={"topic": "will/c", "payload": b"gone", "properties": {"will_delay": 60}})
    c.abort()
    assert w.expect_publish(timeout=1 + 8).payload == b"gone"
