"""Shared subscriptions `$share/<group>/<filter>` and `$queue/<filter>` (MQTT 5 §4.8.2;
Starling, like EMQX, accepts them from 3.1.1 clients too)."""

import time

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


def collect(conns, n, timeout=5):
    """Receive (and acknowledge) PUBLISHes on several connections until n arrived in all;
    then check nothing more comes. Returns one payload list per connection."""
    got = [[] for _ in conns]
    deadline = time.monotonic() + timeout
    while sum(map(len, got)) < n:
        assert time.monotonic() < deadline, "only %d of %d messages within %gs: %r" % (
            sum(map(len, got)), n, timeout, got)
        for i, c in enumerate(conns):
            p = c.recv(0.05)
            if p is not None:
                assert p.type == m.PUBLISH, p
                if p.qos == 1:
                    c.send(m.ack(m.PUBACK, p.packet_id, version=c.version))
                got[i].append(p.payload)
    for c in conns:
        c.expect_nothing(0.3)
    return got


def members(mqtt, v, flt, n=2, qos=1):
    out = []
    for i in range(n):
        c = mqtt("member%d" % i, v)
        assert c.subscribe([(flt, qos)]).reasons == [qos]
        out.append(c)
    return out


@VERSIONS
def test_each_message_to_one_member(mqtt, v):
    """Each message matching a shared subscription goes to exactly one member of the group;
    a plain subscription to the same filter still gets every message [MQTT 5 §4.8.2]."""
    a, b = members(mqtt, v, "$share/g/t/+")
    plain = mqtt("plain", v)
    plain.subscribe([("t/+", 1)])
    pub = mqtt("pub", v)
    sent = [b"%d" % i for i in range(10)]
    for s in sent:
        pub.publish("t/x", s, qos=1)
    got_a, got_b = collect([a, b], len(sent))
    assert sorted(got_a + got_b) == sorted(sent)
    assert collect([plain], len(sent)) == [sent]


@VERSIONS
def test_round_robin_alternates(mqtt, v):
    """The default strategy is round robin (EMQX): with two members, messages alternate."""
    a, b = members(mqtt, v, "$share/g/t")
    pub = mqtt("pub", v)
    sent = [b"%d" % i for i in range(6)]
    for s in sent:
        pub.publish("t", s, qos=1)
    got_a, got_b = collect([a, b], len(sent))
    assert sorted([got_a, got_b]) == sorted([sent[0::2], sent[1::2]]), (got_a, got_b)


@VERSIONS
@pytest.mark.starling_only("mosquitto has no $queue/ prefix")
def test_queue_prefix(mqtt, v):
    """`$queue/<filter>` is a shared subscription of one implicit group (EMQX)."""
    a, b = members(mqtt, v, "$queue/t")
    pub = mqtt("pub", v)
    sent = [b"%d" % i for i in range(4)]
    for s in sent:
        pub.publish("t", s, qos=1)
    got_a, got_b = collect([a, b], len(sent))
    assert sorted(got_a + got_b) == sorted(sent) and got_a and got_b


@VERSIONS
def test_groups_each_get_a_copy(mqtt, v):
    """Every group gets its own copy of each message [MQTT 5 §4.8.2]."""
    g1 = members(mqtt, v, "$share/g1/t")
    g2 = mqtt("g2member", v)
    g2.subscribe([("$share/g2/t", 1)])
    pub = mqtt("pub", v)
    sent = [b"%d" % i for i in range(4)]
    for s in sent:
        pub.publish("t", s, qos=1)
    assert sorted(sum(collect(g1, len(sent)), [])) == sent
    assert collect([g2], len(sent)) == [sent]


@VERSIONS
def test_unsubscribed_member_gets_nothing(mqtt, v):
    """After a member unsubscribes, the remaining member gets every message."""
    a, b = members(mqtt, v, "$share/g/t")
    a.unsubscribe("$share/g/t")
    pub = mqtt("pub", v)
    for i in range(4):
        pub.publish("t", b"%d" % i, qos=1)
    assert collect([a, b], 4) == [[], [b"0", b"1", b"2", b"3"]]


@VERSIONS
@pytest.mark.mosquitto_xfail("2.0.11 drops the message with the member's session")
def test_inflight_redispatched_when_member_leaves(mqtt, v):
    """A QoS 1 message in flight to a member whose (clean) session ends before it acks is
    sent to another member [MQTT 5 §4.8.2: SHOULD; EMQX redispatches]."""
    a, b = members(mqtt, v, "$share/g/t")
    mqtt("pub", v).publish("t", b"job", qos=1)
    pa, pb = a.recv(1), b.recv(1)
    assert (pa is None) != (pb is None), "expected exactly one member to get it: %r" % ((pa, pb),)
    taker, other, p = (a, b, pa) if pa else (b, a, pb)
    assert p.payload == b"job", p
    taker.abort()  # clean session: the session ends with the connection, unacknowledged
    assert other.expect_publish().payload == b"job"


@VERSIONS
@pytest.mark.mosquitto_xfail("2.0.11 sends retained messages to new shared subscriptions")
def test_no_retained_on_shared_subscribe(mqtt, v):
    """Retained messages are sent for new non-shared subscriptions only [MQTT 5 §3.3.1.3,
    as EMQX]."""
    mqtt("pub", v).publish("t", b"state", qos=1, retain=True)
    c = mqtt("member", v)
    c.subscribe([("$share/g/t", 1)])
    c.expect_nothing()


@pytest.mark.mosquitto_xfail("2.0.11 accepts No Local on a shared subscription")
def test_no_local_on_shared_is_protocol_error(mqtt, expect_dropped, assert_alive):
    """No Local set on a shared subscription is a protocol error: DISCONNECT 0x82
    [MQTT-3.8.3-4]."""
    c = mqtt("c", 5)
    c.send(m.subscribe(1, [("$share/g/t", m.subopts(1, no_local=True))], version=5))
    expect_dropped(c, 0x82)
    assert_alive(5)


@pytest.mark.broker_conf({"mqtt.max_mqueue_len": 3, "mqtt.max_inflight": 1})
def test_full_member_queues_drop_instead_of_bouncing(mqtt):
    """When every member's queue is full, the message pushed out of one queue is dropped
    (EMQX's policy for a full mqueue), not handed to another full member: the broker stays
    responsive and each member holds its window plus its queue, the newest messages.
    (A regression: the pushed-out message used to bounce between full members forever.)"""
    a, b = members(mqtt, 4, "$share/g/t/#")  # they never acknowledge
    pub = mqtt("pub", 4)
    for i in range(40):
        pub.publish("t/x", b"%d" % i, qos=1)
    pub.ping()
    late = mqtt("late", 4)  # a new connection still gets its CONNACK
    late.ping()
    got = []
    for c in (a, b):
        first = c.expect(m.PUBLISH)  # the one message in flight (window of 1)
        got.append(first.payload)
        c.send(m.ack(m.PUBACK, first.packet_id))
        for _ in range(3):  # then the queue: at most max_mqueue_len messages
            got.append(c.expect_publish().payload)
        c.expect_nothing(0.3)
    assert len(got) == 8
    assert len(set(got)) == 8


def strategy(name):
    return pytest.mark.broker_conf({"mqtt.shared_subscription_strategy": name})


def publish_all(pub, topic, payloads):
    for p in payloads:
        pub.publish(topic, p, qos=1)


@strategy("sticky")
@pytest.mark.starling_only("mqtt.shared_subscription_strategy is EMQX's setting")
def test_strategy_sticky(mqtt):
    """sticky: one member gets every message while it stays subscribed."""
    a, b, c = members(mqtt, 4, "$share/g/t/+", n=3)
    pub = mqtt("pub", 4)
    sent = [b"%d" % i for i in range(12)]
    publish_all(pub, "t/x", sent[:6])
    publish_all(pub, "t/y", sent[6:])
    got = collect([a, b, c], len(sent))
    assert sorted(map(len, got)) == [0, 0, 12], got
    assert max(got, key=len) == sent


@strategy("hash_clientid")
@pytest.mark.starling_only("mqtt.shared_subscription_strategy is EMQX's setting")
def test_strategy_hash_clientid(mqtt):
    """hash_clientid: all messages of one publisher go to the same member, whatever the topic;
    with 8 publishers and 2 members both members get some."""
    ms = members(mqtt, 4, "$share/g/t/+")
    pubs = [mqtt("publisher-%d" % i, 4) for i in range(8)]
    for i, pub in enumerate(pubs):
        publish_all(pub, "t/a", [b"%d-0" % i])
        publish_all(pub, "t/b", [b"%d-1" % i, b"%d-2" % i])
    got = collect(ms, 24)
    owner = {}
    for k, payloads in enumerate(got):
        for p in payloads:
            owner.setdefault(p.split(b"-")[0], set()).add(k)
    assert all(len(v) == 1 for v in owner.values()), got
    assert all(got), "8 publishers all hashed to one member: %r" % got


@strategy("hash_topic")
@pytest.mark.starling_only("mqtt.shared_subscription_strategy is EMQX's setting")
def test_strategy_hash_topic(mqtt):
    """hash_topic: all messages on one topic go to the same member, whoever publishes."""
    ms = members(mqtt, 4, "$share/g/t/+")
    p1, p2 = mqtt("p1", 4), mqtt("p2", 4)
    topics = ["t/%d" % i for i in range(8)]
    for t in topics:
        publish_all(p1, t, [t.encode() + b" 1"])
        publish_all(p2, t, [t.encode() + b" 2"])
    got = collect(ms, 16)
    owner = {}
    for k, payloads in enumerate(got):
        for p in payloads:
            owner.setdefault(p.split(b" ")[0], set()).add(k)
    assert len(owner) == 8 and all(len(v) == 1 for v in owner.values()), got
    assert all(got), "8 topics all hashed to one member: %r" % got


@pytest.mark.parametrize("name", ["random", "local", "round_robin_per_group"])
@pytest.mark.starling_only("mqtt.shared_subscription_strategy is EMQX's setting")
def test_strategy_exactly_once(broker_factory, name):
    """random, local, round_robin_per_group: each message to exactly one member, all of them
    delivered."""
    b = broker_factory({"mqtt.shared_subscription_strategy": name}).start()
    conns = []
    try:
        for i in range(3):
            c = m.client(b.port, "member%d" % i, 4)
            conns.append(c)
            assert c.subscribe([("$share/g/t/#", 1)]).reasons == [1]
        pub = m.client(b.port, "pub", 4)
        conns.append(pub)
        sent = [b"%d" % i for i in range(30)]
        publish_all(pub, "t/x", sent)
        got = collect(conns[:3], len(sent))
        assert sorted(sum(got, [])) == sorted(sent)
        if name == "round_robin_per_group":
            assert sorted(map(len, got)) == [10, 10, 10], got
    finally:
        for c in conns:
            c.close()
