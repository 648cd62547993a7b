"""Topic names and filters: validity, wildcard matching, `$` topics, levels, topic aliases."""

import pytest

import mqttraw as m

VERSIONS = pytest.mark.parametrize("v", [4, 5], ids=["v311", "v5"])


@VERSIONS
@pytest.mark.parametrize("topic", ["a/+", "a/#", "+"])
def test_wildcard_in_topic_name(mqtt, v, topic, expect_dropped, assert_alive):
    """A PUBLISH topic name with a wildcard is refused: close (MQTT 5: DISCONNECT 0x90 topic
    name invalid, or 0x81/0x82, first) [MQTT-3.3.2-2]."""
    c = mqtt("c", v)
    c.send(m.publish(topic, b"x", version=v))
    expect_dropped(c, (0x81, 0x82, 0x90))
    assert_alive()


@VERSIONS
@pytest.mark.starling_only("mosquitto disconnects on an invalid filter instead of refusing it")
def test_invalid_filter_refused_in_suback(mqtt, v):
    """Invalid topic filters are refused one by one in SUBACK: 0x8F (topic filter invalid)
    in MQTT 5, 0x80 in 3.1.1; valid filters of the same SUBSCRIBE are granted
    [MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-3.8.4-5 (3.1.1)]."""
    c = mqtt("c", v)
    bad = 0x8F if v == 5 else 0x80
    filters = [("a/#/b", 0), ("ok/+", 1), ("a/b#", 0), ("a+/b", 0), ("#/a", 0)]
    assert c.subscribe(filters).reasons == [bad, 1, bad, bad, bad]
    c.ping()


@VERSIONS
def test_dollar_topics_not_matched_by_leading_wildcards(mqtt, v):
    """Filters starting with a wildcard (`#`, `+/...`) do not match topics starting with `$`
    [MQTT-4.7.2-1]; an explicit `$` filter does."""
    hash_sub = mqtt("hash", v)
    hash_sub.subscribe([("#", 0)])
    plus_sub = mqtt("plus", v)
    plus_sub.subscribe([("+/x", 0)])
    explicit = mqtt("explicit", v)
    explicit.subscribe([("$foo/#", 0)])
    pub = mqtt("pub", v)
    pub.publish("$foo/x", b"dollar")
    pub.publish("m/x", b"marker")
    assert explicit.expect_publish().topic == "$foo/x"
    assert hash_sub.expect_publish().topic == "m/x"
    assert plus_sub.expect_publish().topic == "m/x"


CASES = [  # filter, matching topics, topics that must not match [MQTT 4.7]
    ("sport/tennis/#", ["sport/tennis", "sport/tennis/p1", "sport/tennis/p1/r"], ["sport/tennisx", "sport"]),
    ("sport/+", ["sport/", "sport/a"], ["sport", "sport/a/b"]),
    ("+/+", ["/finance", "a/b"], ["a", "a/b/c"]),
    ("/+", ["/finance"], ["finance", "a/b"]),
    ("+", ["a"], ["/a", "a/b"]),
    ("#", ["a", "a/b", "/"], []),
    ("a/+/c", ["a/b/c", "a//c"], ["a/b/c/d", "a/c"]),
    ("a/b", ["a/b"], ["a/B", "A/b", "a/b/", "a/b "]),
    ("ü/+/€", ["ü/x/€"], ["u/x/€"]),
]


@pytest.mark.parametrize("flt, yes, no", CASES, ids=[c[0] for c in CASES])
def test_wildcard_matching(mqtt, flt, yes, no):
    """`+` matches exactly one level (possibly empty), `#` the parent and any number of
    levels, matching is case and byte exact [MQTT §4.7.1, MQTT-4.7.3-4]."""
    sub = mqtt("sub", 4)
    sub.subscribe([(flt, 0)])
    pub = mqtt("pub", 4)
    for t in no + yes:  # non-matching first: any wrong delivery comes before the right ones
        pub.publish(t, t)
    assert [sub.expect_publish().topic for _ in yes] == yes
    sub.expect_nothing()


@pytest.mark.broker_conf({"mqtt.max_topic_levels": 3})
@VERSIONS
def test_max_topic_levels(mqtt, v, expect_dropped):
    """mqtt.max_topic_levels: a deeper filter is refused in SUBACK (0x8F / 0x80) and a
    deeper topic name ends the connection (MQTT 5: DISCONNECT 0x90), as EMQX."""
    c = mqtt("c", v)
    assert c.subscribe([("a/b/c", 0), ("a/b/c/d", 0)]).reasons == [0, 0x8F if v == 5 else 0x80]
    c.publish("a/b/c", b"ok")
    assert c.expect_publish().topic == "a/b/c"
    c.send(m.publish("a/b/c/d", b"deep", version=v))
    expect_dropped(c, 0x90)


@pytest.mark.broker_conf({"mqtt.max_topic_alias": 5})
def test_topic_alias_client_to_server(mqtt, raw):
    """Client-to-server topic aliases: CONNACK carries Topic Alias Maximum (§3.2.2.3.8);
    a topic + alias sets the mapping, an empty topic + alias uses it, a new topic re-maps it
    [MQTT-3.3.2-12]. Subscribers that allow no aliases never get one [MQTT-3.1.2-27]."""
    sub = mqtt("sub", 5)
    sub.subscribe([("t/#", 0)])
    c = raw(5)
    assert c.connect("c").props.get("topic_alias_max") == 5
    c.publish("t/a", b"1", properties={"topic_alias": 1})
    c.publish("", b"2", properties={"topic_alias": 1})
    c.publish("t/b", b"3", properties={"topic_alias": 1})
    c.publish("", b"4", properties={"topic_alias": 1})
    got = [sub.expect_publish() for _ in range(4)]
    assert [(p.topic, p.payload) for p in got] == [("t/a", b"1"), ("t/a", b"2"), ("t/b", b"3"), ("t/b", b"4")]
    assert not any(p.props.has("topic_alias") for p in got)


@pytest.mark.broker_conf({"mqtt.max_topic_alias": 5})
@pytest.mark.parametrize("alias, reasons", [(6, (0x94,)), (0, (0x81, 0x82, 0x94))])
def test_topic_alias_out_of_range(mqtt, alias, reasons, expect_dropped, assert_alive):
    """A Topic Alias above the server's Topic Alias Maximum, or 0, is refused with
    DISCONNECT 0x94 (topic alias invalid) [MQTT-3.3.2-8, MQTT-3.3.2-9]."""
    c = mqtt("c", 5)
    c.send(m.publish("t/a", b"x", properties={"topic_alias": alias}, version=5))
    expect_dropped(c, reasons)
    assert_alive(5)


def test_topic_alias_unknown(mqtt, expect_dropped):
    """An empty topic with an alias that has no mapping is a protocol error: DISCONNECT
    0x82 [MQTT 5 §3.3.2.3.4]."""
    c = mqtt("c", 5)
    c.send(m.publish("", b"x", properties={"topic_alias": 1}, version=5))
    expect_dropped(c, 0x82)


def test_topic_alias_server_to_client(mqtt, raw):
    """Aliases the server may use toward a client stay within the client's Topic Alias
    Maximum and always resolve to the right topic [MQTT-3.1.2-26, MQTT-3.3.2-11]."""
    sub = raw(5)
    sub.connect("sub", properties={"topic_alias_max": 2})
    sub.subscribe([("t/#", 0)])
    pub = mqtt("pub", 5)
    topics = ["t/%d" % (i % 3) for i in range(9)]
    for i, t in enumerate(topics):
        pub.publish(t, str(i))
    got = [sub.expect_publish() for _ in topics]
    assert [p.topic for p in got] == topics  # mqttraw resolves aliases as a client must
    assert all(1 <= p.props.get("topic_alias", 1) <= 2 for p in got)
