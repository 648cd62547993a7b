"""CONNECT / CONNACK: protocol name and level, flags, client identifiers, keep alive."""

import time

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


def expect_refused_or_closed(c, codes):
    """Either a CONNACK refusing with one of codes followed by the close, or just the close."""
    try:
        p = c.recv(5)
    except m.Closed:
        return
    assert p is not None, "expected a refusal or the close; the connection stays open"
    assert p.type == m.CONNACK and p.reason in codes, "expected a refusal or the close, got %r" % p
    c.expect_closed()


def test_connack_v311_bytes(raw):
    """A 3.1.1 CONNECT with Clean Session 1 gets exactly 20 02 00 00: the first packet
    from the server is CONNACK [MQTT-3.2.0-1], session present 0 [MQTT-3.2.2-1]."""
    c = raw(4)
    assert c.connect("c1").raw == b"\x20\x02\x00\x00"


def test_connack_v31_bytes(raw):
    """MQTT 3.1 (protocol name MQIsdp, level 3) is accepted."""
    c = raw(3)
    assert c.connect("c1").raw == b"\x20\x02\x00\x00"


def test_connack_v5(raw):
    """An MQTT 5 CONNECT is accepted: reason 0x00, session present 0 [MQTT-3.2.2-2]."""
    p = raw(5).connect("c1")
    assert (p.reason, p.session_present) == (0, 0)


def test_unsupported_level_v311(raw):
    """Protocol level 2 under name MQTT: CONNACK 0x01 (unacceptable protocol version), then
    close [MQTT-3.1.2-2]."""
    c = raw(4)
    c.send(m.connect("c1", version=4, level=2))
    assert c.expect(m.CONNACK).raw == b"\x20\x02\x00\x01"
    c.expect_closed()


def test_unsupported_level_future(raw):
    """Protocol level 6 (newer than 5): refused with 0x84 (MQTT 5 form) or 0x01 (3.1.1 form),
    then close [MQTT-3.1.2-2]."""
    c = raw(5)
    c.send(m.connect("c1", version=5, level=6))
    p = c.expect(m.CONNACK)
    assert p.reason in (0x84, 0x01) and p.session_present == 0, p
    c.expect_closed()


@VERSIONS
def test_bad_protocol_name(raw, v, assert_alive):
    """An unknown protocol name is not processed as MQTT: the server closes, possibly after
    a refusing CONNACK [MQTT-3.1.2-1]."""
    c = raw(v)
    c.send(m.connect("c1", version=v, protocol_name="MQTX"))
    expect_refused_or_closed(c, (0x01, 0x84))
    assert_alive()


@VERSIONS
def test_reserved_connect_flag(raw, v, assert_alive):
    """The reserved CONNECT flag set: close without CONNACK [MQTT-3.1.2-3]."""
    c = raw(v)
    c.send(m.connect("c1", version=v, flags_or=0x01))
    c.expect_closed()
    assert_alive()


def test_empty_client_id_v5_assigned(raw):
    """MQTT 5, empty client id: accepted with an Assigned Client Identifier [MQTT-3.2.2-16]."""
    p = raw(5).connect("")
    assert p.reason == 0
    assert p.props.get("assigned_client_id"), "no Assigned Client Identifier in %r" % p


def test_empty_client_id_v311_clean(raw):
    """3.1.1, empty client id with Clean Session 1: accepted [MQTT-3.1.3-6]."""
    assert raw(4).connect("", clean=True).raw == b"\x20\x02\x00\x00"


def test_empty_client_id_v311_persistent(raw):
    """3.1.1, empty client id with Clean Session 0: CONNACK 0x02 (identifier rejected), then
    close [MQTT-3.1.3-8]."""
    c = raw(4)
    assert c.connect("", clean=False).raw == b"\x20\x02\x00\x02"
    c.expect_closed()


@VERSIONS
@pytest.mark.broker_conf({"mqtt.max_clientid_len": 23})
def test_max_clientid_len(raw, v):
    """A client id longer than mqtt.max_clientid_len is refused: v5 0x85 (client identifier
    not valid), 3.1.1 0x02 (identifier rejected), then close; one at the limit is accepted."""
    assert raw(v).connect("x" * 23).reason == 0
    c = raw(v)
    assert c.connect("y" * 24).reason == (0x85 if v == 5 else 0x02)
    c.expect_closed()


@VERSIONS
def test_keepalive_timeout(mqtt, v, expect_dropped):
    """A client silent for 1.5x its Keep Alive is disconnected [MQTT-3.1.2-24]; an MQTT 5
    client gets DISCONNECT 0x8D (keep alive timeout) first."""
    c = mqtt("ka", v, keepalive=1)
    expect_dropped(c, 0x8D, timeout=1.5 + 8)


@VERSIONS
def test_keepalive_kept_by_pings(mqtt, v):
    """PINGREQs within the Keep Alive keep the connection; each gets a PINGRESP
    [MQTT-3.12.4-1]."""
    c = mqtt("ka", v, keepalive=1)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        c.ping()
        time.sleep(0.4)
    c.ping()


@pytest.mark.broker_conf({"mqtt.server_keepalive": 10})
def test_server_keepalive_in_connack(raw):
    """mqtt.server_keepalive is sent to MQTT 5 clients as Server Keep Alive in CONNACK
    [MQTT-3.2.2-21]."""
    assert raw(5).connect("c1", keepalive=60).props.get("server_keepalive") == 10


@pytest.mark.starling_only("mosquitto's max_keepalive cannot be set below 10 s")
@pytest.mark.broker_conf({"mqtt.server_keepalive": 1})
def test_server_keepalive_enforced(raw, expect_dropped):
    """The server enforces its own Server Keep Alive (1.5x) rather than the client's."""
    c = raw(5)
    assert c.connect("c1", keepalive=60).props.get("server_keepalive") == 1
    expect_dropped(c, 0x8D, timeout=1.5 + 8)


@pytest.mark.broker_conf({"mqtt.idle_timeout": "1s"})
def test_idle_timeout_without_connect(raw, assert_alive):
    """A socket that never sends CONNECT is closed after mqtt.idle_timeout."""
    raw(4).expect_closed(timeout=1 + 5)
    assert_alive()


@VERSIONS
def test_second_connect(mqtt, v, expect_dropped, assert_alive):
    """A second CONNECT on a connection is a protocol error: close [MQTT-3.1.0-2]; an
    MQTT 5 client gets DISCONNECT 0x82 first."""
    c = mqtt("c1", v)
    c.send(m.connect("c1", version=v))
    expect_dropped(c, 0x82)
    assert_alive()
