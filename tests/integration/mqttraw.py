"""mqttraw — byte-exact MQTT 3.1 / 3.1.1 / 5.0 over a plain socket, for tests.

Encoders return the exact bytes of one packet and never validate, so a test can build
malformed input on purpose. `decode()` turns any packet a server sends into a `Packet`.
`Conn` is a blocking client connection with bounded waits: `expect(type)`,
`expect_closed()`, `expect_disconnect(reason)` and `expect_nothing()` fail with a message
that says what arrived instead.

Properties are written as a dict {name: value} (a list of (key, value) pairs for "user"),
or as a list of (name, value) pairs when order or duplicates matter. Names are those of
PROPS below. Strings may be given as bytes to send them unchecked (bad UTF-8 tests).
"""

import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)
NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
         7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
         12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

# MQTT 5 property id -> (name, wire type)   (MQTT 5 §2.2.2.2)
PROPS = {
    0x01: ("payload_format", "byte"), 0x02: ("message_expiry", "u32"),
    0x03: ("content_type", "str"), 0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"), 0x0B: ("subscription_id", "varint"),
    0x11: ("session_expiry", "u32"), 0x12: ("assigned_client_id", "str"),
    0x13: ("server_keepalive", "u16"), 0x15: ("auth_method", "str"),
    0x16: ("auth_data", "bin"), 0x17: ("request_problem_info", "byte"),
    0x18: ("will_delay", "u32"), 0x19: ("request_response_info", "byte"),
    0x1A: ("response_info", "str"), 0x1C: ("server_reference", "str"),
    0x1F: ("reason_string", "str"), 0x21: ("receive_max", "u16"),
    0x22: ("topic_alias_max", "u16"), 0x23: ("topic_alias", "u16"),
    0x24: ("max_qos", "byte"), 0x25: ("retain_available", "byte"),
    0x26: ("user", "pair"), 0x27: ("max_packet_size", "u32"),
    0x28: ("wildcard_sub_available", "byte"), 0x29: ("sub_id_available", "byte"),
    0x2A: ("shared_sub_available", "byte"),
}
PROP_ID = {name: pid for pid, (name, _) in PROPS.items()}


class Closed(Exception):
    """The server closed the connection."""


# ---- encoding -------------------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def u16(n):
    return struct.pack(">H", n)


def string(s):
    """A length-prefixed UTF-8 string (bytes are sent as they are)."""
    b = s if isinstance(s, (bytes, bytearray)) else s.encode()
    return u16(len(b)) + bytes(b)


def _prop_value(kind, v):
    if kind == "byte":
        return bytes([v])
    if kind == "u16":
        return u16(v)
    if kind == "u32":
        return struct.pack(">I", v)
    if kind == "varint":
        return varint(v)
    if kind == "pair":
        return string(v[0]) + string(v[1])
    return string(v)  # str and bin share the wire format


def props(p):
    """Encode a property block with its length prefix. None or {} gives b'\\x00'."""
    pairs = []
    for name, v in (p.items() if isinstance(p, dict) else (p or [])):
        if name == "user" and isinstance(p, dict):
            pairs += [("user", kv) for kv in v]
        else:
            pairs.append((name, v))
    body = b"".join(bytes([PROP_ID[n]]) + _prop_value(PROPS[PROP_ID[n]][1], v) for n, v in pairs)
    return varint(len(body)) + body


def packet(ptype, flags, body):
    """Fixed header + body."""
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


def connect(client_id="", version=4, clean=True, keepalive=60, will=None, username=None,
            password=None, properties=None, protocol_name=None, level=None, flags_or=0):
    """CONNECT. will = dict(topic, payload, qos=0, retain=False, properties=None)."""
    name = protocol_name or ("MQIsdp" if version == 3 else "MQTT")
    flags = (0x02 if clean else 0) | flags_or
    if will:
        flags |= 0x04 | will.get("qos", 0) << 3 | (0x20 if will.get("retain") else 0)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = string(name) + bytes([level if level is not None else version, flags]) + u16(keepalive)
    if version == 5:
        body += props(properties)
    body += string(client_id)
    if will:
        if version == 5:
            body += props(will.get("properties"))
        body += string(will["topic"]) + string(will.get("payload", b""))
    if username is not None:
        body += string(username)
    if password is not None:
        body += string(password)
    return packet(CONNECT, 0, body)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, packet_id=None,
            properties=None, version=4):
    if isinstance(payload, str):
        payload = payload.encode()
    body = string(topic)
    if qos > 0:
        body += u16(packet_id)
    if version == 5:
        body += props(properties)
    flags = (0x08 if dup else 0) | (qos & 3) << 1 | (0x01 if retain else 0)
    return packet(PUBLISH, flags, body + payload)


def ack(ptype, packet_id, reason=None, properties=None, version=4):
    """PUBACK, PUBREC, PUBREL or PUBCOMP (PUBREL gets its required flags 0b0010)."""
    body = u16(packet_id)
    if version == 5 and (reason is not None or properties):
        body += bytes([reason or 0])
        if properties:
            body += props(properties)
    return packet(ptype, 2 if ptype == PUBREL else 0, body)


def subopts(qos=0, no_local=False, rap=False, rh=0):
    """The MQTT 5 subscription options byte (§3.8.3.1)."""
    return qos | (4 if no_local else 0) | (8 if rap else 0) | rh << 4


def subscribe(packet_id, topics, properties=None, version=4):
    """topics: a filter, or a list of filters / (filter, options byte) pairs."""
    if isinstance(topics, str):
        topics = [topics]
    body = u16(packet_id) + (props(properties) if version == 5 else b"")
    for t in topics:
        f, o = (t, 0) if isinstance(t, (str, bytes)) else t
        body += string(f) + bytes([o])
    return packet(SUBSCRIBE, 2, body)


def unsubscribe(packet_id, filters, properties=None, version=4):
    if isinstance(filters, str):
        filters = [filters]
    body = u16(packet_id) + (props(properties) if version == 5 else b"")
    return packet(UNSUBSCRIBE, 2, body + b"".join(string(f) for f in filters))


def pingreq():
    return b"\xc0\x00"


def disconnect(reason=None, properties=None, version=4):
    body = b""
    if version == 5 and (reason is not None or properties):
        body = bytes([reason or 0]) + (props(properties) if properties else b"")
    return packet(DISCONNECT, 0, body)


def auth(reason=0, properties=None):
    return packet(AUTH, 0, bytes([reason]) + props(properties))


# ---- decoding -------------------------------------------------------------------------

class Props:
    """Decoded properties in wire order: get(name), all(name), has(name)."""

    def __init__(self, items=()):
        self.items = list(items)

    def get(self, name, default=None):
        return next((v for n, v in self.items if n == name), default)

    def all(self, name):
        return [v for n, v in self.items if n == name]

    def has(self, name):
        return any(n == name for n, _ in self.items)

    def __repr__(self):
        return repr(self.items)


def _read_varint(b, i):
    n, mult = 0, 1
    while True:
        n += (b[i] & 0x7F) * mult
        mult *= 128
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


def _read_str(b, i, raw=False):
    n = struct.unpack_from(">H", b, i)[0]
    s = bytes(b[i + 2:i + 2 + n])
    return (s if raw else s.decode()), i + 2 + n


def decode_props(b, i):
    """Returns (Props, index after the block)."""
    n, i = _read_varint(b, i)
    end, items = i + n, []
    while i < end:
        pid = b[i]
        name, kind = PROPS[pid]
        i += 1
        if kind == "byte":
            v, i = b[i], i + 1
        elif kind == "u16":
            v, i = struct.unpack_from(">H", b, i)[0], i + 2
        elif kind == "u32":
            v, i = struct.unpack_from(">I", b, i)[0], i + 4
        elif kind == "varint":
            v, i = _read_varint(b, i)
        elif kind == "pair":
            k, i = _read_str(b, i)
            v, i = _read_str(b, i)
            v = (k, v)
        else:
            v, i = _read_str(b, i, raw=(kind == "bin"))
        items.append((name, v))
    return Props(items), end


class Packet:
    """One decoded server packet. Fields set depend on the type: packet_id, reason,
    reasons (SUBACK/UNSUBACK), session_present, topic, payload, qos, retain, dup, props."""

    def __init__(self, ptype, flags, raw):
        self.type, self.flags, self.raw = ptype, flags, raw
        self.props = Props()
        self.reason = 0
        self.packet_id = None

    @property
    def name(self):
        return NAMES.get(self.type, "type %d" % self.type)

    def __repr__(self):
        fields = {k: v for k, v in vars(self).items() if k not in ("type", "raw") and v not in (None, [])}
        if not self.props.items:
            fields.pop("props", None)
        return "%s%r" % (self.name, fields)


def decode(raw, version):
    """Decode one whole packet (fixed header included) sent by a server."""
    raw = bytes(raw)
    n, i = _read_varint(raw, 1)
    body = raw[i:i + n]
    p = Packet(raw[0] >> 4, raw[0] & 0x0F, raw)
    t, v5 = p.type, version == 5
    if t == CONNACK:  # decoded by length, so a v3-style refusal to a v5 client reads too
        p.session_present, p.reason = body[0] & 1, body[1]
        if len(body) > 2:
            p.props, _ = decode_props(body, 2)
    elif t == PUBLISH:
        p.qos, p.retain, p.dup = (p.flags >> 1) & 3, p.flags & 1, (p.flags >> 3) & 1
        p.topic, i = _read_str(body, 0)
        if p.qos:
            p.packet_id, i = struct.unpack_from(">H", body, i)[0], i + 2
        if v5:
            p.props, i = decode_props(body, i)
        p.payload = bytes(body[i:])
    elif t in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        p.packet_id = struct.unpack_from(">H", body, 0)[0]
        if v5 and len(body) > 2:
            p.reason = body[2]
            if len(body) > 3:
                p.props, _ = decode_props(body, 3)
    elif t in (SUBACK, UNSUBACK):
        p.packet_id, i = struct.unpack_from(">H", body, 0)[0], 2
        if v5:
            p.props, i = decode_props(body, i)
        p.reasons = list(body[i:])
    elif t in (DISCONNECT, AUTH):
        if body:
            p.reason = body[0]
            if len(body) > 1:
                p.props, _ = decode_props(body, 1)
    return p


# ---- a connection ---------------------------------------------------------------------

class Conn:
    """A blocking client connection. Every wait is bounded (seconds)."""

    def __init__(self, port, version=4, host="127.0.0.1", timeout=5, source=None):
        self.version = version
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pending = []  # packets set aside by expect(..., stash=True)
        self.aliases = {}  # server -> client topic aliases
        self._pid = 0

    def next_id(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def abort(self):
        """Close with a TCP reset: the broker sees an abnormal disconnect."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            raise Closed()
        self.buf += data
        return True

    def _take(self):
        """One whole packet from the receive buffer, or None if it holds less."""
        try:
            n, i = _read_varint(self.buf, 1)
        except IndexError:
            return None
        if len(self.buf) < i + n:
            return None
        data, self.buf = self.buf[:i + n], self.buf[i + n:]
        try:
            return decode(data, self.version)
        except (IndexError, KeyError, struct.error, UnicodeDecodeError) as e:
            raise AssertionError("malformed packet from the server (%r): %s" % (e, data.hex(" ")))

    def recv(self, timeout=5):
        """The next packet, None if nothing complete arrives in time; raises Closed."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            p = self._take()
            if p is not None:
                self._resolve_alias(p)
                return p
            if not self._fill(deadline):
                return None

    def _resolve_alias(self, p):
        if p.type == PUBLISH and p.props.has("topic_alias"):
            a = p.props.get("topic_alias")
            if p.topic:
                self.aliases[a] = p.topic
            else:
                p.topic = self.aliases.get(a, "<unknown alias %d>" % a)

    def expect(self, ptype, timeout=5, stash=False):
        """Wait for a packet of this type. With stash=True other packets are kept for
        later recv() calls instead of failing the test."""
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                try:
                    p = self.recv(max(0, deadline - time.monotonic()))
                except Closed:
                    raise AssertionError("expected %s, but the connection was closed" % NAMES[ptype])
                if p is None:
                    raise AssertionError("expected %s within %gs, got nothing" % (NAMES[ptype], timeout))
                if p.type == ptype:
                    return p
                if not stash:
                    raise AssertionError("expected %s, got %r" % (NAMES[ptype], p))
                skipped.append(p)
        finally:
            self.pending = skipped + self.pending

    def expect_closed(self, timeout=5):
        """The server closes the connection without sending anything (more)."""
        try:
            p = self.recv(timeout)
        except Closed:
            return
        if p is not None:
            raise AssertionError("expected the connection to be closed, got %r" % p)
        raise AssertionError("expected the connection to be closed within %gs; still open" % timeout)

    def expect_disconnect(self, reasons, timeout=5):
        """MQTT 5: a DISCONNECT with one of these reason codes, then the close."""
        reasons = {reasons} if isinstance(reasons, int) else set(reasons)
        p = self.expect(DISCONNECT, timeout)
        assert p.reason in reasons, "DISCONNECT reason 0x%02X, expected one of %s" % (
            p.reason, ", ".join("0x%02X" % r for r in sorted(reasons)))
        self.expect_closed(timeout)
        return p

    def expect_nothing(self, timeout=0.5):
        """Nothing arrives for a short while (a quiet window, not a timing assertion)."""
        try:
            p = self.recv(timeout)
        except Closed:
            raise AssertionError("expected no packet, but the connection was closed")
        assert p is None, "expected no packet, got %r" % p

    # -- conveniences ---------------------------------------------------------------

    def connect(self, client_id="", **kw):
        """Send CONNECT (this connection's version) and return the CONNACK."""
        self.send(connect(client_id, version=self.version, **kw))
        return self.expect(CONNACK)

    def subscribe(self, topics, properties=None):
        """SUBSCRIBE and return the SUBACK (PUBLISHes arriving first are kept)."""
        pid = self.next_id()
        self.send(subscribe(pid, topics, properties, self.version))
        p = self.expect(SUBACK, stash=True)
        assert p.packet_id == pid, "SUBACK for packet id %d, expected %d" % (p.packet_id, pid)
        return p

    def unsubscribe(self, filters, properties=None):
        pid = self.next_id()
        self.send(unsubscribe(pid, filters, properties, self.version))
        return self.expect(UNSUBACK, stash=True)

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None):
        """PUBLISH and complete the QoS handshake; returns the last ack (or None)."""
        pid = self.next_id() if qos else None
        self.send(publish(topic, payload, qos, retain, packet_id=pid,
                          properties=properties, version=self.version))
        if qos == 1:
            return self.expect(PUBACK, stash=True)
        if qos == 2:
            rec = self.expect(PUBREC, stash=True)
            if rec.reason >= 0x80:
                return rec
            self.send(ack(PUBREL, pid, version=self.version))
            return self.expect(PUBCOMP, stash=True)
        return None

    def expect_publish(self, timeout=5, auto_ack=True):
        """Wait for a PUBLISH; acknowledge QoS 1 (PUBACK) / QoS 2 (full flow) if auto_ack."""
        p = self.expect(PUBLISH, timeout)
        if auto_ack and p.qos == 1:
            self.send(ack(PUBACK, p.packet_id, version=self.version))
        elif auto_ack and p.qos == 2:
            self.send(ack(PUBREC, p.packet_id, version=self.version))
            rel = self.expect(PUBREL, timeout, stash=True)
            self.send(ack(PUBCOMP, rel.packet_id, version=self.version))
        return p

    def disconnect(self):
        """A normal DISCONNECT, then wait for the server to close: the session is offline."""
        self.send(disconnect(0 if self.version == 5 else None, version=self.version))
        self.expect_closed()

    def ping(self):
        """PINGREQ -> PINGRESP: everything sent before has been processed."""
        self.send(pingreq())
        self.expect(PINGRESP, stash=True)


def client(port, client_id="", version=4, **kw):
    """A connected Conn; asserts the CONNACK accepted the connection."""
    c = Conn(port, version)
    ca = c.connect(client_id, **kw)
    assert ca.reason == 0, "CONNACK refused: %r" % ca
    return c
