"""Cluster formation with the configs users write (docs/cluster.md §5.6, the bootstrap rule):
every node with the same static seed list (itself included), nodes started in any order or
all at once, seeds only in the environment, a seed that never starts, and restarts of every
node. Each case ends with one uuid, one leader, the same member table on every node, and a
QoS 1 message that crosses nodes."""

import itertools
import json
import time

import pytest

from clusterlib import Cluster, cluster_info, message_crosses, status, up_members, wait_info

pytestmark = pytest.mark.starling_only("Starling's cluster")


def symmetric(cl, n, order=None, env=False, replicants=0, **conf):
    """Make n cores with the same seed list naming all of them (and `replicants` more nodes
    with role replicant and the same list); started in `order` (indexes), all at once when
    order is None. Returns the nodes by index."""
    names = [cl.name(i) for i in range(n)]
    nodes = []
    for i in range(n + replicants):
        extra = dict(conf)
        if i >= n:
            extra["node.role"] = "replicant"
        if env:
            e = {"STARLING_NODE__NAME": cl.name(i), "EMQX_DISCOVERY_STRATEGY": "static",
                 "EMQX_STATIC_DISCOVERY_NODES": ",".join(names)}
            if i >= n:
                e["STARLING_NODE__ROLE"] = "replicant"
            nodes.append(cl.node(i, env=e, **extra))
        else:
            nodes.append(cl.node(i, **dict(extra, **{
                "cluster.discovery_strategy": "static", "cluster.static.seeds": names})))
    start(nodes, order)
    return nodes


def start(nodes, order=None):
    if order is None:  # all at once: spawn every process before waiting for any
        for b in nodes:
            b.spawn()
        for b in nodes:
            b.wait_ready()
    else:
        for i in order:
            nodes[i].start()


def one_cluster(cl, nodes, cores=None, timeout=40):
    """Every node: the same uuid, every core up in its member table, one leader among the
    cores, and `ctl cluster status` naming them all running. Then a message crosses from
    the first node to the last."""
    cores = cores if cores is not None else len(nodes)
    names = sorted(cl.name(i) for i in range(len(nodes)))
    infos = [wait_info(b, lambda i: up_members(i) == names and i["uuid"], "all members up",
                       timeout=timeout) for b in nodes]
    assert len({i["uuid"] for i in infos}) == 1, [i["uuid"] for i in infos]
    deadline = time.monotonic() + timeout
    while True:
        infos = [cluster_info(b) for b in nodes[:cores]]
        leaders = [i for i in infos if i["raft"]["state"] == "leader"]
        if len(leaders) == 1 and all(i["raft"]["voters"] == cores for i in infos):
            break
        assert time.monotonic() < deadline, infos
        time.sleep(0.2)
    tables = [sorted((m["node"], m["state"]) for m in cluster_info(b)["members"]) for b in nodes]
    assert all(t == tables[0] for t in tables), tables
    for b in nodes:
        s = status(b)
        assert sorted(s["running_nodes"]) == names and s["stopped_nodes"] == [], s
    message_crosses(nodes[0], nodes[-1], "form/%d" % len(nodes), b"crossed")
    return infos[0]["uuid"]


def test_symmetric_seeds_all_at_once(broker_factory):
    cl = Cluster(broker_factory, 3)
    nodes = symmetric(cl, 3)
    one_cluster(cl, nodes)
    assert "forming one (smallest name)" in nodes[0].log()


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))),
                         ids=lambda o: "".join(str(i + 1) for i in o))
def test_symmetric_seeds_one_at_a_time(broker_factory, order):
    cl = Cluster(broker_factory, 3)
    one_cluster(cl, symmetric(cl, 3, order=order))


def test_two_nodes_name_each_other(broker_factory):
    cl = Cluster(broker_factory, 2)
    a = cl.node(0, seeds=[1]).start()
    b = cl.node(1, seeds=[0]).start()
    one_cluster(cl, [a, b])


def test_five_cores_and_two_replicants(broker_factory):
    cl = Cluster(broker_factory, 7)
    one_cluster(cl, symmetric(cl, 5, replicants=2), cores=5, timeout=60)


def test_all_restart_together_and_in_reverse(broker_factory):
    cl = Cluster(broker_factory, 3)
    nodes = symmetric(cl, 3)
    uuid = one_cluster(cl, nodes)
    for b in nodes:
        b.stop()
    start(nodes)  # all at once, with their data dirs
    assert one_cluster(cl, nodes) == uuid
    for b in nodes:
        b.stop()
    start(nodes, order=[2, 1, 0])
    assert one_cluster(cl, nodes) == uuid


@pytest.mark.parametrize("with_self", [True, False], ids=["with-self", "without-self"])
def test_seeds_from_the_environment_only(broker_factory, with_self):
    """The seed documents' form: EMQX_STATIC_DISCOVERY_NODES=a@h,b@h (and the nested
    STARLING_CLUSTER__STATIC__SEEDS list), no seeds in any file."""
    cl = Cluster(broker_factory, 3)
    nodes = []
    for i in range(3):
        names = [cl.name(j) for j in range(3) if with_self or j != i]
        env = {"STARLING_NODE__NAME": cl.name(i), "STARLING_CLUSTER__DISCOVERY_STRATEGY": "static"}
        if i == 1:
            env["STARLING_CLUSTER__STATIC__SEEDS"] = "[%s]" % ",".join('"%s"' % n for n in names)
        else:
            env["EMQX_STATIC_DISCOVERY_NODES"] = ",".join(names)
        nodes.append(cl.node(i, env=env))
    start(nodes)
    one_cluster(cl, nodes)


def test_a_seed_that_never_starts(broker_factory):
    """The list names 127.0.0.2, which never starts: the smallest name the others reach
    forms the cluster, and nobody waits for the missing one."""
    cl = Cluster(broker_factory, 3)
    names = [cl.name(i) for i in range(3)]
    nodes = [cl.node(i, **{"cluster.discovery_strategy": "static",
                           "cluster.static.seeds": names}) for i in (1, 2)]
    start(nodes)
    infos = [wait_info(b, lambda i: up_members(i) == names[1:], "the two that run are up",
                       timeout=40) for b in nodes]
    assert len({i["uuid"] for i in infos}) == 1 and infos[0]["uuid"], infos
    assert "forming one (smallest name)" in nodes[0].log()
    message_crosses(nodes[0], nodes[1], "form/missing", b"crossed")


def http_status(b):
    """GET /status: (HTTP status, text)."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen("http://%s:%d/status" % (b.host, b.api_port), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_status_never_claims_a_cluster_that_is_not_formed(broker_factory):
    """While three nodes with the same seeds form a cluster, every status answer on every
    node names as running only members of its own formed cluster; before that it says
    "not formed yet" and /status answers 503; once formed, 200 everywhere."""
    cl = Cluster(broker_factory, 3)
    nodes = symmetric(cl, 3)
    names = sorted(cl.name(i) for i in range(3))
    formed = set()
    last = {}
    deadline = time.monotonic() + 40
    while len(formed) < 3:
        assert time.monotonic() < deadline, "not formed on every node: %s" % json.dumps(last)
        for i, b in enumerate(nodes):
            s = status(b)
            info = cluster_info(b)
            last[cl.name(i)] = (s, info)
            up = (set(up_members(info)) if info["uuid"] else set()) | {cl.name(i)}
            assert set(s["running_nodes"]) <= up, (s, info)
            code, text = http_status(b)
            if "not_formed" in s:
                assert s["running_nodes"] == [cl.name(i)], s
            if sorted(s["running_nodes"]) == names and "not_formed" not in s:
                assert code == 200 and "starling is running" in text, (code, text)
                formed.add(i)
            elif code == 503:
                assert "not in a cluster yet" in text, text
        time.sleep(0.1)
    one_cluster(cl, nodes)


def test_replicants_without_a_core_say_so(broker_factory):
    """Two replicants whose only core never starts link to each other, but neither is in a
    cluster: status shows each alone, the other as linked and not a member, why it is not
    formed; /status is 503; `ctl cluster status` prints the same in words."""
    from clusterlib import ctl
    cl = Cluster(broker_factory, 3)
    seeds = [cl.name(i) for i in range(3)]  # 127.0.0.2, the core, never starts
    reps = [cl.node(i, **{"node.role": "replicant", "cluster.discovery_strategy": "static",
                          "cluster.static.seeds": seeds}) for i in (1, 2)]
    start(reps)
    for i, b in zip((1, 2), reps):
        other = cl.name(3 - i)
        deadline = time.monotonic() + 20
        while True:
            s = status(b)
            if s.get("linked_nodes") == [other]:
                break
            assert time.monotonic() < deadline, s
            time.sleep(0.1)
        assert s["running_nodes"] == [cl.name(i)] and s["stopped_nodes"] == [], s
        assert "waiting for a core" in s["not_formed"], s
        code, text = http_status(b)
        assert code == 503 and "not in a cluster yet" in text, (code, text)
        out = ctl(b, "cluster", "status").stdout
        assert "Linked, not members: ['%s']" % other in out and "Not formed yet:" in out, out


def test_a_fresh_node_that_joins_takes_clients_once_it_has_the_routes(broker_factory):
    """Two nodes of three (the same seed list on all) run, with a subscriber on the first. The
    third starts fresh and a publisher connects to it as soon as its port is open: its
    CONNACK waits until the node has joined and has the others' routes, so the QoS 1
    PUBLISH reaches the subscriber (PUBACK 0, not 0x10 "no matching subscribers")."""
    import mqttraw as m
    from clusterlib import wait_status
    cl = Cluster(broker_factory, 3)
    names = [cl.name(i) for i in range(3)]
    conf = {"cluster.discovery_strategy": "static", "cluster.static.seeds": names}
    nodes = [cl.node(i, **conf) for i in range(3)]
    start(nodes[:2])
    for b in nodes[:2]:
        wait_status(b, names[:2], timeout=40)
    sub = m.Conn(nodes[0].port, 5, host=nodes[0].host)
    assert sub.connect("fresh-sub").reason == 0
    sub.subscribe([("fresh/#", m.subopts(1))])
    third = nodes[2].spawn()
    deadline = time.monotonic() + 30
    while True:
        try:
            pub = m.Conn(third.port, 5, host=third.host, timeout=30)
            break
        except OSError:
            assert time.monotonic() < deadline and third.proc.poll() is None, third.log()
            time.sleep(0.01)
    ca = pub.connect("fresh-pub")
    assert ca.reason == 0
    ack = pub.publish("fresh/1", b"first", qos=1)
    assert ack.reason == 0, "PUBACK 0x%02x: the node took a client before it had the routes" % (
        ack.reason)
    assert sub.expect_publish().payload == b"first"
    assert "routes of 2 member(s) in" in third.log(), third.log()
