"""The PROXY protocol on MQTT listeners (listeners.tcp.<name>.proxy_protocol, as in EMQX): a
load balancer puts a v1 or v2 header before the client's bytes, and the broker takes the
client's address from it (what it logs). Tested with raw headers and with a real haproxy
(send-proxy-v2) in front."""

import re
import socket
import struct
import time

import pytest

import mqttraw as m
from conftest import PahoClient
from haproxylib import start_haproxy, stop_haproxy

pytestmark = pytest.mark.starling_only("the PROXY protocol")

PROXY = {"listeners.tcp.default.proxy_protocol": True}


def wait_log(b, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while not re.search(pattern, b.log()):
        assert time.monotonic() < deadline, "no %r in the log:\n%s" % (pattern, b.log()[-2000:])
        time.sleep(0.05)


def v2_header(src, sport, dst, dport):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport)
    tlv = b"\x04\x00\x01\x00"  # a NOOP TLV, skipped
    return sig + b"\x21\x11" + struct.pack(">H", len(addrs) + len(tlv)) + addrs + tlv


@pytest.mark.broker_conf(PROXY)
@pytest.mark.parametrize("version", [1, 2])
def test_header_gives_the_client_address(broker, version):
    """A v1 line or a v2 header, then CONNECT in the same segment: CONNACK, and the client
    is logged with the address the header gave, not the socket's."""
    c = m.Conn(broker.port)
    if version == 1:
        hdr = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 1883\r\n"
    else:
        hdr = v2_header("192.0.2.8", 40000, "198.51.100.1", 1883)
    c.send(hdr + m.connect("pp%d" % version))
    assert c.expect(m.CONNACK).reason == 0
    addr = "192.0.2.7:56324" if version == 1 else "192.0.2.8:40000"
    wait_log(broker, r"client pp%d \(%s\) connected" % (version, re.escape(addr)))
    c.send(m.subscribe(1, [("pp/t", 1)]))
    c.expect(m.SUBACK)
    c.close()


@pytest.mark.broker_conf(PROXY)
def test_header_in_pieces(broker):
    """The header may arrive a few bytes at a time (a slow balancer): it is read whole."""
    c = m.Conn(broker.port)
    data = b"PROXY TCP6 2001:db8::5 ::1 4242 1883\r\n" + m.connect("slow")
    for i in range(0, len(data), 7):
        c.send(data[i:i + 7])
        time.sleep(0.01)
    assert c.expect(m.CONNACK).reason == 0
    wait_log(broker, r"client slow \(\[2001:db8::5\]:4242\) connected")
    c.close()


@pytest.mark.broker_conf(PROXY)
def test_no_header_is_refused(broker):
    """A client talking MQTT straight to a listener that expects a load balancer is closed
    with a log line (its CONNECT is never read as a header, nor the other way round); a
    garbage v1 line likewise."""
    c = m.Conn(broker.port)
    c.send(m.connect("direct"))
    c.expect_closed()
    wait_log(broker, r"no valid PROXY protocol header, closing")
    c = m.Conn(broker.port)
    c.send(b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1883\r\n" + m.connect("bad"))
    c.expect_closed()


@pytest.mark.broker_conf(dict(PROXY, **{"listeners.tcp.default.proxy_protocol_timeout": "500ms"}))
def test_header_timeout(broker):
    """A connection that sends nothing is closed after proxy_protocol_timeout."""
    c = m.Conn(broker.port)
    c.expect_closed(timeout=10)
    wait_log(broker, r"sent no PROXY protocol header in time")


@pytest.fixture
def haproxy(broker, tmp_path):
    """haproxy in TCP mode on 127.0.0.5:<port>, sending PROXY v2 to the broker."""
    p, port = start_haproxy(tmp_path, "127.0.0.5",
                            "    server s1 127.0.0.1:%d send-proxy-v2" % broker.port)
    yield port
    stop_haproxy(p)


@pytest.mark.broker_conf(PROXY)
def test_behind_haproxy(broker, haproxy):
    """paho, from 127.0.0.6, through a real haproxy (send-proxy-v2): the broker logs the
    client's own address (127.0.0.6:<its port>), not haproxy's, and pub/sub works."""
    sub = PahoClient(haproxy, "behind", host="127.0.0.5", bind_address="127.0.0.6")
    sub.subscribe("hp/#", qos=1)
    wait_log(broker, r"client behind \(127\.0\.0\.6:\d+\) connected")
    pub = PahoClient(haproxy, "pub", host="127.0.0.5", bind_address="127.0.0.6")
    pub.publish("hp/1", b"through haproxy", qos=1)
    assert sub.get().payload == b"through haproxy"
    sub.close()
    pub.close()
