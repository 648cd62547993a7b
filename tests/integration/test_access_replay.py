"""Access control while a node reads the cluster's table anew (docs/security.md §5, mirror.h):
a node that fell behind receives a snapshot of the control plane's tables, and the users,
bans, rules and API keys made through the API are handed over again. Logins, ban checks,
authorization decisions and API calls made on that node meanwhile must see each row as it
was or as it is, never as missing: a user who exists is never refused, a banned client is
never let in, a denied topic is never granted, an API key that exists is never refused."""

import base64
import http.client
import json
import os
import random
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import mqttraw as m
from clusterlib import Cluster, api_call as api, connack, start_formed, wait_connack, wait_log

pytestmark = pytest.mark.starling_only("Starling's cluster")

USERS = "/api/v5/authentication/password_based%3Abuilt_in_database/users"
RULES = "/api/v5/authorization/sources/built_in_database/rules/all"
AUTHN = [{"mechanism": "password_based", "backend": "built_in_database",
          "password_hash_algorithm": {"name": "sha256", "salt_position": "suffix"}}]
NUSERS = 1500
RESTORED = r"tables restored from a snapshot"


def api_as(b, auth, path):
    """The status of GET path on node b with this Authorization header, or None if the
    node did not answer (it is frozen)."""
    try:
        c = http.client.HTTPConnection(b.host, b.api_port, timeout=5)
        c.request("GET", path, headers={"Authorization": auth})
        status = c.getresponse().status
        c.close()
        return status
    except OSError:
        return None


class Checks:
    """Threads that keep asking node b until stopped; each wrong answer is recorded."""

    def __init__(self, b, key):
        self.b, self.key, self.wrong, self.asked = b, key, [], 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(f,), daemon=True)
                        for f in (self._login, self._login, self._banned, self._denied,
                                  self._api)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _run(self, check):
        rnd = random.Random()
        while not self.stop.is_set():
            try:
                check(rnd)
                self.asked += 1
            except (OSError, AssertionError, EOFError):
                pass  # a connection cut or timed out answers nothing

    def _conn(self):
        return m.Conn(self.b.port, 5, host=self.b.host, timeout=5)

    def _login(self, rnd):
        i = rnd.randrange(NUSERS)
        c = self._conn()
        try:
            r = c.connect("login-%d" % i, username="u%d" % i, password=b"p%d" % i).reason
        finally:
            c.close()
        if r != 0:
            self.wrong.append("user u%d refused: CONNACK 0x%02x" % (i, r))

    def _banned(self, rnd):
        c = self._conn()
        try:
            r = c.connect("banned-dev", username="u0", password=b"p0").reason
        finally:
            c.close()
        if r == 0:
            self.wrong.append("the banned client id was let in")

    def _denied(self, rnd):
        c = self._conn()
        try:
            if c.connect("reader", username="u1", password=b"p1").reason != 0:
                return
            r = c.subscribe([("secret/x", 0)]).reasons[0]
        finally:
            c.close()
        if r != 0x87:
            self.wrong.append("SUBACK 0x%02x for a denied topic" % r)

    def _api(self, rnd):
        status = api_as(self.b, self.key, "/api/v5/nodes")
        if status is not None and status != 200:
            self.wrong.append("the API key was refused: HTTP %d" % status)


def test_a_node_given_a_snapshot_keeps_every_row_in_force(broker_factory):
    cl = Cluster(broker_factory, 3)
    conf = {"authentication": AUTHN,
            "authorization.sources": [{"type": "built_in_database"}],
            "authorization.no_match": "allow",
            "cluster.raft.snapshot_threshold": 16, "cluster.raft.snapshot_trailing": 0}
    nodes = [cl.node(i, seeds=(0, 1, 2), **conf) for i in range(3)]
    start_formed(cl, nodes)
    a, b = nodes[0], nodes[2]

    def add(uid, password):
        assert api(a, "POST", USERS, {"user_id": uid, "password": password})[0] == 201

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: add("u%d" % i, "p%d" % i), range(NUSERS)))
    assert api(a, "POST", "/api/v5/banned", {"as": "clientid", "who": "banned-dev"})[0] == 200
    rules = {"rules": [{"topic": "secret/#", "permission": "deny", "action": "subscribe"}]}
    assert api(a, "POST", RULES, rules) == (204, None)
    status, token = api(a, "POST", "/api/v5/login", {"username": "admin", "password": "public"})
    assert status == 200, token
    c = http.client.HTTPConnection(a.host, a.api_port, timeout=10)
    c.request("POST", "/api/v5/api_key", json.dumps({"name": "ops", "enable": True}),
              {"Authorization": "Bearer " + token["token"], "Content-Type": "application/json"})
    r = c.getresponse()
    app = json.loads(r.read())
    assert r.status == 200, app
    key = "Basic " + base64.b64encode(("%s:%s" % (app["api_key"], app["api_secret"])).encode()
                                      ).decode()
    # node b has every row before it is frozen
    last = "u%d" % (NUSERS - 1)
    wait_connack(b, 0, timeout=30, username=last, password=b"p%d" % (NUSERS - 1))
    wait_connack(b, 0x8A, client_id="banned-dev", username="u0", password=b"p0")
    deadline = time.monotonic() + 15
    while api_as(b, key, "/api/v5/nodes") != 200:
        assert time.monotonic() < deadline, "node b does not know the API key"
        time.sleep(0.1)

    asked, wrong = 0, []
    for r in range(3):
        # a user and a ban that b knows, deleted while it is down: gone once it caught up
        add("gone%d" % r, "g")
        ban = {"as": "clientid", "who": "gone-dev%d" % r}
        assert api(a, "POST", "/api/v5/banned", ban)[0] == 200
        wait_connack(b, 0, timeout=30, username="gone%d" % r, password=b"g")
        wait_connack(b, 0x8A, client_id="gone-dev%d" % r, username="u0", password=b"p0")
        restored = len(re.findall(RESTORED, b.log()))
        b.stop()
        assert api(a, "DELETE", USERS + "/gone%d" % r)[0] == 204
        assert api(a, "DELETE", "/api/v5/banned/clientid/gone-dev%d" % r)[0] == 204
        for i in range(40):  # more writes than a snapshot's worth: b catches up by one
            add("x%d-%d" % (r, i), "q")
        b.start()
        wait_connack(b, 0, timeout=30, username="u0", password=b"p0")  # its own snapshot is in
        with Checks(b, key) as checks:
            wait_log(b, RESTORED, timeout=30, count=restored + 2)  # then the leader's
            wait_connack(b, 0, timeout=30, username="x%d-39" % r, password=b"q")
        assert connack(b, username="gone%d" % r, password=b"g") == 0x87
        assert connack(b, client_id="gone-dev%d" % r, username="u0", password=b"p0") == 0
        asked += checks.asked
        wrong += checks.wrong
    assert asked > 0
    assert not wrong, wrong[:10]
