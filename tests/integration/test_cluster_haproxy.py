"""Two nodes behind a real haproxy, sticky by MQTT client id with the PROXY protocol v2, as in
the EMQX newsletter (../shared/seeds/000_3295c55154e28f2a.txt): reconnecting clients land on
the node that holds their session; when that node is stopped, it hands its sessions to the
other one and the clients, sent there by haproxy, find them whole."""

import re

import pytest

import mqttraw as m
from clusterlib import Cluster, wait_status
from haproxylib import start_haproxy, stop_haproxy
from test_cluster_takeover import wait_registry

pytestmark = pytest.mark.starling_only("Starling's cluster")

# The newsletter's backend, plus what haproxy needs to read a client id: wait for the
# CONNECT (inspect-delay) and only then apply the stick rule.
BACKEND = """    mode tcp
    tcp-request inspect-delay 10s
    tcp-request content reject unless { req.payload(0,0),mqtt_is_valid }
    # Create a stick table for session persistence
    stick-table type string len 32 size 100k expire 30m
    # Use ClientID / client_identifier as persistence key
    stick on req.payload(0,0),mqtt_field_value(connect,client_identifier)
    server starling-1 %s:%d check-send-proxy send-proxy-v2 check inter 500 fall 2 rise 2
    server starling-2 %s:%d check-send-proxy send-proxy-v2 check inter 500 fall 2 rise 2"""

IDS = ["hp-%d" % i for i in range(8)]


def through(port, cid):
    """Connect cid through haproxy (clean_start 0, session expiry 300); retries while a
    stopping node answers 0x9C or the connection drops; returns (conn, CONNACK)."""
    last = None
    for _ in range(50):
        c = m.Conn(port, 5, host="127.0.0.5")
        try:
            ca = c.connect(cid, clean=False, properties={"session_expiry": 300})
            if ca.reason == 0:
                return c, ca
            last = ca
        except (AssertionError, OSError, m.Closed) as e:
            last = e
        c.abort()
    raise AssertionError("%s could not connect through haproxy: %r" % (cid, last))


def connects(node, cid):
    return len(re.findall(r"client %s \(127\.0\.0\.1:\d+\) connected" % re.escape(cid), node.log()))


def test_sticky_sessions_behind_haproxy(broker_factory, tmp_path):
    conf = {"listeners.tcp.default.proxy_protocol": True}
    cl = Cluster(broker_factory, 2)
    n1 = cl.node(0, **conf).start()
    n2 = cl.node(1, seeds=[0], **conf).start()
    for n in (n1, n2):
        wait_status(n, [cl.name(0), cl.name(1)])
    hp, port = start_haproxy(tmp_path, "127.0.0.5",
                             BACKEND % (n1.host, n1.port, n2.host, n2.port))
    try:
        home = {}
        for cid in IDS:
            c, ca = through(port, cid)
            assert ca.session_present == 0
            c.subscribe([("hp/" + cid, m.subopts(1))])
            c.disconnect()
            home[cid] = n1 if connects(n1, cid) else n2
            assert connects(home[cid], cid) == 1
        on1 = [cid for cid in IDS if home[cid] is n1]
        assert on1 and len(on1) < len(IDS), "haproxy balanced every client to one node"
        for _ in range(2):  # sticky: every reconnection goes to the same node
            for cid in IDS:
                c, ca = through(port, cid)
                assert ca.session_present == 1
                c.disconnect()
        for cid in IDS:
            other = n2 if home[cid] is n1 else n1
            assert (connects(home[cid], cid), connects(other, cid)) == (3, 0), cid
        wait_registry([n1, n2], len(IDS))
        pub, _ = through(port, "hp-pub")
        for cid in IDS:
            pub.publish("hp/" + cid, cid.encode(), qos=1)  # queued where each session is

        assert n1.stop() == 0  # its sessions go to node 2 first
        assert "every session was handed to another node" in n1.log()
        for cid in IDS:
            c, ca = through(port, cid)
            assert ca.session_present == 1, cid
            assert c.expect_publish().payload == cid.encode()
            c.disconnect()
        for cid in on1:  # haproxy sent them to node 2 now
            assert connects(n2, cid) == 1, cid
    finally:
        stop_haproxy(hp)
