"""PUBLISH at QoS 0/1/2 in both directions, the acknowledgement flows, flow control."""

import subprocess

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


@pytest.mark.parametrize("proto", ["mqttv311", "mqttv5"])
def test_readme_smoke(broker, proto):
    """The README flow: `mosquitto_sub -t 'a/#' -v` prints `a/b hi` after
    `mosquitto_pub -t a/b -m hi`. mosquitto_sub cannot say when its subscription is in
    place, so the publish repeats until the subscriber has its one message (-C 1)."""
    common = ["-h", broker.host, "-p", str(broker.port), "-V", proto]
    sub = subprocess.Popen(["mosquitto_sub", *common, "-t", "a/#", "-v", "-C", "1", "-W", "10"],
                           stdout=subprocess.PIPE, text=True)
    try:
        while sub.poll() is None:
            subprocess.run(["mosquitto_pub", *common, "-t", "a/b", "-m", "hi"], check=True,
                           timeout=10)
            try:
                sub.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
        out = sub.stdout.read()
    finally:
        sub.kill()
    assert sub.returncode == 0 and out.splitlines() == ["a/b hi"], (sub.returncode, out)


@pytest.mark.parametrize("v", [3, 4, 5], ids=["v31", "v311", "v5"])
def test_qos0_paho(paho_client, v):
    """A QoS 0 message reaches a subscriber (paho on both sides)."""
    sub = paho_client("sub", version=v)
    sub.subscribe("t/1", 0)
    paho_client("pub", version=v).publish("t/1", b"hello", 0)
    msg = sub.get()
    assert (msg.topic, msg.payload, msg.qos) == ("t/1", b"hello", 0)


@VERSIONS
def test_delivered_qos_is_minimum(mqtt, v):
    """Delivered QoS = min(published QoS, granted QoS) [MQTT-3.8.4-6 (3.1.1) / MQTT-3.8.4-8]."""
    sub = mqtt("sub", v)
    assert sub.subscribe([("q/0", 0), ("q/1", 1), ("q/2", 2)]).reasons == [0, 1, 2]
    pub = mqtt("pub", v)
    for sq in range(3):
        for pq in range(3):
            pub.publish("q/%d" % sq, "%d%d" % (sq, pq), qos=pq)
            p = sub.expect_publish()
            assert (p.topic, p.payload, p.qos) == ("q/%d" % sq, b"%d%d" % (sq, pq), min(sq, pq))


def test_qos1_puback_bytes(mqtt):
    """A QoS 1 PUBLISH is answered by PUBACK with its Packet Identifier: 40 02 00 07
    [MQTT-4.3.2-4 (3.1.1: MQTT-4.3.2-2)]."""
    c = mqtt("pub", 4)
    c.send(m.publish("t", b"x", qos=1, packet_id=7))
    assert c.expect(m.PUBACK).raw == b"\x40\x02\x00\x07"


def test_qos2_inbound_flow_bytes(mqtt):
    """QoS 2 from a client: PUBREC 50 02 00 09, then after PUBREL, PUBCOMP 70 02 00 09
    [MQTT-4.3.3-8, MQTT-4.3.3-11 (3.1.1: MQTT-4.3.3-2)]."""
    c = mqtt("pub", 4)
    c.send(m.publish("t", b"x", qos=2, packet_id=9))
    assert c.expect(m.PUBREC).raw == b"\x50\x02\x00\x09"
    c.send(m.ack(m.PUBREL, 9))
    assert c.expect(m.PUBCOMP).raw == b"\x70\x02\x00\x09"


@VERSIONS
def test_qos2_duplicate_publish_delivered_once(mqtt, v):
    """A QoS 2 PUBLISH sent again (DUP) with the same Packet Identifier before PUBREL is
    acknowledged with PUBREC again and not delivered twice [MQTT-4.3.3-10 (3.1.1: 4.3.3-2)]."""
    sub = mqtt("sub", v)
    sub.subscribe([("t", 2)])
    pub = mqtt("pub", v)
    pub.send(m.publish("t", b"once", qos=2, packet_id=5, version=v))
    assert pub.expect(m.PUBREC).packet_id == 5
    pub.send(m.publish("t", b"once", qos=2, dup=True, packet_id=5, version=v))
    assert pub.expect(m.PUBREC).packet_id == 5
    pub.send(m.ack(m.PUBREL, 5, version=v))
    assert pub.expect(m.PUBCOMP).packet_id == 5
    pub.publish("t", b"marker", qos=0)
    assert sub.expect_publish().payload == b"once"
    assert sub.expect_publish().payload == b"marker"


@VERSIONS
def test_qos2_outbound_flow(mqtt, v):
    """QoS 2 to a subscriber: PUBLISH, client PUBREC, server PUBREL with the same id, client
    PUBCOMP [MQTT-4.3.3-3, MQTT-4.3.3-4]; the next message flows after that."""
    sub = mqtt("sub", v)
    sub.subscribe([("t", 2)])
    pub = mqtt("pub", v)
    pub.publish("t", b"one", qos=2)
    p = sub.expect(m.PUBLISH)
    assert (p.qos, p.dup, p.payload) == (2, 0, b"one") and p.packet_id
    sub.send(m.ack(m.PUBREC, p.packet_id, version=v))
    assert sub.expect(m.PUBREL).packet_id == p.packet_id
    sub.send(m.ack(m.PUBCOMP, p.packet_id, version=v))
    pub.publish("t", b"two", qos=2)
    assert sub.expect_publish().payload == b"two"


def check_inflight_window(sub, pub, window, total=6):
    """Publish `total` QoS 1 messages; the subscriber acks only when it holds `window`
    unacknowledged ones and checks nothing more arrives meanwhile."""
    for i in range(total):
        pub.publish("t", str(i), qos=1)
    unacked, got = [], []
    while len(got) < total:
        if len(unacked) == window:
            sub.expect_nothing(0.5)  # the window is full: nothing more may arrive
            sub.send(m.ack(m.PUBACK, unacked.pop(0), version=sub.version))
            continue
        p = sub.expect(m.PUBLISH)
        unacked.append(p.packet_id)
        got.append(p.payload)
    assert got == [str(i).encode() for i in range(total)]


@pytest.mark.mosquitto_xfail("2.0.11 sends two queued messages per PUBACK once the window is full")
def test_client_receive_maximum(mqtt):
    """The server never has more unacknowledged QoS 1 messages in flight to a client than
    the client's Receive Maximum [MQTT-3.3.4-9]."""
    sub = mqtt("sub", 5, properties={"receive_max": 2})
    sub.subscribe([("t", 1)])
    check_inflight_window(sub, mqtt("pub", 5), window=2)


@pytest.mark.mosquitto_xfail("2.0.11 sends two queued messages per PUBACK once the window is full")
@pytest.mark.broker_conf({"mqtt.max_inflight": 2})
def test_max_inflight(mqtt):
    """mqtt.max_inflight bounds the unacknowledged QoS 1 messages in flight to a client."""
    sub = mqtt("sub", 4)
    sub.subscribe([("t", 1)])
    check_inflight_window(sub, mqtt("pub", 4), window=2)


@pytest.mark.broker_conf({"mqtt.max_awaiting_rel": 2})
def test_client_exceeds_receive_maximum(mqtt, expect_dropped, assert_alive):
    """More QoS 2 PUBLISHes awaiting PUBREL than the server accepts (mqtt.max_awaiting_rel):
    DISCONNECT 0x93 (receive maximum exceeded), as EMQX [MQTT 5 §3.3.4]."""
    c = mqtt("pub", 5)
    for pid in (1, 2):
        c.send(m.publish("t", b"x", qos=2, packet_id=pid, version=5))
        assert c.expect(m.PUBREC).packet_id == pid
    c.send(m.publish("t", b"x", qos=2, packet_id=3, version=5))
    expect_dropped(c, 0x93)
    assert_alive()


def test_large_qos0_stream_all_delivered(mqtt):
    """QoS 0 messages that overflow a subscriber's output buffer (10 MB at once) wait in
    its session queue and all follow once the socket drains. (A regression: when the buffer
    emptied outside a writable event the queue was never pumped again.)"""
    sub = mqtt("bigsub", 4)
    sub.subscribe([("big", 0)])
    pub = mqtt("bigpub", 4)
    payload = b"x" * 50000
    n = 200
    pub.send(b"".join(m.publish("big", payload + b"%d" % i) for i in range(n)))
    pub.ping()
    got = [sub.expect(m.PUBLISH, 10).payload for _ in range(n)]
    assert got == [payload + b"%d" % i for i in range(n)]


@pytest.mark.starling_only("mosquitto 2.0 has no retry_interval")
@pytest.mark.broker_conf({"mqtt.retry_interval": "1s"})
def test_retry_interval_v311(mqtt):
    """mqtt.retry_interval: an MQTT 3.1.1 QoS 1 message not acknowledged in time is sent
    again, with DUP and the same Packet Identifier, while the client stays connected."""
    sub = mqtt("sub", 4)
    sub.subscribe([("t", 1)])
    mqtt("pub", 4).publish("t", b"again", qos=1)
    first = sub.expect(m.PUBLISH)
    assert (first.payload, first.dup) == (b"again", 0)
    again = sub.expect(m.PUBLISH, 5)
    assert (again.payload, again.dup, again.packet_id) == (b"again", 1, first.packet_id)
    sub.send(m.ack(m.PUBACK, first.packet_id))
    sub.expect_nothing(1.5)


@pytest.mark.broker_conf({"mqtt.retry_interval": "1s"})
def test_no_retry_while_connected_v5(mqtt):
    """MQTT 5 forbids resending while the connection is up [MQTT-4.4.0-1]: retry_interval
    does not apply; the resend happens on reconnect."""
    sub = mqtt("sub5", 5, clean=False, properties={"session_expiry": 60})
    sub.subscribe([("t", 1)])
    mqtt("pub", 5).publish("t", b"once", qos=1)
    first = sub.expect(m.PUBLISH)
    sub.expect_nothing(2.0)
    sub.close()
    back = mqtt("sub5", 5, clean=False, properties={"session_expiry": 60})
    again = back.expect(m.PUBLISH)
    assert (again.payload, again.dup, again.packet_id) == (b"once", 1, first.packet_id)


@pytest.mark.starling_only("EMQX's await_rel_timeout")
@pytest.mark.broker_conf({"mqtt.await_rel_timeout": "1s"})
def test_await_rel_timeout(mqtt):
    """mqtt.await_rel_timeout: a QoS 2 Packet Identifier whose PUBREL never came is
    forgotten after the timeout, so a new PUBLISH with that id is a new message (before the
    timeout it is a duplicate and not delivered)."""
    sub = mqtt("sub", 4)
    sub.subscribe([("t", 2)])
    pub = mqtt("pub", 4)
    pub.send(m.publish("t", b"first", qos=2, packet_id=9))
    assert pub.expect(m.PUBREC).packet_id == 9
    assert sub.expect_publish().payload == b"first"
    pub.send(m.publish("t", b"dup", qos=2, packet_id=9))  # still awaiting PUBREL: duplicate
    assert pub.expect(m.PUBREC).packet_id == 9
    sub.expect_nothing(2.5)  # and the id expires meanwhile
    pub.send(m.publish("t", b"second", qos=2, packet_id=9))
    assert pub.expect(m.PUBREC).packet_id == 9
    assert sub.expect_publish().payload == b"second"
