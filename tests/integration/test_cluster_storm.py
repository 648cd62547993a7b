"""A reconnect storm (issue 5): 20,000 persistent clients, each with a wildcard subscription,
spread over three nodes, lose their connections at once and reconnect at once to nodes
picked at random. Afterwards every client id has exactly one connection (each client's
connection stays up and the registry holds one row per id on every node) and every
subscription works: a probe published to each client's topic reaches it."""

import multiprocessing
import random
import resource
import time

import pytest

import mqttraw as m
import storm
from clusterlib import wait_info
from test_cluster_pubsub import routes, three_nodes

pytestmark = [pytest.mark.starling_only("Starling's cluster"),
              pytest.mark.plain_only("a load test of 20,000 clients"),
              # its own waits are bounded (below); a sanitizer build on a slow machine
              # takes several times the 10 s it takes here
              pytest.mark.time_limit(400)]

N = 20000
SHARDS = 4  # processes: each one's descriptor limit caps its clients


def shard(k, ids, addrs, barrier, results):
    """One process's clients: connect and subscribe (phase 1), reset, reconnect at random
    (phase 2), receive the probes (phase 3); report counts."""
    rng = random.Random(k)
    clients = [storm.Client(cid) for cid in ids]
    for i, c in enumerate(clients):
        c.host, c.port = addrs[(i + k) % len(addrs)]

    def subscribed(c, first, body):
        if first >> 4 == m.CONNACK:
            assert body[1] == 0, (c.cid, body)
            return False
        return first >> 4 == m.SUBACK

    def start1(c):
        return storm.connect_packet(c.cid) + m.subscribe(
            1, [("st/%s/#" % c.cid, m.subopts(1))], version=5)

    left = []
    for j in range(0, len(clients), 1000):  # 1,000 at a time: the subscriptions
        left += storm.run(clients[j:j + 1000], start1, subscribed, 120)
    for c in clients:
        if c.sock:
            storm.reset(c)
    barrier.wait()  # every shard has dropped its connections
    for c in clients:
        c.host, c.port = storm.pick(addrs, rng)
    present = []

    def connacked(c, first, body):
        if first >> 4 == m.CONNACK:
            present.append(body[0] & 1)
            return True
        return False

    storm.run(clients, lambda c: storm.connect_packet(c.cid), connacked, 120)  # all at once
    barrier.wait()  # every shard has reconnected: the probes go out
    probed, kicked = set(), []

    def probe(c, first, body):
        t = first >> 4
        if t == m.DISCONNECT:
            kicked.append(c.cid)
            return True
        if t == m.PUBLISH:
            tl = struct_u16(body)
            topic = body[2:2 + tl].decode()
            pid = struct_u16(body[2 + tl:])
            c.sock.send(m.ack(m.PUBACK, pid, version=5))
            if topic == "st/%s/probe" % c.cid:
                probed.add(c.cid)
                return True
        return False

    for c in clients:
        c.out = b""
    rest = storm.run_existing(clients, probe, 120)
    results.put({"shard": k, "subscribe_failed": len(left), "connacks": len(present),
                 "present": sum(present), "probed": len(probed), "kicked": len(kicked),
                 "no_probe": len(rest)})


def struct_u16(b):
    return b[0] << 8 | b[1]


def move_trouble(nodes):
    """The nodes' warnings about session moves (a failure's message carries them)."""
    marks = ("no node answered", "did not come", "confirmed its routes", "never took")
    lines = [ln for x in nodes for ln in x.log().splitlines() if any(k in ln for k in marks)]
    return "%d move warnings: %s" % (len(lines), lines[:5])


def test_reconnect_storm_of_20000_clients(broker_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < N // SHARDS + 1000:
        why = "the descriptor limit (%d) is too low for %d clients per process" % (hard, N // SHARDS)
        print("skipped: " + why)
        pytest.skip(why)
    cl, nodes = three_nodes(broker_factory)
    addrs = [(x.host, x.port) for x in nodes]
    ids = ["c%05d" % i for i in range(N)]
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(SHARDS + 1), ctx.Queue()
    procs = [ctx.Process(target=shard, args=(k, ids[k::SHARDS], addrs, barrier, results))
             for k in range(SHARDS)]
    for p in procs:
        p.start()
    t0 = time.monotonic()

    def phase(what):  # where a stall happened, in the captured output of a failure
        print("%6.1fs %s" % (time.monotonic() - t0, what), flush=True)
    try:
        barrier.wait(timeout=300)  # subscribed, then cut off
        phase("all subscribed and cut off")
        barrier.wait(timeout=300)  # reconnected at random
        phase("all reconnected")
        for x in nodes:  # one row per client id, on every node
            wait_info(x, lambda i: i["registry"] == N, "%d registrations" % N, timeout=120)
        phase("registries complete")
        # one route per client, and every node's route changes applied by every other node:
        # a session that moved is matched where it is now, not where it was
        def settled():
            rs = [routes(x) for x in nodes]
            return (sum(r["local_routes"] for r in rs) == N
                    and all(r["route_ops_pending"] == 0 for r in rs)), rs
        deadline = time.monotonic() + 120
        while not settled()[0]:
            assert time.monotonic() < deadline, (settled()[1], move_trouble(nodes))
            time.sleep(0.2)
        phase("routes settled")
        # (the publisher below makes it N + 1 afterwards)
        pub = m.Conn(nodes[0].port, 5, host=nodes[0].host, timeout=60)
        assert pub.connect("storm-pub").reason == 0
        for k in range(0, N, 30):  # within the server's Receive Maximum
            window = ids[k:k + 30]
            pub.send(b"".join(m.publish("st/%s/probe" % cid, b"p", qos=1, packet_id=j + 1,
                                        version=5) for j, cid in enumerate(window)))
            for _ in window:
                ack = pub.expect(m.PUBACK, timeout=60)
                assert ack.reason == 0, (ack, [routes(x) for x in nodes], move_trouble(nodes))
        phase("probes acknowledged")
        got = [results.get(timeout=300) for _ in procs]
        phase("probes received")
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    total = {k: sum(r[k] for r in got) for k in got[0] if k != "shard"}
    print(total)
    assert total["subscribe_failed"] == 0
    assert total["connacks"] == N and total["kicked"] == 0
    assert total["probed"] == N and total["no_probe"] == 0
    # the shards' random picks are seeded: about two thirds of the sessions changed node
    moved = sum(x.log().count("its session moves there") for x in nodes)
    assert moved > N // 2, moved
