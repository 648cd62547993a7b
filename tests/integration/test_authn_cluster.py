"""Users of the built-in database across the cluster (docs/security.md §5): they are rows of
the control plane's replicated table, so a user known to one node is known to every node,
and a restarted node keeps them."""

import subprocess
import time

import pytest

from clusterlib import Cluster, api_call as api, connack, wait_connack, wait_status

pytestmark = pytest.mark.starling_only("Starling's cluster")

BUILTIN = {"mechanism": "password_based", "backend": "built_in_database"}


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


USERS = "/api/v5/authentication/password_based%3Abuilt_in_database/users"


def test_the_users_api_and_ctl_across_the_cluster(broker_factory):
    from clusterlib import ctl, start_formed
    cl = Cluster(broker_factory, 3)
    nodes = [cl.node(i, seeds=(0, 1, 2), authentication=[BUILTIN]) for i in range(3)]
    start_formed(cl, nodes)
    a, b, c = nodes
    assert api(a, "POST", USERS, {"user_id": "bob", "password": "pw1"}) == \
        (201, {"user_id": "bob", "is_superuser": False})
    assert api(a, "POST", USERS, {"user_id": "bob", "password": "x"})[0] == 409
    wait_connack(c, 0, username="bob", password=b"pw1")
    assert connack(c, username="bob", password=b"pw2") == 0x86
    # read from another node's copy once it has it
    deadline = time.monotonic() + 10
    while api(b, "GET", USERS + "/bob")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status, page = api(b, "GET", USERS + "?page=1&limit=10&like_user_id=bo")
    assert status == 200 and page["data"] == [{"user_id": "bob", "is_superuser": False}], page
    assert page["meta"] == {"page": 1, "limit": 10, "count": 1, "hasnext": False}, page
    assert api(b, "GET", USERS + "/nobody") == (404, {"code": "NOT_FOUND",
                                                      "message": "User not found"})
    assert api(b, "GET", USERS + "?page=0")[1]["code"] == "INVALID_PARAMETER"
    assert api(b, "POST", USERS, {"password": "x"})[0] == 400
    assert api(b, "POST", USERS, [1, 2])[0] == 400
    assert api(b, "GET", "/api/v5/authentication/jwt/users") == \
        (404, {"code": "NOT_FOUND", "message": "Authenticator 'jwt' does not exist"})
    # the CLI: a new password, a superuser with its password on stdin, a delete
    r = ctl(b, "users", "passwd", "bob", "pw2")
    assert r.returncode == 0 and "User bob updated" in r.stdout, r.stderr
    wait_connack(a, 0, username="bob", password=b"pw2")
    assert connack(a, username="bob", password=b"pw1") == 0x86
    p = subprocess.run([b.command()[0], "-c", b.conf_path, "ctl", "users", "add", "carol", "-",
                        "--superuser"], input="s3cret\n", capture_output=True, text=True,
                       timeout=15, cwd=b.dir)
    assert p.returncode == 0 and "User carol added" in p.stdout, p.stderr
    wait_connack(c, 0, username="carol", password=b"s3cret")
    r = ctl(c, "users", "list")
    assert r.returncode == 0 and '"is_superuser":true' in r.stdout, r.stdout
    r = ctl(c, "users", "delete", "bob")
    assert r.returncode == 0 and "User bob deleted" in r.stdout, r.stderr
    for n in nodes:
        wait_connack(n, 0x87, username="bob", password=b"pw2")
    r = ctl(c, "users", "delete", "bob")
    assert r.returncode != 0 and "404" in r.stderr, r.stderr
    # every node restarted: the users are the cluster's, kept by Raft
    for n in nodes:
        n.stop()
    for n in nodes:
        n.start()
    for n in nodes:
        wait_connack(n, 0, timeout=30, username="carol", password=b"s3cret")
        assert connack(n, username="bob", password=b"pw2") == 0x87
