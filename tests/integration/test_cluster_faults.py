"""Failure detection (docs/cluster.md §9.4): the Raft leader declares a node down only when it
has had no link to it for node_down_timeout *and* no other member reaches it (the indirect
probe). Faults by iptables between the nodes' loopback addresses (root only)."""

import pytest

import mqttraw as m
from clusterlib import cluster_info, wait_info, wait_log, wait_member
from test_cluster_pubsub import LinkCut, iptables_available, member, three_nodes

pytestmark = pytest.mark.starling_only("Starling's cluster")


def test_a_node_cut_from_the_leader_only_is_not_declared_down(broker_factory):
    """The leader loses its link to node X while the third node still reaches X: the
    leader's probe gets a yes, and X is not declared down however long the cut lasts.
    Then X is cut from the third node too: nobody reaches it, it is declared down. When
    the network is back X finds itself declared down, asks again, and is up with a new
    incarnation."""
    why = iptables_available()
    if why:
        print("skipped: " + why)
        pytest.skip(why)
    conf = {"cluster.link_timeout": "1s", "cluster.node_down_timeout": "2s"}
    cl, nodes = three_nodes(broker_factory, **conf)
    names = {n: cl.name(i) for i, n in enumerate(nodes)}
    leader = [n for n in nodes if cluster_info(n)["raft"]["state"] == "leader"][0]
    x, third = [n for n in nodes if n is not leader]
    onx = m.Conn(x.port, 5, host=x.host)  # a client of X: its registry row follows X
    assert onx.connect("onx").reason == 0
    wait_info(leader, lambda i: i["registry"] == 1, "onx registered")
    cut1, cut2 = LinkCut(leader.host, x.host), LinkCut(third.host, x.host)
    try:
        cut1.cut()
        wait_log(leader, r"no link to %s from here, but %s reaches it" % (names[x], names[third]),
                 timeout=20, count=2)  # twice: the decision was taken again, with the same answer
        assert member(leader, names[x])["state"] == "up"
        cut2.cut()
        wait_member(leader, names[x], "down", 2, timeout=20)  # DOWN bumps the incarnation
        wait_info(leader, lambda i: i["registry"] == 0, "X's rows purged")
    finally:
        cut1.restore()
        cut2.restore()
    for n in nodes:  # back: its restart of a sort (BOOT) gives it one more, and X registers
        wait_info(n, lambda i: member(n, names[x])["state"] == "up" and  # its sessions again
                  member(n, names[x])["incarnation"] == 3 and i["registry"] == 1, "X up again",
                  timeout=30)
    onx.ping()


@pytest.mark.parametrize("mode", ["strict", "available"])
def test_registry_mode_on_a_minority_side(broker_factory, mode):
    """Node 3 is cut from both others (iptables): it is a minority of one. With
    cluster.registry_mode = strict a new CONNECT there is refused with 0x88 (server
    unavailable; a 3.1.1 client gets code 3) while the majority side accepts; with available
    it is accepted, and when the network is back the newest connection of that client id
    (made on node 1 during the cut) wins: node 3's is closed with 0x8E."""
    why = iptables_available()
    if why:
        print("skipped: " + why)
        pytest.skip(why)
    conf = {"cluster.link_timeout": "1s", "cluster.node_down_timeout": "60s",
            "cluster.registry_mode": mode}
    cl, (n1, n2, n3) = three_nodes(broker_factory, **conf)
    cuts = [LinkCut(n3.host, n1.host), LinkCut(n3.host, n2.host)]
    try:
        for cut in cuts:
            cut.cut()
        wait_log(n3, r"no leader reachable", timeout=20)
        c3 = m.Conn(n3.port, 5, host=n3.host)
        ca = c3.connect("minor", clean=False)
        if mode == "strict":
            assert ca.reason == 0x88, ca
            c3v4 = m.Conn(n3.port, 4, host=n3.host)
            assert c3v4.connect("minor4").reason == 3
        else:
            assert ca.reason == 0, ca
        c1 = m.Conn(n1.port, 5, host=n1.host)
        assert c1.connect("minor", clean=False).reason == 0  # the majority side accepts
    finally:
        for cut in cuts:
            cut.restore()
    wait_log(n3, r"the leader is reachable again", timeout=30)
    if mode == "available":
        c3.expect_disconnect(0x8E, timeout=30)  # the connection made on node 1 is newer
    c1.ping()
