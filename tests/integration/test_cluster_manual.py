"""Manual discovery (cluster.discovery_strategy = manual, the default): nodes start alone and
are put together with `starling ctl cluster join <node>`, and taken apart with `starling ctl
cluster leave`, as with `emqx ctl cluster join|leave`."""

import glob
import os
import subprocess
import time

from clusterlib import Cluster, cluster_info, ctl, members, wait_api, wait_info, wait_status
from test_cluster_pubsub import client, wait_routes


def ctl_long(b, *args):
    """join and leave answer once done: give them longer than clusterlib.ctl does."""
    wait_api(b)
    return subprocess.run([b.command()[0], "-c", b.conf_path, "ctl", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=90,
                          cwd=b.dir)


def uuid(b):
    return wait_info(b, lambda i: i["uuid"] != "" and i["raft"]["state"] in ("leader", "follower"),
                     "a control plane")["uuid"]


def leader(nodes):
    for n in nodes:
        if cluster_info(n)["raft"]["state"] == "leader":
            return n
    return None


def test_join_and_leave_by_command(broker_factory):
    """Three nodes with the default (manual) strategy start as three clusters of one. Node 2
    joins node 1; node 3 joins node 2 (a follower: it points node 3 at the leader). Then the
    three are one Raft cluster with one uuid, and a subscriber on node 3 gets what node 1
    publishes. Node 3 leaves: it is alone again (a new uuid), the others list it as left,
    hold none of its routes and keep 2 voters. It joins again. Then the leader itself leaves:
    it hands leadership over first, and the other two go on as a cluster of two."""
    cl = Cluster(broker_factory, 3)
    n1, n2, n3 = nodes = [cl.node(i).start() for i in range(3)]
    names = [cl.name(i) for i in range(3)]
    ids = [uuid(n) for n in nodes]
    assert len(set(ids)) == 3, ids
    for n, name in zip(nodes, names):
        wait_status(n, [name])

    r = ctl_long(n2, "cluster", "join", names[0])
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Join the cluster successfully." in r.stdout and names[0] in r.stdout, r.stdout
    r = ctl_long(n3, "cluster", "join", names[1])
    assert r.returncode == 0, (r.stdout, r.stderr)
    for n in nodes:
        wait_status(n, names, timeout=20)
    assert {uuid(n) for n in nodes} == {ids[0]}
    wait_info(n1, lambda i: i["raft"]["voters"] == 3, "3 voters")

    sub = client(n3, "sub3")
    sub.subscribe("man/#", qos=1)
    wait_routes(n1, names[2], 1)
    pub = client(n1, "pub1")
    pub.publish("man/1", b"hello", qos=1)
    assert sub.get().payload == b"hello"

    r = ctl_long(n3, "cluster", "leave")
    assert r.returncode == 0 and "Leave the cluster successfully." in r.stdout, (r.stdout, r.stderr)
    assert "handing this node's sessions to 2 other member(s)" in n3.log()  # sub3's went
    sub.close()
    wait_status(n3, [names[2]])
    new3 = uuid(n3)
    assert new3 != ids[0]
    # its old Raft state is kept aside, not deleted (two: from the join and from the leave)
    assert len(glob.glob(os.path.join(n3.dir, "data", "raft.old-*"))) == 2
    for n in (n1, n2):
        wait_status(n, names[:2])
        wait_info(n, lambda i: members(n)[names[2]]["state"] == "left", "node 3 left")
        wait_routes(n, names[2], 0)
    wait_info(leader([n1, n2]), lambda i: i["raft"]["voters"] == 2, "2 voters")
    pub.publish("man/2", b"gone", qos=1)

    r = ctl_long(n3, "cluster", "join", names[0])
    assert r.returncode == 0, (r.stdout, r.stderr)
    for n in nodes:
        wait_status(n, names, timeout=20)
    assert uuid(n3) == ids[0]
    sub = client(n3, "sub3b")
    sub.subscribe("man/#", qos=1)
    wait_routes(n1, names[2], 1)
    pub.publish("man/3", b"back", qos=1)
    assert sub.get().payload == b"back"

    lead = leader(nodes)
    rest = [n for n in nodes if n is not lead]
    r = ctl_long(lead, "cluster", "leave")
    assert r.returncode == 0 and "Leave the cluster successfully." in r.stdout, (r.stdout, r.stderr)
    assert "handing leadership over" in lead.log()
    rest_names = [names[nodes.index(n)] for n in rest]
    for n in rest:
        wait_status(n, rest_names, timeout=20)
    assert {uuid(n) for n in rest} == {ids[0]}
    assert uuid(lead) not in (ids[0], new3)
    wait_status(lead, [names[nodes.index(lead)]])
    sub.close()
    pub.close()


def test_join_and_leave_errors(broker_factory):
    """Clear refusals: joining itself or a malformed name (HTTP 400), joining while in a
    cluster with others (409: leave first), leaving while alone (404); the node keeps
    running and its status does not change."""
    cl = Cluster(broker_factory, 2)
    n1, n2 = cl.node(0).start(), cl.node(1).start()
    names = [cl.name(0), cl.name(1)]
    uuid(n1)
    r = ctl(n1, "cluster", "join", names[0])
    assert r.returncode == 1 and "HTTP 400" in r.stderr and "another node" in r.stderr, r.stderr
    r = ctl(n1, "cluster", "join", "nohost")
    assert r.returncode == 1 and "HTTP 400" in r.stderr, r.stderr
    r = ctl(n1, "cluster", "leave")
    assert r.returncode == 1 and "HTTP 404" in r.stderr and "not in a cluster" in r.stderr, r.stderr
    uuid(n2)  # n2 has its own rows (a cluster of one) before it is asked to join
    r = ctl_long(n2, "cluster", "join", names[0])
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = ctl(n2, "cluster", "join", names[0])
    assert r.returncode == 1 and "HTTP 409" in r.stderr and "already" in r.stderr, r.stderr
    r = ctl(n1, "cluster", "join", "starling@127.0.0.9")
    assert r.returncode == 1 and "HTTP 409" in r.stderr and "leave it first" in r.stderr, r.stderr
    wait_status(n1, names)
    time.sleep(0.5)
    wait_status(n2, names)
