"""The dashboard (docs/operations.md, "Dashboard"), served by every node on the API port and
shown in a real headless Chromium (Debian's chromium, driven by npm playwright-core): log in,
see the three nodes, find a client by id and kick it out (the MQTT client gets DISCONNECT
0x98), a bad setting refused with the API's message and a good one taken, a bad config value
refused with the schema's message in the config editor and a good one reaching every node,
every other page shown; a screenshot of each page is kept in the test's directory."""

import os
import subprocess

import pytest

import mqttraw as m
from test_js import JS, node_path  # noqa: F401 (the fixture)

pytestmark = pytest.mark.starling_only("Starling's dashboard")


def test_the_dashboard_in_chromium(broker_factory, node_path, tmp_path):  # noqa: F811
    from clusterlib import members_up
    if not os.access("/usr/bin/chromium", os.X_OK):
        pytest.skip("chromium is not installed (scripts/deps.sh installs it)")
    nodes, names = members_up(broker_factory, 3,
                              **{"authorization.sources": [{"type": "built_in_database"}]})
    victim = m.Conn(nodes[2].port, 5, host=nodes[2].host)
    assert victim.connect("dash-victim").reason == 0
    shots = tmp_path / "screenshots"
    shots.mkdir()
    base = "http://%s:%d" % (nodes[0].host, nodes[0].api_port)
    r = subprocess.run(["node", os.path.join(JS, "dashboard.js"), base, "admin", "public",
                        "dash-victim", "3", str(shots)], capture_output=True, text=True,
                       timeout=240, env=dict(os.environ, NODE_PATH=node_path))
    out = r.stdout.splitlines()
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "nodes 3" in out and "kicked" in out, out
    assert "bad level: the body must be {\"level\": debug, info, notice, warning, error or " \
        "critical}" in out, out
    assert "level: Log level is now info." in out, out
    assert "bad config: request body:2: mqtt.max_inflight: expected integer, got string " \
        "\"lots\"" in out, out
    assert "config: Changed: mqtt.max_mqueue_len." in out, out
    for what in ("ban", "key", "user"):
        assert what + " made" in out and what + " taken back" in out, out
    assert "acl rule made" in out, out
    from clusterlib import api_call  # what the page did, seen through node 3
    assert api_call(nodes[2], "GET", "/api/v5/banned")[1]["data"] == []
    st, rules = api_call(nodes[2], "GET", "/api/v5/authorization/sources/built_in_database/"
                         "rules/users/dash-user")
    assert st == 200 and [(r["topic"], r["permission"], r["action"]) for r in rules["rules"]] \
        == [("t/#", "deny", "publish")], rules
    from test_api_configs import wait_shows  # node 3 has the change made on node 1's page
    wait_shows(nodes[2], "mqtt.max_mqueue_len", "max_mqueue_len = 500")
    for page in ("subscriptions", "topics", "retained", "listeners", "access", "alarms"):
        assert "page %s ok" % page in out, out
    assert not [x for x in out if x.startswith("page error")], out
    victim.expect_disconnect([0x98])
    for name in ("login", "overview", "clients", "client", "settings-verbose", "listeners",
                 "config", "config-error", "config-saved", "access-ban", "access-acl"):
        assert (shots / (name + ".png")).stat().st_size > 1000, name
    # the files come from the binary: no CDN, nothing else to serve them
    import http.client
    conn = http.client.HTTPConnection(nodes[1].host, nodes[1].api_port, timeout=15)
    conn.request("GET", "/app.js")  # no credential: the files are public, the data is not
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/javascript")
    assert b"/api/v5" in resp.read()
    conn.close()
    victim.close()
