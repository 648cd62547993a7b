"""Malformed and out-of-order input. After a CONNACK: MQTT 5 gets DISCONNECT 0x81
(malformed packet) or 0x82 (protocol error), then the close; 3.x just the close. Before a
CONNACK: the close, with nothing sent. Either way the broker keeps serving other clients
(checked after each case)."""

import pytest

import mqttraw as m
from mqttraw import packet, string, u16

MALFORMED, PROTOCOL = 0x81, 0x82
EITHER = (0x81, 0x82)  # where the spec leaves malformed vs protocol error open
V3, V5, BOTH = (4,), (5,), (4, 5)


def props(v, block=b"\x00"):
    """A property block for v5, nothing for 3.x."""
    return block if v == 5 else b""


def pub(topic="a", **kw):
    return lambda v: m.publish(topic, b"x", version=v, **kw)


def pub5(properties):
    """An MQTT 5 PUBLISH with these properties (a dict, or a list of pairs)."""
    return lambda v: m.publish("a", b"x", version=5, properties=properties)


def const(data):
    return lambda v: data


def cases(table):
    """(name, build(v) -> bytes, reasons, versions[, marks]) -> pytest params per version."""
    out = []
    for name, build, reasons, versions, *marks in table:
        out += [pytest.param(build, v, reasons, id="%s-v%d" % (name, v), marks=marks) for v in versions]
    return out


AFTER_CONNECT = cases([
    # MQTT-1.5.5-1: a Variable Byte Integer has at most four bytes
    ("remaining-length-5-bytes", const(b"\x30\xff\xff\xff\xff\x7f"), MALFORMED, BOTH),
    # the topic's length runs past the end of the packet
    ("publish-truncated-topic", const(packet(m.PUBLISH, 0, string("abcdef")[:4])), MALFORMED, BOTH),
    # MQTT-1.5.4-1: ill-formed UTF-8 (overlong, surrogate); MQTT-1.5.4-2: U+0000
    ("topic-overlong-utf8", pub(b"a\xc0\xafb"), MALFORMED, BOTH),
    ("topic-surrogate", pub(b"a\xed\xa0\x80"), MALFORMED, BOTH),
    ("topic-nul", pub(b"a\x00b"), MALFORMED, BOTH),
    ("filter-bad-utf8", lambda v: m.subscribe(1, [(b"a\xff", 0)], version=v), MALFORMED, BOTH),
    # MQTT-2.2.2-2 (3.1.1) / §2.1.3: fixed header flags other than the required ones
    ("pubrel-flags-0", const(packet(m.PUBREL, 0, u16(1))), MALFORMED, BOTH),
    ("subscribe-flags-0", lambda v: packet(m.SUBSCRIBE, 0, u16(1) + props(v) + string("a") + b"\0"),
     MALFORMED, BOTH),
    ("unsubscribe-flags-0", lambda v: packet(m.UNSUBSCRIBE, 0, u16(1) + props(v) + string("a")),
     MALFORMED, BOTH),
    ("pingreq-flags-1", const(b"\xc1\x00"), MALFORMED, BOTH,
     pytest.mark.mosquitto_xfail("2.0.11 ignores PINGREQ flags")),
    # MQTT-3.3.1-4: QoS 3
    ("publish-qos-3", lambda v: packet(m.PUBLISH, 6, string("a") + u16(1) + props(v)), MALFORMED, BOTH),
    # MQTT-2.3.1-1 (3.1.1) / MQTT-2.2.1-3: packet identifiers are non-zero
    ("publish-packet-id-0", pub(qos=1, packet_id=0), EITHER, BOTH),
    ("subscribe-packet-id-0", lambda v: m.subscribe(0, "a", version=v), EITHER, BOTH),
    # MQTT-3.8.3-3 (3.1.1) / MQTT-3.8.3-2, MQTT-3.10.3-2: at least one topic filter
    ("subscribe-no-filters", lambda v: packet(m.SUBSCRIBE, 2, u16(1) + props(v)), EITHER, BOTH),
    ("unsubscribe-no-filters", lambda v: packet(m.UNSUBSCRIBE, 2, u16(1) + props(v)), EITHER, BOTH),
    # MQTT-3.8.3-4 (3.1.1) / MQTT-3.8.3-5: reserved bits of the subscription options
    ("subscribe-reserved-bits", lambda v: m.subscribe(1, [("a", 0xC0 if v == 5 else 0x04)], version=v),
     MALFORMED, BOTH),
    # packet type 0 is reserved
    ("packet-type-0", const(b"\x00\x00"), EITHER, BOTH),
    # a 3.1.1 DISCONNECT has no body
    ("disconnect-with-body", const(b"\xe0\x01\x00"), MALFORMED, V3),
    # §2.2.2.2 properties: repeated, not allowed for the packet, unknown id, overrun, bad UTF-8
    ("duplicate-property", pub5([("payload_format", 0), ("payload_format", 0)]), EITHER, V5),
    ("property-not-for-publish", pub5({"session_expiry": 5}), MALFORMED, V5),
    ("unknown-property", const(packet(m.PUBLISH, 0, string("a") + b"\x02\x7f\x00x")), MALFORMED, V5),
    ("property-length-overrun", const(packet(m.PUBLISH, 0, string("a") + b"\x09\x01\x01")), MALFORMED, V5),
    ("user-property-bad-utf8", pub5({"user": [(b"\xff", "v")]}), MALFORMED, V5),
    ("subscription-id-0", lambda v: m.subscribe(1, "a", {"subscription_id": 0}, version=5), EITHER, V5),
    # §4.12: AUTH from a client whose CONNECT had no Authentication Method
    ("auth-without-method", const(m.auth(0x19, {"auth_method": "x"})), PROTOCOL, V5),
])


@pytest.mark.parametrize("build, v, reasons", AFTER_CONNECT)
def test_malformed_after_connect(mqtt, build, v, reasons, expect_dropped, assert_alive):
    """A malformed packet or protocol violation after CONNACK ends the connection
    (MQTT 5: DISCONNECT 0x81/0x82 first) and leaves the broker serving others [MQTT §4.13,
    MQTT-4.8.0-1 (3.1.1)]."""
    c = mqtt("bad", v)
    c.send(build(v))
    expect_dropped(c, reasons)
    assert_alive(v)


def conn(client_id="c", **kw):
    return lambda v: m.connect(client_id, version=v, **kw)


BEFORE_CONNACK = cases([
    # MQTT-3.1.0-1: the first packet is CONNECT
    ("publish-first", pub(), (), BOTH),
    ("subscribe-first", lambda v: m.subscribe(1, "a", version=v), (), BOTH),
    ("pingreq-first", const(m.pingreq()), (), BOTH),
    ("connect-remaining-length-5-bytes", const(b"\x10\xff\xff\xff\xff\x7f"), (), BOTH),
    ("connect-client-id-bad-utf8", conn(b"a\xc0\xaf"), (), BOTH),
    # the client id's length runs past the end of the packet
    ("connect-truncated", lambda v: packet(m.CONNECT, 0, m.connect("client", version=v)[2:-2]), (), BOTH),
    # MQTT-3.1.2-13/15 (3.1.1), MQTT-3.1.2-11/13: will QoS / retain without the will flag
    ("connect-will-qos-without-will", conn(flags_or=0x08), (), BOTH),
    ("connect-will-retain-without-will", conn(flags_or=0x20), (), BOTH),
    ("connect-will-qos-3", conn(will={"topic": "w", "qos": 3}), (), BOTH),
    # MQTT-3.1.2-22 (3.1.1): a password needs a user name
    ("connect-password-without-username", conn(password="p"), (), V3),
    # §3.1.2.11: protocol errors in CONNECT properties
    ("connect-duplicate-property", conn(properties=[("session_expiry", 1), ("session_expiry", 1)]), (), V5),
    ("connect-receive-maximum-0", conn(properties={"receive_max": 0}), (), V5),
    ("connect-maximum-packet-size-0", conn(properties={"max_packet_size": 0}), (), V5),
])


@pytest.mark.parametrize("build, v, reasons", BEFORE_CONNACK)
def test_malformed_before_connack(raw, build, v, reasons, assert_alive):
    """Bad input before a CONNACK was sent: the connection is closed without a CONNACK,
    and the broker keeps serving others [MQTT-3.1.0-1, MQTT-3.1.4-1, MQTT 5 §4.13]."""
    c = raw(v)
    c.send(build(v))
    c.expect_closed()
    assert_alive(v)
