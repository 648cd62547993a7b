"""Failure detection (docs/cluster.md §9.4): the Raft leader declares a node down only when it
has had no link to it for node_down_timeout *and* no other member reaches it (the indirect
probe). Faults by iptables between the nodes' loopback addresses (root only)."""

import pytest

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
    cut1, cut2 = LinkCut(leader.host, x.host), LinkCut(third.host, x.host)
    try:
        cut1.cut()
        wait_log(leader, r"no link to %s from here, but %s reaches it" % (names[x], names[third]),
                 timeout=20, count=2)  # twice: the decision was taken again, with the same answer
        assert member(leader, names[x])["state"] == "up"
        cut2.cut()
        wait_member(leader, names[x], "down", 2, timeout=20)  # DOWN bumps the incarnation
    finally:
        cut1.restore()
        cut2.restore()
    for n in nodes:  # back: its restart of a sort (BOOT) gives it one more
        wait_info(n, lambda i: member(n, names[x])["state"] == "up" and
                  member(n, names[x])["incarnation"] == 3, "X up again", timeout=30)
