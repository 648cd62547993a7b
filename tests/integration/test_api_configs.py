"""Configuration through the API and `ctl conf` (docs/operations.md, "Configuration through the
API"): EMQX's cluster.hocon model. A change is checked by the file's schema (the same
messages), written through the control plane, applied on every node at once where the key
allows it, kept in <data_dir>/configs/cluster.hocon across restarts, and says which keys wait
for a restart; read-only roots and keys the environment holds are refused."""

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import mqttraw as m
from clusterlib import ctl, members_up, wait_api, wait_connack
from conftest import STARLING_BIN

pytestmark = pytest.mark.starling_only("Starling's config API")

LONG_ID = "a-client-id-longer-than-23-characters"


def call(b, method, path, body=None, ctype="text/plain", accept=None):
    """(status, text) of an API call with the harness's key (conftest's opener)."""
    req = urllib.request.Request("http://%s:%d%s" % (b.host, b.api_port, path),
                                 data=body.encode() if body is not None else None, method=method,
                                 headers={"Content-Type": ctype})
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def put(b, text, mode="merge", ignore_readonly=None):
    q = "?mode=" + mode + ("&ignore_readonly=" + ignore_readonly if ignore_readonly else "")
    return call(b, "PUT", "/api/v5/configs" + q, text)


def show(b, key=""):
    st, text = call(b, "GET", "/api/v5/configs" + ("?key=" + key if key else ""))
    assert st == 200, (st, text)
    return text


def wait_shows(b, key, line, timeout=15):
    deadline = time.monotonic() + timeout
    while line not in show(b, key):
        assert time.monotonic() < deadline, "%s never shows %r:\n%s" % (b.dir, line, show(b, key))
        time.sleep(0.1)


def uptimes(c, node, n, timeout=20):
    """n uptime heartbeats of node (retained copies skipped)."""
    got = []
    while len(got) < n:
        p = c.expect_publish(timeout=timeout)
        if p.topic == "$SYS/brokers/%s/uptime" % node and not p.retain:
            got.append(int(p.payload))
    return got


def test_a_change_reaches_every_node_at_once_and_survives_a_restart(broker_factory):
    nodes, names = members_up(broker_factory, 3, **{"sys_topics.sys_heartbeat_interval": "1h"})
    n1, n2, n3 = nodes
    c = m.Conn(n2.port, 5, host=n2.host)
    assert c.connect(LONG_ID).reason == 0  # 37 characters are fine at the defaults
    c.close()

    st, text = put(n1, "mqtt.max_clientid_len = 23\n"
                       "sys_topics { sys_heartbeat_interval = 1s }\n"
                       "listeners.tcp.default.max_connections = 5000\n")
    assert st == 200, text
    ans = json.loads(text)
    assert ans["changed"] == ["listeners.tcp.default.max_connections", "mqtt.max_clientid_len",
                              "sys_topics.sys_heartbeat_interval"], ans
    assert ans["restart_required"] == ["listeners.tcp.default.max_connections"], ans

    # every node has it, and runs with it: a long client id is refused on node 2 ...
    for b in nodes:
        wait_shows(b, "mqtt.max_clientid_len", "max_clientid_len = 23")
    wait_connack(n2, 0x85, client_id=LONG_ID)
    # ... and node 3 beats every second instead of every hour
    watch = m.Conn(n3.port, 5, host=n3.host)
    assert watch.connect("watch").reason == 0
    watch.subscribe([("$SYS/brokers/%s/uptime" % names[2], 0)])
    beats = uptimes(watch, names[2], 2)
    assert beats[1] > beats[0], beats
    watch.close()
    # the key that waits for a restart says so where the config is shown
    assert "# waiting for a restart to take effect: listeners.tcp.default.max_connections" \
        in show(n3), show(n3)[:500]
    with open(os.path.join(n3.dir, "data", "configs", "cluster.hocon")) as f:
        kept = f.read()
    assert "max_clientid_len = 23" in kept, kept

    n2.restart()
    wait_api(n2)
    wait_shows(n2, "mqtt.max_clientid_len", "max_clientid_len = 23", timeout=5)
    assert "max_connections = 5000" in show(n2, "listeners.tcp.default")
    assert "waiting for a restart" not in show(n2)  # it took it at its start
    wait_connack(n2, 0x85, client_id=LONG_ID)


def error_of_file(tmp_path, text):
    """The message a node gives for text in its config file (it refuses to start)."""
    path = tmp_path / "bad.conf"
    path.write_text(text)
    r = subprocess.run([STARLING_BIN, "-c", str(path), "ping"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=15)
    assert r.returncode != 0
    return r.stderr


def test_bad_changes_are_refused_and_change_nothing(broker, tmp_path):
    wait_api(broker)
    before = show(broker)
    bad = "mqtt {\n  max_inflight = lots\n}\n"
    st, text = put(broker, bad)
    assert st == 400, text
    msg = json.loads(text)
    assert msg["code"] == "UPDATE_FAILED", msg
    assert msg["message"].startswith("request body:2: "), msg
    # the schema's own words, as for the same line in a file
    file_msg = error_of_file(tmp_path, bad)
    said = msg["message"][len("request body:2: "):]
    assert said in file_msg, (said, file_msg)

    for body, mode, why in [("mqtt { max_inflight = 0 }", "replace", "out of range"),
                            ("mqtt { max_inflight = 5, no_such_key = 1 }", "replace", "unknown"),
                            ("mqtt { max_inflight = ", "merge", ""),
                            ('include "/etc/passwd"', "merge", "")]:
        st, text = put(broker, body, mode)
        assert st == 400, (body, text)
        assert why in text, (body, text)
    assert show(broker) == before  # nothing changed

    st, text = put(broker, 'node.cookie = "other"\nmqtt.max_inflight = 20\n')
    assert st == 400 and "read-only key 'node'" in text, text
    st, text = put(broker, 'node.cookie = "other"\nmqtt.max_inflight = 20\n',
                   ignore_readonly="true")
    assert st == 200, text
    assert json.loads(text) == {"changed": ["mqtt.max_inflight"],
                                "restart_required": ["mqtt.max_inflight"]}, text
    for q in ["?mode=sideways", "?ignore_readonly=maybe"]:
        st, text = call(broker, "PUT", "/api/v5/configs" + q, "mqtt.max_inflight = 20")
        assert st == 400, text
    st, text = call(broker, "GET", "/api/v5/configs?key=no_such_root")
    assert st == 404, text
    st, text = call(broker, "DELETE", "/api/v5/configs")
    assert st == 405, text
    st, text = call(broker, "GET", "/api/v5/configs", accept="application/xml")
    assert st == 400 and "INVALID_ACCEPT" in text, text


def test_json_forms_and_secrets(broker):
    wait_api(broker)
    st, text = call(broker, "GET", "/api/v5/configs", accept="application/json")
    assert st == 200, text
    whole = json.loads(text)
    assert whole["mqtt"]["max_inflight"] == 32, whole["mqtt"]
    assert whole["node"]["cookie"] == "******"  # secrets are not shown
    assert whole["dashboard"]["default_password"] == "******"

    st, text = call(broker, "GET", "/api/v5/configs/sys_topics")
    assert st == 200, text
    root = json.loads(text)
    assert root["sys_heartbeat_interval"] == "30s", root
    root["sys_heartbeat_interval"] = "5s"
    st, text = call(broker, "PUT", "/api/v5/configs/sys_topics", json.dumps(root),
                    ctype="application/json")
    assert st == 200, text
    assert json.loads(text)["sys_heartbeat_interval"] == "5s", text
    st, text = call(broker, "PUT", "/api/v5/configs/sys_topics",
                    json.dumps({"sys_heartbeat_interval": "often"}), ctype="application/json")
    assert st == 400 and "sys_topics.sys_heartbeat_interval" in text, text

    st, text = call(broker, "GET", "/api/v5/configs/global_zone")
    assert st == 200 and json.loads(text)["mqtt"]["max_inflight"] == 32, text
    st, text = call(broker, "PUT", "/api/v5/configs/global_zone",
                    json.dumps({"mqtt": {"max_mqueue_len": 77}}), ctype="application/json")
    assert st == 200 and json.loads(text)["mqtt"]["max_mqueue_len"] == 77, text
    # a masked secret sent back keeps the value there
    st, text = put(broker, "authentication.password_hash_salt = \"******\"\n"
                           "mqtt.max_subscriptions = 9\n")
    assert st == 200, text
    assert json.loads(text)["changed"] == ["mqtt.max_subscriptions"], text


def test_a_key_the_environment_holds_is_refused(broker_factory):
    b = broker_factory()
    b.env["STARLING_MQTT__MAX_MQUEUE_LEN"] = "50"
    b.start()
    wait_api(b)
    st, text = put(b, "mqtt.max_mqueue_len = 10\n")
    assert st == 400, text
    assert "env STARLING_MQTT__MAX_MQUEUE_LEN" in text, text
    st, text = put(b, "mqtt.max_awaiting_rel = 10\n")  # another key is fine
    assert st == 200, text


def test_ctl_conf(broker, tmp_path):
    wait_api(broker)
    r = ctl(broker, "conf", "show", "mqtt.max_inflight")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "mqtt {\n  max_inflight = 32\n}\n", r.stdout

    change = tmp_path / "change.conf"
    change.write_text("mqtt {\n  max_mqueue_len = 123\n  max_subscriptions = 7\n}\n")
    r = ctl(broker, "conf", "load", str(change))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["changed"] == ["mqtt.max_mqueue_len",
                                               "mqtt.max_subscriptions"], r.stdout
    # --replace: the API's mqtt is this file's alone, so max_subscriptions is the file's again
    change.write_text("mqtt.max_mqueue_len = 321\n")
    r = ctl(broker, "conf", "load", "--replace", str(change))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["changed"] == ["mqtt.max_mqueue_len",
                                               "mqtt.max_subscriptions"], r.stdout
    assert "max_mqueue_len = 321" in ctl(broker, "conf", "show", "mqtt").stdout
    change.write_text("mqtt.max_mqueue_len = many\n")
    r = ctl(broker, "conf", "load", str(change))
    assert r.returncode != 0 and "mqtt.max_mqueue_len" in r.stderr, (r.stdout, r.stderr)

    # reload: the node's file, edited, read again
    with open(broker.conf_path) as f:
        text = f.read()
    with open(broker.conf_path, "w") as f:
        f.write(re.sub(r"log.level = debug", "log.level = info", text))
    r = ctl(broker, "conf", "reload")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"changed": ["log.level"], "restart_required": []}, r.stdout
    r = ctl(broker, "log", "primary-level")
    assert r.stdout.strip() == "info", r.stdout

    broker.restart()  # the change through the API is kept
    wait_api(broker)
    assert "max_mqueue_len = 321" in ctl(broker, "conf", "show", "mqtt").stdout


def test_an_env_only_node_with_emqx_names(broker_factory):
    """A node set up from the environment alone, with EMQX's variable names: its config shows
    them, and a change of a key one of them holds is refused naming that variable."""
    b = broker_factory()
    b.env["EMQX_MQTT__MAX_INFLIGHT"] = "48"
    b.env["EMQX_SYS_TOPICS__SYS_HEARTBEAT_INTERVAL"] = "1h"
    b.start()
    wait_api(b)
    assert "max_inflight = 48" in show(b, "mqtt.max_inflight")
    assert 'sys_heartbeat_interval = "1h"' in show(b, "sys_topics")
    st, text = put(b, "mqtt.max_inflight = 10\n")
    assert st == 400 and "env EMQX_MQTT__MAX_INFLIGHT" in text, text
    st, text = put(b, "sys_topics.sys_msg_interval = 2m\n")
    assert st == 200 and json.loads(text)["changed"] == ["sys_topics.sys_msg_interval"], text
