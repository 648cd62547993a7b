"""MQTT 5 properties: pass-through of application properties, Message Expiry Interval,
Subscription Identifiers, No Local, Maximum Packet Size, Request Problem Information, AUTH."""

import time

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import mqttraw as m


def paho_props(**values):
    """paho PUBLISH properties from paho's names: paho_props(CorrelationData=b"42")."""
    p = Properties(PacketTypes.PUBLISH)
    for k, v in values.items():
        setattr(p, k, v)
    return p


def test_application_properties_passed_through(mqtt):
    """Payload Format Indicator, Content Type, Response Topic, Correlation Data and User
    Properties (repeated keys, in order) reach the subscriber unaltered [MQTT-3.3.2-4,
    MQTT-3.3.2-15, MQTT-3.3.2-16, MQTT-3.3.2-18, MQTT-3.3.2-20]."""
    sub = mqtt("sub", 5)
    sub.subscribe([("t", 1)])
    user = [("k", "v1"), ("z", ""), ("k", "v0"), ("ünï", "cödé")]
    mqtt("pub", 5).publish("t", b"{}", qos=1, properties=[
        ("user", user[0]), ("payload_format", 1), ("user", user[1]), ("content_type", "application/json"),
        ("response_topic", "reply/to"), ("user", user[2]), ("correlation_data", b"\x00\xffid"),
        ("user", user[3])])
    p = sub.expect_publish()
    assert p.props.get("payload_format") == 1
    assert p.props.get("content_type") == "application/json"
    assert p.props.get("response_topic") == "reply/to"
    assert p.props.get("correlation_data") == b"\x00\xffid"
    assert p.props.all("user") == user


def test_request_response_with_paho(paho_client):
    """A paho requester's Response Topic and Correlation Data reach a paho responder, whose
    reply reaches the requester (the MQTT 5 request/response pattern, §4.10)."""
    requester = paho_client("requester")
    requester.subscribe("reply/requester", 1)
    responder = paho_client("responder")
    responder.subscribe("service/echo", 1)
    requester.publish("service/echo", b"ping", 1,
                      properties=paho_props(ResponseTopic="reply/requester", CorrelationData=b"42"))
    req = responder.get()
    assert (req.properties.ResponseTopic, req.properties.CorrelationData) == ("reply/requester", b"42")
    responder.publish(req.properties.ResponseTopic, b"pong", 1,
                      properties=paho_props(CorrelationData=req.properties.CorrelationData))
    reply = requester.get()
    assert (reply.payload, reply.properties.CorrelationData) == (b"pong", b"42")


def test_message_expiry_forwarded(mqtt):
    """A delivered message carries the remaining Message Expiry Interval, never more than
    was sent [MQTT-3.3.2-6]; one sent without expiry gets none."""
    sub = mqtt("sub", 5)
    sub.subscribe([("t", 1)])
    pub = mqtt("pub", 5)
    pub.publish("t", b"a", qos=1, properties={"message_expiry": 60})
    pub.publish("t", b"b", qos=1)
    assert 0 < sub.expect_publish().props.get("message_expiry") <= 60
    assert not sub.expect_publish().props.has("message_expiry")


def test_message_expiry_in_queue(mqtt, raw):
    """Messages that expire while queued for an offline session are not delivered
    [MQTT-3.3.2-5]; the others arrive with the time spent waiting deducted [MQTT-3.3.2-6].
    (A bounded sleep lets the 1 s message expire.)"""
    keep = {"clean": False, "properties": {"session_expiry": 300}}
    sub = mqtt("sub", 5, **keep)
    sub.subscribe([("t/#", 1)])
    sub.disconnect()
    pub = mqtt("pub", 5)
    pub.publish("t/short", b"s", qos=1, properties={"message_expiry": 1})
    pub.publish("t/long", b"l", qos=1, properties={"message_expiry": 10})
    time.sleep(2.1)
    sub = raw(5)
    assert sub.connect("sub", **keep).session_present == 1
    p = sub.expect_publish()
    assert p.topic == "t/long" and 0 < p.props.get("message_expiry") <= 9, p
    sub.expect_nothing()


def test_subscription_identifier(mqtt):
    """A Subscription Identifier comes back in the PUBLISHes that subscription matches
    [MQTT-3.3.4-3]."""
    sub = mqtt("sub", 5)
    sub.subscribe([("t/#", 1)], properties={"subscription_id": 7})
    sub.subscribe([("u", 1)])
    pub = mqtt("pub", 5)
    pub.publish("t/1", b"x", qos=1)
    pub.publish("u", b"y", qos=1)
    assert sub.expect_publish().props.all("subscription_id") == [7]
    assert not sub.expect_publish().props.has("subscription_id")


def test_subscription_identifiers_overlapping(mqtt):
    """With overlapping subscriptions the identifiers of all matching ones are delivered,
    in one PUBLISH or one per copy [MQTT-3.3.4-4, MQTT-3.3.4-5]."""
    sub = mqtt("sub", 5)
    sub.subscribe([("s/#", 1)], properties={"subscription_id": 7})
    sub.subscribe([("s/+", 1)], properties={"subscription_id": 9})
    mqtt("pub", 5).publish("s/1", b"x", qos=1)
    p = sub.expect_publish()
    ids = p.props.all("subscription_id")
    if len(ids) == 1:
        ids += sub.expect_publish().props.all("subscription_id")
    assert sorted(ids) == [7, 9]
    sub.expect_nothing()


def test_no_local(mqtt):
    """No Local: a client's own messages are not sent back on that subscription
    [MQTT-3.8.3-3]; other subscribers get them."""
    c = mqtt("c", 5)
    c.subscribe([("t", m.subopts(1, no_local=True)), ("marker", 0)])
    other = mqtt("other", 5)
    other.subscribe([("t", 1)])
    c.publish("t", b"own", qos=1)
    c.publish("marker", b"m")
    assert other.expect_publish().payload == b"own"
    assert c.expect_publish().topic == "marker"


def test_client_maximum_packet_size(mqtt):
    """A message larger than a client's Maximum Packet Size is not sent to that client
    [MQTT-3.1.2-24, MQTT-3.1.2-25]; other subscribers still get it."""
    small = mqtt("small", 5, properties={"max_packet_size": 200})
    small.subscribe([("t/#", 1)])
    big = mqtt("big", 5)
    big.subscribe([("t/#", 1)])
    pub = mqtt("pub", 5)
    pub.publish("t/big", b"x" * 500, qos=1)
    pub.publish("t/small", b"ok", qos=1)
    assert small.expect_publish().topic == "t/small"
    assert [big.expect_publish().topic for _ in range(2)] == ["t/big", "t/small"]


def test_request_problem_information_zero(raw, mqtt):
    """Request Problem Information 0: no Reason String or User Property on packets other than
    PUBLISH, CONNACK, DISCONNECT [MQTT-3.1.2-29]."""
    c = raw(5)
    c.connect("c", properties={"request_problem_info": 0})
    c.send(m.unsubscribe(1, "not/subscribed", version=5))
    c.send(m.publish("no/subscribers", b"x", qos=1, packet_id=2, version=5))
    c.send(m.publish("no/subscribers", b"x", qos=2, packet_id=3, version=5))
    acks = [c.expect(m.UNSUBACK), c.expect(m.PUBACK), c.expect(m.PUBREC)]
    c.send(m.ack(m.PUBREL, 3, version=5))
    acks.append(c.expect(m.PUBCOMP))
    acks.append(c.subscribe([("t", 2)]))
    for p in acks:
        assert not p.props.has("reason_string") and not p.props.has("user"), p


def test_auth_method_without_authenticator(raw):
    """An Authentication Method the server does not support: CONNACK 0x8C (bad
    authentication method), then close [MQTT-4.12.0-1]."""
    c = raw(5)
    p = c.connect("c", properties={"auth_method": "SCRAM-SHA-1", "auth_data": b"client-first"})
    assert p.reason == 0x8C
    c.expect_closed()
