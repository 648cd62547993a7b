"""QoS 1 through node faults, checked on a recorded history (history.py): every
acknowledged message reaches every subscriber whose session survived, in order per
publisher, twice only as a DUP resend. Publishers and subscribers on every node, and
members of one shared subscription group that gets every acknowledged message at least once."""

import os
import signal
import time

import pytest

from clusterlib import wait_status
from history import History
from test_cluster_partition import cluster_of
from test_cluster_pubsub import wait_routes

pytestmark = pytest.mark.starling_only("Starling's cluster")

FAST = {"cluster.link_timeout": "1s", "cluster.forward_ack_timeout": "1s",
        "cluster.node_down_timeout": "3s", "mqtt.max_mqueue_len": 0}  # as test_cluster_partition


def traffic(broker_factory, n=3, members=3, **conf):
    """n nodes, each with a publisher and a subscriber; members of shared group g on the
    first `members` nodes."""
    cl, nodes, names = cluster_of(broker_factory, n, **dict(FAST, **conf))
    h = History()
    for i, x in enumerate(nodes):
        h.subscriber(x, "sub%d" % i, "h/#")
        if i < members:
            h.member(x, "m%d" % i, "g", "h/#")
    for i, x in enumerate(nodes):
        for y in nodes:
            if y is not x:
                wait_routes(y, names[i], 2 if i < members else 1)
    for i, x in enumerate(nodes):
        h.publisher(x, "pub%d" % i, "h/%d" % i)
    time.sleep(1)  # traffic before the fault
    return cl, nodes, names, h


def test_sigkill_and_restart_lose_no_acknowledged_message(broker_factory):
    """Node 3 is killed (SIGKILL) in the middle of the traffic: the subscribers on nodes 1
    and 2 get every message that was acknowledged, including node 3's publisher's up to its
    death. Node 3 is declared down, restarted, and is a member again: a new subscriber there
    gets what nodes 1 and 2 publish next."""
    # no member on node 3: copies it had accepted would die with it (sessions are in memory)
    cl, nodes, names, h = traffic(broker_factory, members=2)
    h.gone.add("sub2")  # its session dies with node 3 (sessions are not persisted yet)
    os.kill(nodes[2].proc.pid, signal.SIGKILL)
    nodes[2].proc.wait()
    nodes[2].proc = None
    wait_status(nodes[0], names[:2], [names[2]], timeout=20)
    time.sleep(1)  # traffic while it is gone
    nodes[2].start()
    for x in nodes:
        wait_status(x, names, timeout=30)
    late = History()
    late.subscriber(nodes[2], "late2", "h/#")
    for i in (0, 1):
        wait_routes(nodes[i], names[2], 1)
    late.publisher(nodes[0], "lp0", "h/l")
    time.sleep(1)
    h.finish(timeout=20)
    late.finish(timeout=20)
    print(h.check(), late.check())


def test_sigstop_freeze_loses_no_acknowledged_message(broker_factory):
    """Node 3 is frozen (SIGSTOP) for longer than the links' timeout, then thawed: its links
    come back, the lanes resume, and every subscriber — node 3's included — gets every
    acknowledged message."""
    cl, nodes, names, h = traffic(broker_factory, **{"cluster.node_down_timeout": "60s"})
    os.kill(nodes[2].proc.pid, signal.SIGSTOP)
    try:
        wait_status(nodes[0], names[:2], [names[2]], timeout=20)
    finally:
        os.kill(nodes[2].proc.pid, signal.SIGCONT)
    for x in nodes:
        wait_status(x, names, timeout=30)
    time.sleep(1)
    h.finish(timeout=30)
    print(h.check())
