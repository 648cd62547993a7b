"""Users of the built-in database across the cluster (docs/security.md §5): they are rows of
the control plane's replicated table, so a user known to one node is known to every node,
and a restarted node keeps them."""

import time

import pytest

import mqttraw as m
from clusterlib import Cluster, wait_status

pytestmark = pytest.mark.starling_only("Starling's cluster")

BUILTIN = {"mechanism": "password_based", "backend": "built_in_database"}


def connack(b, **kw):
    c = m.Conn(b.port, 5, host=b.host)
    try:
        return c.connect(kw.pop("client_id", "c1"), **kw).reason
    finally:
        c.close()


def wait_connack(b, want, timeout=15, **kw):
    """Wait until a CONNECT with these credentials gets `want` (the change has reached b)."""
    deadline = time.monotonic() + timeout
    while True:
        got = connack(b, **kw)
        if got == want:
            return
        assert time.monotonic() < deadline, "%s: CONNACK %#x, want %#x" % (b.host, got, want)
        time.sleep(0.1)


def test_a_bootstrap_files_users_reach_every_node_and_survive_a_restart(broker_factory,
                                                                        tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,password,is_superuser\nalice,secret1,false\n")
    cl = Cluster(broker_factory, 3)
    auth = [dict(BUILTIN, bootstrap_file=str(users))]
    nodes = [cl.node(0, seeds=(0, 1, 2), authentication=auth)]
    nodes += [cl.node(i, seeds=(0, 1, 2), authentication=[BUILTIN]) for i in (1, 2)]
    for n in nodes:
        n.start()
    names = [cl.name(i) for i in range(3)]
    for n in nodes:
        wait_status(n, names, timeout=30)
    for n in nodes:  # nodes 1 and 2 have no file: the cluster's table told them
        wait_connack(n, 0, username="alice", password=b"secret1")
        assert connack(n, username="alice", password=b"wrong") == 0x86
    nodes[2].stop()
    nodes[2].start()  # its users come back from its Raft log, not from a file
    wait_status(nodes[2], names, timeout=30)
    wait_connack(nodes[2], 0, username="alice", password=b"secret1")
