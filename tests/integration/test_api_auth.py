"""Who may use the HTTP API (docs/security.md §6): API keys (Basic), dashboard users who log
in for a bearer token (EMQX's /api/v5/login), starling ctl's local secret, EMQX's 401
bodies, and an address that keeps failing is refused for a while. These tests speak HTTP
themselves (http.client), without the harness's key."""

import base64
import http.client
import json
import subprocess
import time

import pytest

from clusterlib import Cluster, ctl, wait_api, wait_log, wait_status
from conftest import API_KEY, API_SECRET

pytestmark = pytest.mark.starling_only("Starling's API")


def call(b, method, path, auth=None, body=None, host=None):
    c = http.client.HTTPConnection(host or b.host, b.api_port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers=headers)
    r = c.getresponse()
    text = r.read()
    c.close()
    return r.status, json.loads(text) if text and text[:1] in b"[{" else text


def basic(key, secret):
    return "Basic " + base64.b64encode(("%s:%s" % (key, secret)).encode()).decode()


def login(b, user="admin", password="public"):
    status, body = call(b, "POST", "/api/v5/login", body={"username": user,
                                                          "password": password})
    assert status == 200, body
    return body


def test_every_endpoint_but_status_needs_a_credential(broker):
    wait_api(broker)
    assert call(broker, "GET", "/api/v5/nodes") == (401, {
        "code": "AUTHORIZATION_HEADER_ERROR", "message": "Support authorization: basic/bearer "})
    assert call(broker, "GET", "/status")[0] in (200, 503)  # a health check: no credential
    assert call(broker, "GET", "/api/v5/nodes", basic(API_KEY, API_SECRET))[0] == 200
    assert call(broker, "GET", "/api/v5/nodes", basic(API_KEY, "wrong")) == (401, {
        "code": "BAD_API_KEY_OR_SECRET", "message": "Check api_key/api_secret"})
    assert call(broker, "GET", "/api/v5/nodes", basic("nobody", API_SECRET))[0] == 401
    assert call(broker, "POST", "/api/v5/listeners/reload")[0] == 401
    assert call(broker, "DELETE", "/api/v5/cluster/x@127.0.0.1/force_leave")[0] == 401
    for method, path in (("GET", "/api/v5/clients"), ("GET", "/api/v5/clients/c1"),
                         ("DELETE", "/api/v5/clients/c1"),
                         ("POST", "/api/v5/clients/kickout/bulk"), ("GET", "/api/v5/alarms")):
        assert call(broker, method, path)[0] == 401, (method, path)


def test_login_gives_a_token_and_logout_ends_it(broker):
    wait_api(broker)
    got = login(broker)
    assert got["license"] == {"edition": "opensource"} and got["version"], got
    bearer = "Bearer " + got["token"]
    assert call(broker, "GET", "/api/v5/nodes", bearer)[0] == 200
    head, claims, sig = got["token"].split(".")
    exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert exp["iss"] == "EMQX" and exp["exp"] > time.time() * 1000, exp  # ms, as EMQX's
    forged = "%s.%s.%s" % (head, base64.urlsafe_b64encode(json.dumps(
        dict(exp, username="root")).encode()).decode().rstrip("="), sig)
    assert call(broker, "GET", "/api/v5/nodes", "Bearer " + forged) == (401, {
        "code": "BAD_TOKEN", "message": "Get a token by POST /login"})
    assert call(broker, "POST", "/api/v5/logout", bearer, {"username": "admin"})[0] == 204
    assert call(broker, "GET", "/api/v5/nodes", bearer)[1]["code"] == "BAD_TOKEN"
    assert call(broker, "POST", "/api/v5/login", body={"username": "admin",
                                                       "password": "nope"}) == (401, {
        "code": "BAD_USERNAME_OR_PWD", "message": "Auth failed"})
    assert "API: admin logged in with the default password; change it" in broker.log()
    wait_log(broker, "the API's user admin still has its default password")


@pytest.mark.broker_conf({"dashboard.token_expired_time": "1s"})
def test_a_token_expires(broker):
    wait_api(broker)
    bearer = "Bearer " + login(broker)["token"]
    deadline = time.monotonic() + 30
    while True:  # the event: the node refuses it as expired
        status, body = call(broker, "GET", "/api/v5/nodes", bearer)
        if status == 401:
            assert body == {"code": "TOKEN_TIME_OUT",
                            "message": "Token expired, get new token by POST /login"}
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_an_address_that_keeps_failing_is_refused_for_a_while(broker):
    wait_api(broker)
    for _ in range(10):
        assert call(broker, "GET", "/api/v5/nodes", basic(API_KEY, "guess"))[0] == 401
    status, body = call(broker, "GET", "/api/v5/nodes", basic(API_KEY, API_SECRET))
    assert status == 429 and body["code"] == "TOO_MANY_REQUESTS", body
    assert "10 failed attempts from 127.0.0.1" in broker.log()
    assert call(broker, "GET", "/status")[0] in (200, 503)


def test_ctl_uses_the_nodes_own_secret(broker, tmp_path):
    wait_api(broker)
    r = ctl(broker, "cluster", "status")
    assert r.returncode == 0 and "running_nodes" in r.stdout, r.stderr
    with open(broker.conf_path) as f:  # ctl of another data_dir has no secret to show
        text = f.read().replace('node.data_dir = "', 'node.data_dir = "%s/elsewhere' % tmp_path)
    other = tmp_path / "other.conf"
    other.write_text(text)
    p = subprocess.run([broker.command()[0], "-c", str(other), "ctl", "cluster", "status"],
                       capture_output=True, text=True, timeout=15)
    assert p.returncode != 0 and "ctl.secret" in p.stderr and "node's user" in p.stderr, p.stderr
    assert call(broker, "GET", "/api/v5/nodes", basic("starling-ctl", "0" * 64))[0] == 401


def test_a_bad_api_key_file_stops_the_node(broker_factory, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("good-key:good-secret\n\nviewer-key:secret:viewer\n")
    b = broker_factory({"api_key.bootstrap_file": str(keys)})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert '%s:3: role "viewer": only administrator' % keys in p.stdout + p.stderr


def test_credentials_hold_on_every_node(broker_factory, tmp_path):
    """A key from one node's bootstrap file and a token from one node's login work on the
    others: both are the cluster's."""
    keys = tmp_path / "keys.txt"
    keys.write_text("ops:ops-secret\n")
    cl = Cluster(broker_factory, 2)
    a = cl.node(0, seeds=(0, 1), **{"api_key.bootstrap_file": str(keys)})
    b = cl.node(1, seeds=(0, 1))
    for n in (a, b):
        n.start()
    for n in (a, b):
        wait_status(n, [cl.name(0), cl.name(1)], timeout=30)
    deadline = time.monotonic() + 15
    while call(b, "GET", "/api/v5/nodes", basic("ops", "ops-secret"))[0] != 200:
        assert time.monotonic() < deadline, "node 2 never knew node 1's key"
        time.sleep(0.1)
    bearer = "Bearer " + login(a)["token"]
    assert call(b, "GET", "/api/v5/nodes", bearer)[0] == 200


def test_the_default_cookie_off_loopback_is_warned_about(broker_factory):
    b = broker_factory({"cluster.listen": "0.0.0.0:0"}).start()
    wait_log(b, r"node.cookie is the default one and cluster.listen \(0.0.0.0:0\) is not on "
                r"loopback")
    b2 = broker_factory({"node.cookie": "a-long-private-cookie", "cluster.listen": "0.0.0.0:0"},
                        name="b2").start()
    wait_log(b2, "is running")
    assert "node.cookie is the default one" not in b2.log()


def test_dashboard_users(broker):
    """/api/v5/users (bearer tokens only): add one (EMQX's password rule), list, change a
    password, delete; a deleted user's token stops working; API keys may not touch it."""
    wait_api(broker)
    admin = "Bearer " + login(broker)["token"]
    assert call(broker, "GET", "/api/v5/users", basic(API_KEY, API_SECRET))[1]["code"] == \
        "API_KEY_NOT_ALLOW"
    assert call(broker, "POST", "/api/v5/users", admin,
                {"username": "ops", "password": "weak"})[0] == 400
    assert call(broker, "POST", "/api/v5/users", admin,
                {"username": "ops", "password": "Ops-pass-1"}) == (
        200, {"username": "ops", "description": ""})
    assert call(broker, "POST", "/api/v5/users", admin,
                {"username": "ops", "password": "Ops-pass-2"})[0] == 409
    users = sorted(u["username"] for u in call(broker, "GET", "/api/v5/users", admin)[1])
    assert users == ["admin", "ops"]
    ops = "Bearer " + login(broker, "ops", "Ops-pass-1")["token"]
    assert call(broker, "POST", "/api/v5/users/ops/change_pwd", ops,
                {"old_pwd": "nope", "new_pwd": "Ops-pass-3"})[1]["code"] == "ERROR_PWD_NOT_MATCH"
    assert call(broker, "POST", "/api/v5/users/ops/change_pwd", ops,
                {"old_pwd": "Ops-pass-1", "new_pwd": "Ops-pass-3"})[0] == 204
    assert call(broker, "POST", "/api/v5/login",
                body={"username": "ops", "password": "Ops-pass-1"})[0] == 401
    login(broker, "ops", "Ops-pass-3")
    assert call(broker, "DELETE", "/api/v5/users/admin", admin)[1]["code"] == "NOT_ALLOWED"
    assert call(broker, "DELETE", "/api/v5/users/ops", admin)[0] == 204
    assert call(broker, "GET", "/api/v5/nodes", ops)[1]["code"] == "BAD_TOKEN"
    assert call(broker, "DELETE", "/api/v5/users/ops", admin)[0] == 404


def test_ctl_admins(broker):
    """`starling ctl admins add|passwd|del` (EMQX's): the dashboard's users from the machine
    the node runs on; passwd needs no old password there, the password rule still holds."""
    wait_api(broker)
    r = ctl(broker, "admins", "add", "ops", "weak")
    assert r.returncode == 1 and "8 to 64" in r.stderr, (r.stdout, r.stderr)
    r = ctl(broker, "admins", "add", "ops", "Ops-pass-1")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    login(broker, "ops", "Ops-pass-1")
    r = ctl(broker, "admins", "passwd", "ops", "Ops-pass-2")
    assert r.returncode == 0, r.stderr
    assert call(broker, "POST", "/api/v5/login",
                body={"username": "ops", "password": "Ops-pass-1"})[0] == 401
    login(broker, "ops", "Ops-pass-2")
    r = ctl(broker, "admins", "passwd", "nobody", "Ops-pass-2")
    assert r.returncode == 1 and "USER_NOT_FOUND" in r.stderr, r.stderr
    r = ctl(broker, "admins", "del", "admin")
    assert r.returncode == 1 and "NOT_ALLOWED" in r.stderr, r.stderr
    r = ctl(broker, "admins", "del", "ops")
    assert r.returncode == 0, r.stderr
    assert call(broker, "POST", "/api/v5/login",
                body={"username": "ops", "password": "Ops-pass-2"})[0] == 401
    # a dashboard user's token still needs the old password
    admin = "Bearer " + login(broker)["token"]
    assert call(broker, "POST", "/api/v5/users/admin/change_pwd", admin,
                {"new_pwd": "Admin-pass-9"})[1]["code"] == "ERROR_PWD_NOT_MATCH"


def test_api_keys_by_name(broker):
    """/api/v5/api_key (bearer tokens only): a new key's secret is shown once and works at
    once; disabled or past its expired_at it is refused; deleted, gone. The harness's own
    key from its bootstrap file is listed under EMQX's name for such keys."""
    wait_api(broker)
    admin = "Bearer " + login(broker)["token"]
    assert call(broker, "GET", "/api/v5/api_key", basic(API_KEY, API_SECRET))[1]["code"] == \
        "API_KEY_NOT_ALLOW"
    status, app = call(broker, "POST", "/api/v5/api_key", admin,
                       {"name": "grafana", "desc": "dashboards", "enable": True})
    assert status == 200 and app["expired_at"] == "infinity" and len(app["api_key"]) == 16, app
    key = basic(app["api_key"], app["api_secret"])
    assert call(broker, "GET", "/api/v5/nodes", key)[0] == 200
    assert call(broker, "POST", "/api/v5/api_key", admin, {"name": "grafana"})[0] == 400
    assert call(broker, "POST", "/api/v5/api_key", admin, {"name": "9lives"})[0] == 400
    listed = {a["name"]: a for a in call(broker, "GET", "/api/v5/api_key", admin)[1]}
    assert "api_secret" not in listed["grafana"] and listed["grafana"]["desc"] == "dashboards"
    assert any(n.startswith("from_bootstrap_file_") for n in listed), listed
    assert call(broker, "PUT", "/api/v5/api_key/grafana", admin, {"enable": False})[1][
        "enable"] is False
    assert call(broker, "GET", "/api/v5/nodes", key)[1]["code"] == "BAD_API_KEY_OR_SECRET"
    assert call(broker, "PUT", "/api/v5/api_key/grafana", admin,
                {"enable": True, "expired_at": "2001-01-01T00:00:00Z"})[1]["expired"] is True
    assert call(broker, "GET", "/api/v5/nodes", key)[0] == 401
    assert call(broker, "DELETE", "/api/v5/api_key/grafana", admin)[0] == 204
    assert call(broker, "GET", "/api/v5/api_key/grafana", admin) == (
        404, {"code": "NOT_FOUND", "message": "Name NOT FOUND"})
