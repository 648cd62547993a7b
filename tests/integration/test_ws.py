"""MQTT over WebSocket and secure WebSocket (listeners.ws, listeners.wss,
docs/transports.md): paho's websockets transport beside plain TCP clients, and a raw
client that checks the handshake (RFC 6455's example key), frames that split and join MQTT
packets, ping, close, and the refusals: another path (404), a request that is not an
upgrade (400), an unmasked or a text frame (closed with 1002 / 1003)."""

import os
import socket
import struct
import time

import pytest

from conftest import PahoClient, free_port, self_signed

pytestmark = pytest.mark.starling_only("Starling's WebSocket listener")


def ws_broker(broker_factory, tmp_path=None, wss_certs=None, **conf):
    port = free_port()
    c = {"listeners.ws.default.bind": "127.0.0.1:%d" % port}
    if wss_certs:
        c = {"listeners.wss.default.bind": "127.0.0.1:%d" % port,
             "listeners.wss.default.ssl_options.certfile": wss_certs[0],
             "listeners.wss.default.ssl_options.keyfile": wss_certs[1]}
    c.update(conf)
    b = broker_factory(c).start()
    b.ws_port = port
    return b


def paho_ws(port, cid, tls=None, version=5, host=None, clean=True, expiry=0):
    """A paho client over WebSocket on /mqtt (session expiry in seconds, MQTT 5)."""
    import paho.mqtt.client as paho
    import queue
    c = paho.Client(client_id=cid, protocol=paho.MQTTv5 if version == 5 else paho.MQTTv311,
                    transport="websockets")
    c.ws_set_options(path="/mqtt")
    if tls:
        c.tls_set(ca_certs=tls)
    got, acks = queue.Queue(), queue.Queue()
    c.on_message = lambda cl, u, m: got.put(m)
    c.on_connect = lambda cl, u, f, rc, p=None: acks.put((f, rc))
    import paho.mqtt.properties as props
    import paho.mqtt.packettypes as pt
    pr = props.Properties(pt.PacketTypes.CONNECT)
    pr.SessionExpiryInterval = expiry
    c.connect(host or ("127.0.0.1" if not tls else "localhost"), port, 60, clean_start=clean,
              properties=pr)
    c.loop_start()
    flags, rc = acks.get(timeout=10)
    assert rc == 0
    c.got, c.session_present = got, flags.get("session present")
    return c


def handshake(port, path="/mqtt", key="dGhlIHNhbXBsZSBub25jZQ==", extra="",
              proto="Sec-WebSocket-Protocol: mqtt\r\n"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "%s%s\r\n" % (path, key, proto, extra)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, "closed during the handshake: %r" % head
        head += chunk
    return s, head.decode("latin-1")


def frame(payload, op=2, mask=True, fin=True):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    if n < 126:
        h = bytes([b0, (0x80 if mask else 0) | n])
    else:
        h = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    if not mask:
        return h + payload
    k = os.urandom(4)
    return h + k + bytes(c ^ k[i % 4] for i, c in enumerate(payload))


def read_frame(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
    h = exact(2)
    if h is None:
        return None
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", exact(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", exact(8))[0]
    assert not h[1] & 0x80, "a server frame must not be masked"
    return h[0] & 0x0F, exact(n)


def connect_packet(cid):
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid.encode()
    return bytes([0x10, len(body)]) + body


def test_the_handshake_answers_as_rfc6455_says(broker_factory):
    b = ws_broker(broker_factory)
    s, head = handshake(b.ws_port)
    assert head.startswith("HTTP/1.1 101"), head
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, head  # RFC 6455 §1.3
    assert "Sec-WebSocket-Protocol: mqtt" in head, head
    s.close()


def test_paho_over_websocket_and_a_tcp_client_see_each_other(broker_factory):
    b = ws_broker(broker_factory)
    ws = paho_ws(b.ws_port, "ws-client")
    ws.subscribe("w/#", qos=1)
    tcp = PahoClient(b.port, "tcp-client")
    assert tcp.subscribe("w/#", qos=1) == [1]
    # the WS client's SUBACK is in before the first message it publishes comes back to it
    ws.publish("w/from-ws", b"hello", qos=1).wait_for_publish(10)
    assert ws.got.get(timeout=10).payload == b"hello"
    assert tcp.get().payload == b"hello"
    for i in range(100):  # many packets, large and small, in whatever frames paho makes
        tcp.publish("w/%d" % i, os.urandom(i * 300), qos=1)
    for i in range(100):
        m = ws.got.get(timeout=10)
        assert (m.topic, len(m.payload)) == ("w/%d" % i, i * 300)
    ws.loop_stop()
    ws.disconnect()
    tcp.close()


def test_packets_split_over_frames_and_frames_carrying_several(broker_factory):
    """A CONNECT cut into three frames, then SUBSCRIBE and PINGREQ in one frame; a ping
    frame is answered with a pong carrying its data."""
    b = ws_broker(broker_factory)
    s, head = handshake(b.ws_port)
    assert head.startswith("HTTP/1.1 101")
    pkt = connect_packet("raw-ws")
    s.sendall(frame(pkt[:3], fin=False) + frame(pkt[3:9], op=0, fin=False) +
              frame(pkt[9:], op=0))
    assert read_frame(s) == (2, b"\x20\x02\x00\x00")  # CONNACK
    sub = b"\x82\x08\x00\x01\x00\x03a/b\x00"
    s.sendall(frame(sub + b"\xc0\x00"))
    got = b""
    while len(got) < 7:
        op, data = read_frame(s)
        assert op == 2
        got += data
    assert got == b"\x90\x03\x00\x01\x00" + b"\xd0\x00"  # SUBACK, PINGRESP
    s.sendall(frame(b"are you there", op=9))
    assert read_frame(s) == (0xA, b"are you there")
    s.sendall(frame(b"\x03\xe8", op=8))  # close, 1000
    op, data = read_frame(s)
    assert op == 8 and data[:2] == b"\x03\xe8"
    assert read_frame(s) is None  # and the connection ends
    s.close()


def test_another_path_gets_404(broker_factory):
    b = ws_broker(broker_factory)
    s, head = handshake(b.ws_port, path="/other")
    assert head.startswith("HTTP/1.1 404"), head
    s.close()
    s, head = handshake(b.ws_port, path="/mqtt")  # the listener serves on
    assert head.startswith("HTTP/1.1 101"), head
    s.close()


def test_a_request_that_is_not_an_upgrade_gets_400(broker_factory):
    b = ws_broker(broker_factory)
    s = socket.create_connection(("127.0.0.1", b.ws_port), timeout=10)
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    assert head.startswith(b"HTTP/1.1 400"), head
    s.close()


@pytest.mark.parametrize("bad,code", [
    (frame(connect_packet("x"), mask=False), 1002),  # clients must mask
    (frame(b"hello", op=1), 1003),                    # MQTT is binary, not text
])
def test_bad_frames_close_the_connection_with_a_code(broker_factory, bad, code):
    b = ws_broker(broker_factory)
    s, head = handshake(b.ws_port)
    s.sendall(bad)
    op, data = read_frame(s)
    assert op == 8 and struct.unpack(">H", data[:2])[0] == code
    assert read_frame(s) is None
    s.close()


def test_secure_websocket(broker_factory, tmp_path):
    cert, key = self_signed(tmp_path, san="DNS:localhost")
    b = ws_broker(broker_factory, wss_certs=(cert, key))
    ws = paho_ws(b.ws_port, "wss-client", tls=cert)
    ws.subscribe("s/#", qos=1)
    tcp = PahoClient(b.port, "tcp-pub")
    ws.publish("s/ready", b"1", qos=1).wait_for_publish(10)
    assert ws.got.get(timeout=10).payload == b"1"
    for i in range(50):
        tcp.publish("s/%d" % i, b"y" * (i * 1000), qos=1)
    for i in range(50):
        m = ws.got.get(timeout=10)
        assert (m.topic, len(m.payload)) == ("s/%d" % i, i * 1000)
    ws.loop_stop()
    ws.disconnect()
    tcp.close()


def test_a_session_moves_from_tcp_to_secure_websocket(broker_factory, tmp_path):
    """A persistent session made over TCP is resumed over WSS: session present, and what
    was queued while it was away is delivered."""
    cert, key = self_signed(tmp_path, san="DNS:localhost")
    b = ws_broker(broker_factory, wss_certs=(cert, key))
    import paho.mqtt.properties as props
    import paho.mqtt.packettypes as pt
    pr = props.Properties(pt.PacketTypes.CONNECT)
    pr.SessionExpiryInterval = 300
    keeper = PahoClient(b.port, "keeper", clean=False, properties=pr)
    assert keeper.subscribe("q/#", qos=1) == [1]
    keeper.close()
    pub = PahoClient(b.port, "pub")
    pub.publish("q/while-away", b"kept", qos=1)
    pub.close()
    ws = paho_ws(b.ws_port, "keeper", tls=cert, clean=False, expiry=300)
    assert ws.session_present
    assert ws.got.get(timeout=10).payload == b"kept"
    ws.loop_stop()
    ws.disconnect()


def test_tls_ws_and_tcp_clients_on_three_nodes(broker_factory, tmp_path):
    """A client on TLS, one on WebSocket and one on TCP, each on another node of a cluster,
    all receive what each of them publishes."""
    from clusterlib import Cluster, wait_status
    cert, key = self_signed(tmp_path, san="IP:127.0.0.2")
    cl = Cluster(broker_factory, 3)
    seeds = [0, 1, 2]
    nodes = [cl.node(i, seeds=seeds) for i in range(3)]
    tls_port, ws_port = free_port(), free_port()
    nodes[0].conf.update({"listeners.ssl.default.bind": "127.0.0.2:%d" % tls_port,
                          "listeners.ssl.default.ssl_options.certfile": cert,
                          "listeners.ssl.default.ssl_options.keyfile": key})
    nodes[1].conf["listeners.ws.default.bind"] = "127.0.0.3:%d" % ws_port
    for n in nodes:
        n.start()
    names = [cl.name(i) for i in range(3)]
    for n in nodes:
        wait_status(n, names, timeout=30)
    c_tls = PahoClient(tls_port, "c-tls", host="127.0.0.2", tls={"ca_certs": cert})
    c_ws = paho_ws(ws_port, "c-ws", host="127.0.0.3")
    c_tcp = PahoClient(nodes[2].port, "c-tcp", host=nodes[2].host)
    assert c_tls.subscribe("x/#", qos=1) == [1]
    c_ws.subscribe("x/#", qos=1)
    assert c_tcp.subscribe("x/#", qos=1) == [1]
    c_ws.publish("x/ws", b"from-ws", qos=1).wait_for_publish(10)
    assert c_ws.got.get(timeout=10).payload == b"from-ws"  # its own SUBACK is in by then
    c_tls.publish("x/tls", b"from-tls", qos=1)
    c_tcp.publish("x/tcp", b"from-tcp", qos=1)
    want = {b"from-ws", b"from-tls", b"from-tcp"}
    assert {c_tls.get(timeout=10).payload for _ in range(3)} == want
    assert {c_tcp.get(timeout=10).payload for _ in range(3)} == want
    assert {c_ws.got.get(timeout=10).payload for _ in range(2)} == want - {b"from-ws"}
    for c in (c_tls, c_tcp):
        c.close()
    c_ws.loop_stop()
    c_ws.disconnect()


def test_the_client_address_behind_a_reverse_proxy(broker_factory):
    """websocket.proxy_address_header / proxy_port_header (EMQX's X-Forwarded-For and
    X-Forwarded-Port by default): the client's address is the first one of the header."""
    b = ws_broker(broker_factory)
    s, head = handshake(b.ws_port, extra="X-Forwarded-For: 203.0.113.9, 10.0.0.1\r\n"
                                         "X-Forwarded-Port: 51000\r\n")
    assert head.startswith("HTTP/1.1 101"), head
    s.sendall(frame(connect_packet("behind-proxy")))
    assert read_frame(s) == (2, b"\x20\x02\x00\x00")
    deadline = time.monotonic() + 10
    while "203.0.113.9:51000" not in b.log():
        assert time.monotonic() < deadline, b.log()[-2000:]
        time.sleep(0.05)
    s.close()


def test_a_proxy_protocol_header_before_the_upgrade(broker_factory):
    """listeners.ws.<name>.proxy_protocol: haproxy's PROXY v1 line comes before the HTTP
    upgrade request, and the client is known by the address it gives; a connection
    without it is closed."""
    b = ws_broker(broker_factory, **{"listeners.ws.default.proxy_protocol": True,
                                     "listeners.ws.default.websocket.proxy_address_header": ""})
    s = socket.create_connection(("127.0.0.1", b.ws_port), timeout=10)
    s.sendall(b"PROXY TCP4 198.51.100.23 192.0.2.1 40123 8083\r\n"
              b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    s.sendall(frame(connect_packet("via-haproxy")))
    assert read_frame(s) == (2, b"\x20\x02\x00\x00")
    deadline = time.monotonic() + 10
    while "via-haproxy (198.51.100.23:40123)" not in b.log():
        assert time.monotonic() < deadline, b.log()[-2000:]
        time.sleep(0.05)
    s.close()
    bare = socket.create_connection(("127.0.0.1", b.ws_port), timeout=10)
    bare.sendall(b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\n\r\n")  # no PROXY line
    try:
        assert bare.recv(4096) == b""  # closed, no answer
    except ConnectionResetError:
        pass
    bare.close()


def test_the_api_lists_every_listener_with_its_connections(broker_factory, tmp_path):
    """GET /api/v5/listeners (EMQX's shape): tcp, ssl, ws and wss listeners, each with the
    connections it has now."""
    import json
    import urllib.request
    cert, key = self_signed(tmp_path)
    ports = {t: free_port() for t in ("ssl", "ws", "wss")}
    conf = {"listeners.%s.default.bind" % t: "127.0.0.1:%d" % p for t, p in ports.items()}
    for t in ("ssl", "wss"):
        conf["listeners.%s.default.ssl_options.certfile" % t] = cert
        conf["listeners.%s.default.ssl_options.keyfile" % t] = key
    conf["listeners.ws.default.max_connections"] = 100
    b = broker_factory(conf).start()
    ws = paho_ws(ports["ws"], "counted")

    def listeners():
        url = "http://127.0.0.1:%d/api/v5/listeners" % b.api_port
        with urllib.request.urlopen(url, timeout=5) as r:
            return {x["id"]: x for x in json.loads(r.read())}
    deadline = time.monotonic() + 10
    while True:
        try:
            got = listeners()
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert set(got) == {"tcp:default", "ssl:default", "ws:default", "wss:default"}, got
    assert got["ws:default"]["bind"] == "127.0.0.1:%d" % ports["ws"]
    assert got["ws:default"]["status"]["current_connections"] == 1, got["ws:default"]
    assert got["ws:default"]["status"]["max_connections"] == 100
    assert got["tcp:default"]["status"]["max_connections"] == "infinity"
    assert got["ssl:default"]["status"]["current_connections"] == 0
    assert got["wss:default"]["node_status"][0]["node"]
    ws.loop_stop()
    ws.disconnect()


@pytest.mark.starling_only("Starling's cluster")
def test_the_listener_list_covers_every_node(broker_factory):
    """GET /api/v5/listeners on any node asks the others (ASK / ANSWER on the control
    links): node_status has each running node's connections, status sums them, and a node
    that stops drops out of the list."""
    import json
    import urllib.request
    from clusterlib import Cluster, wait_status
    cl = Cluster(broker_factory, 2)
    nodes = [cl.node(i, seeds=(0, 1)).start() for i in range(2)]
    names = [cl.name(0), cl.name(1)]
    for n in nodes:
        wait_status(n, names, timeout=30)
    clients = [PahoClient(nodes[0].port, "a%d" % i, host=nodes[0].host) for i in range(2)]
    clients.append(PahoClient(nodes[1].port, "b0", host=nodes[1].host))

    def tcp_default(b):
        url = "http://%s:%d/api/v5/listeners" % (b.host, b.api_port)
        with urllib.request.urlopen(url, timeout=10) as r:
            return {x["id"]: x for x in json.loads(r.read())}["tcp:default"]
    def per_node(got):
        return {x["node"]: x["status"]["current_connections"] for x in got["node_status"]}
    # read once the counts settle (under the sanitizer build one read said 2 for the node
    # with one client: connections still being opened or closed are counted)
    deadline = time.monotonic() + 30
    got = tcp_default(nodes[1])
    while per_node(got) != {names[0]: 2, names[1]: 1} and time.monotonic() < deadline:
        time.sleep(0.2)
        got = tcp_default(nodes[1])
    assert per_node(got) == {names[0]: 2, names[1]: 1}, got
    assert [x["node"] for x in got["node_status"]] == [names[1], names[0]]  # asked node first
    assert got["number"] == 2 and got["status"]["current_connections"] == 3, got
    for c in clients:
        c.close()
    nodes[0].stop()
    wait_status(nodes[1], [names[1]], stopped=[names[0]], timeout=30)
    got = tcp_default(nodes[1])
    assert [x["node"] for x in got["node_status"]] == [names[1]], got
    assert got["number"] == 1, got


def test_max_connections_holds_on_a_websocket_listener(broker_factory):
    """listeners.ws.<name>.max_connections, as on TCP: past it a connection is refused."""
    import json
    import urllib.request
    b = ws_broker(broker_factory, **{"listeners.ws.default.max_connections": 1})

    def ws_conns():
        url = "http://127.0.0.1:%d/api/v5/listeners" % b.api_port
        with urllib.request.urlopen(url, timeout=5) as r:
            return {x["id"]: x for x in json.loads(r.read())}["ws:default"]["status"][
                "current_connections"]
    deadline = time.monotonic() + 10
    while True:  # the test harness's own port check has been let go
        try:
            if ws_conns() == 0:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first = paho_ws(b.ws_port, "first")
    try:  # refused at once, before any upgrade: closed, or reset while connecting
        s = socket.create_connection(("127.0.0.1", b.ws_port), timeout=10)
        assert s.recv(64) == b""
        s.close()
    except ConnectionResetError:
        pass
    first.publish("still/here", b"1", qos=1).wait_for_publish(10)
    first.loop_stop()
    first.disconnect()


def test_a_protocol_error_inside_a_frame_closes_the_connection(broker_factory):
    """A PUBLISH before CONNECT, in a frame with more frames behind it: the connection is
    closed (the frames left are not read), and the broker serves the next one."""
    b = ws_broker(broker_factory)
    s, head = handshake(b.ws_port)
    assert head.startswith("HTTP/1.1 101")
    publish = b"\x30\x05\x00\x01a" + b"xy"
    s.sendall(frame(publish) + frame(connect_packet("never")))
    frames = []
    try:
        while (f := read_frame(s)) is not None:
            frames.append(f)
    except ConnectionResetError:
        pass
    assert all(op == 8 for op, _ in frames), frames  # no CONNACK: a close frame at most
    s.close()
    ok = paho_ws(b.ws_port, "next")
    ok.loop_stop()
    ok.disconnect()
