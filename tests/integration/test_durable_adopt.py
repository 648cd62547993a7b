"""A member gone for good, disk included (docs/durability.md §6, adoption): with
persistence.shared_client_session, the member that holds the copy of its durable store takes
its sessions over once it is forced out of the cluster, and their clients find them again
on any node, with what was queued for them."""

import os
import re
import shutil

import pytest

import mqttraw as m
from test_durable import DURABLE, kill9, persistent, wait

pytestmark = pytest.mark.starling_only("Starling's durable sessions")


def test_a_node_gone_for_good_has_its_sessions_taken_over_by_its_holder(broker_factory):
    """Three nodes (the same seed list on each). Node 1 holds two durable sessions: "ad-dev",
    offline with 5 QoS 1 messages queued for it (one more in flight, sent and not
    acknowledged), and "ad-back". Node 1 is killed and its data dir deleted. "ad-back"
    reconnects to another node meanwhile (a new session there). A message for "ad-dev" is
    published on each of the other two nodes while node 1 is down, one before and one after
    the cluster declares it down (which keeps its plain routes, with the copies): their
    lanes to it hold them (the PUBACKs come once cluster.forward_ack_timeout stops waiting
    for node 1). An operator forces node 1 out; its holder asks both members (itself too) for what their
    lanes held for it and takes "ad-dev" over (its routes, its queue with those two
    messages after it, its registration) and leaves "ad-back" where it is. "ad-dev" then
    connects to the member that is not the holder: its session moves there with the
    message in flight (DUP, same packet id), the 5 queued ones in order, the two the lanes
    held, and it gets what is published to it afterwards."""
    from clusterlib import api_call, ctl, same_seeds, up_members, wait_api, wait_info, wait_log
    cl, nodes, names = same_seeds(broker_factory, 3, **dict(
        DURABLE, **{"persistence.shared_client_session": True, "cluster.link_timeout": "1s",
                    "cluster.node_down_timeout": "2s"}))
    a = nodes[0]
    for n in nodes:
        wait_api(n)
        wait_info(n, lambda i: up_members(i) == sorted(names), "all members up", timeout=30)

    def repl(n):
        return api_call(n, "GET", "/api/v5/durable_storage")[1]["replication"]

    holders = wait("node 1's holder is in step", lambda: [
        h for h in repl(a)["holders"] if h["state"] == "in_step" and repl(a)["members"] == 2])
    h = nodes[names.index(holders[0]["node"])]
    other = [n for n in nodes[1:] if n is not h][0]

    dev, _ = persistent(a, "ad-dev")
    dev.subscribe([("ad/#", 1)])
    back, _ = persistent(a, "ad-back")
    back.subscribe([("back/#", 1)])
    back.disconnect()
    pub = m.Conn(a.port, 5, host=a.host, timeout=30)
    assert pub.connect("ad-pub").reason == 0
    assert pub.publish("ad/0", b"m0", qos=1).reason == 0
    first = dev.expect_publish(auto_ack=False)  # in flight: sent, never acknowledged
    assert first.payload == b"m0"
    dev.disconnect()  # offline, the message still in flight
    for i in range(1, 6):
        assert pub.publish("ad/%d" % i, b"m%d" % i, qos=1).reason == 0
    pub.disconnect()
    wait("the holder's copy has both sessions and the 6 messages", lambda: [
        x for x in repl(h)["mirrors"] if x["owner"] == names[0] and x["sessions"] == 2 and
        x["messages"] == 6])

    kill9(a)
    shutil.rmtree(os.path.join(a.dir, "data"))  # its disk is gone with it
    back, ca = persistent(other, "ad-back")  # back before the operator acts: a new session
    assert ca.session_present == 0
    back.subscribe([("back2/#", 1)])
    for i, n in enumerate((other, h)):  # on the other two nodes while node 1 is down
        if i == 1:  # the second once node 1 is declared down everywhere
            for x in (other, h):
                wait_log(x, r"cluster: %s is down" % re.escape(names[0]), timeout=30)
        c = m.Conn(n.port, 5, host=n.host, timeout=30)
        assert c.connect("ad-late%d" % i).reason == 0
        c.send(m.publish("ad/late", b"late%d" % i, qos=1, packet_id=1, version=5))
        # acknowledged once the lane stops waiting for node 1; its route is still there
        assert c.expect(m.PUBACK, timeout=30).reason == 0
        c.close()

    r = ctl(other, "cluster", "force-leave", names[0])
    assert r.returncode == 0, (r.stdout, r.stderr)
    wait_log(h, r"cluster: %s has left the cluster: this node takes over the 1 durable "
             r"session\(s\) of its copy \(1 whose client connected again elsewhere stay there; "
             r"2 message\(s\) the members' lanes still held for them queued\)"
             % re.escape(names[0]), timeout=30)
    wait_log(h, r"cluster: 1 of %s's session\(s\) taken over" % re.escape(names[0]), timeout=30)
    replicas = os.path.join(h.dir, "data", "replicas")
    wait("the copy is moved aside", lambda: [
        d for d in os.listdir(replicas) if d.startswith(names[0] + ".adopted-")])
    assert names[0] not in os.listdir(replicas)

    # ad-dev's client comes back on the member that is not the holder
    dev, ca = persistent(other, "ad-dev")
    assert ca.session_present == 1
    again = dev.expect_publish(auto_ack=False)
    assert (again.payload, again.dup, again.packet_id) == (b"m0", 1, first.packet_id), again
    dev.send(m.ack(m.PUBACK, again.packet_id, version=5))
    got = [dev.expect_publish() for _ in range(5)]
    assert [p.payload for p in got] == [b"m%d" % i for i in range(1, 6)], got
    got = [dev.expect_publish() for _ in range(2)]  # two publishers: either order
    assert sorted(p.payload for p in got) == [b"late0", b"late1"], got
    pub = m.Conn(h.port, 5, host=h.host, timeout=30)
    assert pub.connect("ad-pub2").reason == 0
    assert pub.publish("ad/after", b"after", qos=1).reason == 0
    assert dev.expect_publish().payload == b"after"
    # ad-back kept the session it made meanwhile: still connected, its new subscription there
    assert pub.publish("back2/x", b"b", qos=1).reason == 0
    assert back.expect_publish().payload == b"b"
    for c in (dev, back, pub):
        c.close()


def test_a_node_declared_down_gets_what_was_published_meanwhile_when_it_comes_back(
        broker_factory):
    """Three nodes with the copies (every node with the same seed list). A durable
    subscriber on node 1, offline; node 1 is killed and stays away until the others declare
    it down. A message published on node 2 then is still queued for it (its plain routes
    stay: the publisher is told there are subscribers); node 1 starts again with its disk,
    and its client finds its session with that message."""
    from clusterlib import same_seeds, up_members, wait_api, wait_info, wait_log
    cl, nodes, names = same_seeds(broker_factory, 3, **dict(
        DURABLE, **{"persistence.shared_client_session": True, "cluster.link_timeout": "1s",
                    "cluster.node_down_timeout": "2s"}))
    a, b = nodes[0], nodes[1]
    for n in nodes:
        wait_api(n)
        wait_info(n, lambda i: up_members(i) == sorted(names), "all members up", timeout=30)
    dev, _ = persistent(a, "dn-dev")
    assert dev.subscribe([("dn/#", 1)]).reasons == [1]
    dev.disconnect()
    kill9(a)
    for x in nodes[1:]:
        wait_log(x, r"cluster: %s is down" % re.escape(names[0]), timeout=30)
    pub = m.Conn(b.port, 5, host=b.host, timeout=30)
    assert pub.connect("dn-pub").reason == 0
    assert pub.publish("dn/1", b"while down", qos=1).reason == 0
    pub.close()
    a.start()
    wait_info(a, lambda i: up_members(i) == sorted(names), "node 1 up again", timeout=60)
    dev, ca = persistent(a, "dn-dev")
    assert ca.session_present == 1
    assert dev.expect_publish().payload == b"while down"
    dev.close()
