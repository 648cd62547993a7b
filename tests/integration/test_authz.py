"""Authorization (docs/security.md §9): EMQX's acl.conf as the file source; the outcomes of a
denied SUBSCRIBE and PUBLISH in MQTT 5 and 3.1.1, deny_action = disconnect, no_match,
placeholders, shared subscriptions, wills and retained messages, superusers; errors at start
and at reload name the file and line and keep the rules in force."""

import os
import shutil
import subprocess

import pytest

import mqttraw as m
from clusterlib import api_call as api, ctl, wait_api, wait_log

pytestmark = pytest.mark.starling_only("Starling's access control")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def acl_broker(broker_factory, tmp_path, rules, **conf):
    path = tmp_path / "acl.conf"
    path.write_text(rules)
    conf = dict({"authorization.sources": [{"type": "file", "path": str(path)}]}, **conf)
    return broker_factory(conf).start(), path


def conn(b, cid, version=5, source=None, **kw):
    c = m.Conn(b.port, version, source=source)
    ack = c.connect(cid, **kw)
    assert ack.reason == 0, ack
    return c


def until_ping(c):
    """The PUBLISHes that arrive before the answer to a PING sent now."""
    c.send(m.pingreq())
    got = []
    while True:
        p = c.recv(5)
        assert p is not None, "no PINGRESP"
        if p.type == m.PINGRESP:
            return got
        got.append(p)


def test_emqx_default_acl_conf_loads_unchanged(broker_factory, tmp_path):
    """EMQX's shipped acl.conf (etc/acl.conf, copied as it is): 127.0.0.1 may do anything;
    others may not subscribe to $SYS/#, # or +/#; user dashboard may read $SYS/#."""
    path = tmp_path / "acl.conf"
    shutil.copy(os.path.join(REPO, "etc", "acl.conf"), path)
    b = broker_factory({"authorization.sources": [{"type": "file", "path": str(path)}]}).start()
    local = conn(b, "local")
    assert local.subscribe([("#", 1), ("$SYS/#", 0)]).reasons == [1, 0]
    for version, denied in ((5, 0x87), (4, 0x80)):
        far = conn(b, "far%d" % version, version, source="127.0.0.5")
        sub = far.subscribe([("#", 0), ("+/#", 0), ("$SYS/#", 0), ("a/#", 1), ("a/+", 0)])
        assert sub.reasons == [denied, denied, denied, 1, 0], sub
        far.close()
    dash = conn(b, "dash", source="127.0.0.5", username="dashboard")
    assert dash.subscribe([("$SYS/#", 0), ("#", 0)]).reasons == [0, 0x87]
    assert "SUBSCRIBE '#' denied by authorization" in b.log()


RULES = """
%% secret/# is written by nobody; read by nobody but user ann
{allow, {username, "ann"}, subscribe, ["secret/#"]}.
{deny, all, all, ["secret/#"]}.
{deny, all, {publish, [{retain, true}]}, ["noretain/#"]}.
{deny, all, {subscribe, [{qos, 2}]}, ["q/#"]}.
{allow, all}.
"""


def test_a_denied_publish_in_mqtt5_and_311(broker_factory, tmp_path):
    """MQTT 5: PUBACK / PUBREC 0x87; 3.1.1: acknowledged as usual; QoS 0 dropped; in every
    case nothing is delivered, and the next allowed message is."""
    b, _ = acl_broker(broker_factory, tmp_path, RULES)
    sub = conn(b, "reader", username="ann")
    assert sub.subscribe([("secret/#", 1), ("open/#", 1)]).reasons == [1, 1]
    pub = conn(b, "w5")
    assert pub.publish("secret/a", b"x", qos=1).reason == 0x87
    assert pub.publish("secret/a", b"x", qos=2).reason == 0x87
    pub.publish("secret/a", b"x", qos=0)
    pub.publish("open/1", b"ok", qos=1)
    old = conn(b, "w3", 4)
    assert old.publish("secret/b", b"x", qos=1).type == m.PUBACK
    assert old.publish("secret/b", b"x", qos=2).type == m.PUBCOMP  # the whole flow, no code
    old.publish("open/2", b"ok", qos=1)
    got = [sub.expect_publish().topic for _ in range(2)]
    assert sorted(got) == ["open/1", "open/2"], got
    assert until_ping(sub) == []


def test_subscribe_options_shared_and_deny_codes(broker_factory, tmp_path):
    b, _ = acl_broker(broker_factory, tmp_path, RULES)
    c = conn(b, "s5")
    sub = c.subscribe([("q/a", 2), ("q/a", 1), ("$share/g/secret/x", 0), ("$share/g/open", 0)])
    assert sub.reasons == [0x87, 1, 0x87, 0], sub  # QoS 2 on q/# is denied; shared: its real filter
    c3 = conn(b, "s3", 4)
    assert c3.subscribe([("secret/#", 0), ("q/b", 2)]).reasons == [0x80, 0x80]


def test_retained_and_will_obey_the_rules(broker_factory, tmp_path):
    b, _ = acl_broker(broker_factory, tmp_path, RULES)
    p = conn(b, "p")
    assert p.publish("noretain/a", b"r", qos=1, retain=True).reason == 0x87
    assert p.publish("noretain/b", b"plain", qos=1).reason == 0x10  # not retained: allowed (no subscriber)
    assert p.publish("open/r", b"r", qos=1, retain=True).reason in (0, 0x10)
    # a will to a topic the client may not publish to is dropped at CONNECT
    w = conn(b, "will", will={"topic": "secret/will", "payload": b"w", "retain": True, "qos": 1})
    wait_log(b, "client will: will to 'secret/will' denied by authorization")
    w.abort()
    # the same client id again (same worker, so after the first's end), with an allowed will
    w = conn(b, "will", will={"topic": "open/will", "payload": b"w", "retain": True, "qos": 1})
    w.abort()
    reader = conn(b, "reader", username="ann")
    for _ in range(100):
        reader.subscribe([("open/will", 0)])
        got = until_ping(reader)
        if got:
            break
    assert [g.topic for g in got] == ["open/will"], got
    sub = reader.subscribe([("secret/#", 1), ("noretain/#", 1), ("open/r", 1)])
    assert sub.reasons == [1, 1, 1]
    assert [g.topic for g in until_ping(reader)] == ["open/r"]  # retained: only what was allowed


def test_placeholders_and_no_match_deny(broker_factory, tmp_path):
    b, _ = acl_broker(broker_factory, tmp_path,
                      '{allow, all, all, ["users/${username}/#", "c/${clientid}"]}.\n',
                      **{"authorization.no_match": "deny"})
    ann = conn(b, "ann-1", username="ann")
    assert ann.subscribe([("users/ann/#", 1), ("users/bob/#", 1), ("c/ann-1", 0),
                          ("other", 0)]).reasons == [1, 0x87, 0, 0x87]
    assert ann.publish("users/ann/x", b"1", qos=1).reason in (0, 0x10)
    assert ann.publish("users/bob/x", b"1", qos=1).reason == 0x87
    anon = conn(b, "anon")  # no username: ${username} matches nothing
    assert anon.subscribe([("users//#", 0), ("users/${username}/#", 0)]).reasons == [0x87, 0x87]


def test_deny_action_disconnect(broker_factory, tmp_path):
    b, _ = acl_broker(broker_factory, tmp_path, RULES,
                      **{"authorization.deny_action": "disconnect"})
    c = conn(b, "d1")
    c.send(m.publish("secret/x", b"x", qos=1, packet_id=1, version=5))
    c.expect_disconnect(0x87)
    c = conn(b, "d2")
    c.send(m.subscribe(1, [("secret/x", 0)], version=5))
    c.expect_disconnect(0x87)
    c = conn(b, "d3", 4)
    c.send(m.publish("secret/x", b"x", qos=0))
    c.expect_closed()


def test_a_superuser_skips_authorization(broker_factory, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,password,is_superuser\nroot,pw,true\nann,pw,false\n")
    b, _ = acl_broker(broker_factory, tmp_path, "{deny, all}.\n", authentication=[
        {"mechanism": "password_based", "backend": "built_in_database",
         "bootstrap_file": str(users)}])
    root = conn(b, "root", username="root", password=b"pw")
    assert root.subscribe([("secret/#", 1)]).reasons == [1]
    assert root.publish("secret/x", b"x", qos=1).reason == 0
    ann = conn(b, "ann", username="ann", password=b"pw")
    assert ann.subscribe([("secret/#", 1)]).reasons == [0x87]


def test_a_bad_acl_conf_stops_the_node(broker_factory, tmp_path):
    path = tmp_path / "acl.conf"
    path.write_text('{allow, all, all, ["a"]}.\n\n{allow, all, publish, "t/#"}.\n')
    b = broker_factory({"authorization.sources": [{"type": "file", "path": str(path)}]})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and "%s:3: Topics are a list" % path in out, out
    b = broker_factory({"authorization.sources": [{"type": "redis"}]}, name="b2")
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and "authorization.sources.0.type: not a source here (file, built_in_database, http; mysql" in out, out


def test_reload_applies_to_connected_clients_and_a_bad_file_changes_nothing(broker_factory,
                                                                          tmp_path):
    b, path = acl_broker(broker_factory, tmp_path, "{allow, all}.\n")
    wait_api(b)
    c = conn(b, "r1")
    assert c.publish("x/1", b"", qos=1).reason in (0, 0x10)  # cached as allowed
    path.write_text('{deny, all, publish, ["x/#"]}.\n{allow, all}.\n')
    r = ctl(b, "acl", "reload")
    assert r.returncode == 0 and '"rules":2' in r.stdout, r.stdout + r.stderr
    assert c.publish("x/1", b"", qos=1).reason == 0x87  # the connected client's rules too
    path.write_text('{allow, all}.\n{allow, all, pub, ["x"]}.\n')
    r = ctl(b, "acl", "reload")
    assert r.returncode != 0 and "%s:2: unknown Action" % path in r.stderr, r.stderr
    assert c.publish("x/2", b"", qos=1).reason == 0x87  # the old rules hold
    # the API: EMQX's PUT with the rules' text
    st, body = api(b, "PUT", "/api/v5/authorization/sources/file",
                   {"type": "file", "enable": True, "rules": "{allow, all}.\n{deny"})
    assert st == 400 and body["code"] == "BAD_REQUEST" and "rules:2:" in body["message"], body
    assert c.publish("x/3", b"", qos=1).reason == 0x87
    st, _ = api(b, "PUT", "/api/v5/authorization/sources/file",
                {"type": "file", "enable": True, "rules": "{allow, all}.\n"})
    assert st == 204
    assert c.publish("x/4", b"", qos=1).reason in (0, 0x10)
    assert path.read_text() == "{allow, all}.\n"
    st, body = api(b, "GET", "/api/v5/authorization/sources/file")
    assert st == 200 and body["rules"] == "{allow, all}.\n" and body["type"] == "file", body
    st, body = api(b, "GET", "/api/v5/authorization/sources")
    assert st == 200 and [s["type"] for s in body["sources"]] == ["file"], body
    r = ctl(b, "authz", "cache-clean", "all")
    assert r.returncode == 0, r.stderr


def test_decisions_stay_right_past_the_cache_size_and_after_a_clean(broker_factory, tmp_path):
    """A cache of two decisions with a long ttl, and more topics than that: every answer
    is still the rules' (the oldest decision is replaced, never confused); a clean (API)
    changes no answer."""
    b, path = acl_broker(broker_factory, tmp_path, '{deny, all, publish, ["d"]}.\n',
                         **{"authorization.cache.ttl": "1h", "authorization.cache.max_size": 2})
    wait_api(b)
    c = conn(b, "k1")
    for t in ("a", "b", "c", "d", "a", "d"):  # more topics than the cache holds
        assert c.publish(t, b"", qos=1).reason == (0x87 if t == "d" else 0x10), t
    st, _ = api(b, "DELETE", "/api/v5/authorization/cache")
    assert st == 204
    assert c.publish("d", b"", qos=1).reason == 0x87
    assert c.publish("a", b"", qos=1).reason == 0x10


DB = "/api/v5/authorization/sources/built_in_database/rules"


def rule(topic, permission="allow", action="all", **kw):
    return dict({"topic": topic, "permission": permission, "action": action}, **kw)


def test_built_in_database_rules_and_their_api(broker_factory, tmp_path):
    """Rules per username, per client id and for all (EMQX's API and shapes), checked in
    that order, before the file source when listed first; a change reaches connected
    clients; bad rules get 400 with the rule's number."""
    b, _ = acl_broker(broker_factory, tmp_path, '{deny, all, all, ["file/deny"]}.\n')
    b.stop()
    b.conf["authorization.sources"] = [{"type": "built_in_database", "max_rules": 3},
                                       {"type": "file", "path": str(tmp_path / "acl.conf")}]
    b.start()
    wait_api(b)
    assert api(b, "POST", DB + "/users", [{"username": "ann", "rules": [
        rule("u/#"), rule("file/deny"), rule("eq x/#", "deny", "subscribe")]}]) == (204, None)
    assert api(b, "POST", DB + "/users", [{"username": "ann", "rules": []}])[0] == 409
    assert api(b, "PUT", DB + "/clients/dev%2F1", {"clientid": "dev/1", "rules": [
        rule("c/${clientid}/#", action="publish", qos=[1], retain=False)]}) == (204, None)
    assert api(b, "POST", DB + "/all", {"rules": [rule("u/#", "deny")]}) == (204, None)
    st, body = api(b, "GET", DB + "/users/ann")
    assert st == 200 and body == {"username": "ann", "rules": [
        {"topic": "u/#", "permission": "allow", "action": "all", "qos": [0, 1, 2],
         "retain": "all"},
        {"topic": "file/deny", "permission": "allow", "action": "all", "qos": [0, 1, 2],
         "retain": "all"},
        {"topic": "eq x/#", "permission": "deny", "action": "subscribe", "qos": [0, 1, 2],
         "retain": "all"}]}, body
    st, body = api(b, "GET", DB + "/clients?like_clientid=dev")
    assert st == 200 and [d["clientid"] for d in body["data"]] == ["dev/1"], body
    assert body["meta"] == {"page": 1, "limit": 100, "count": 1, "hasnext": False}
    assert body["data"][0]["rules"][0]["qos"] == [1] and body["data"][0]["rules"][0]["retain"] is False
    assert api(b, "GET", DB + "/all")[1]["rules"][0]["permission"] == "deny"
    st, body = api(b, "GET", "/api/v5/authorization/sources")
    assert [s["type"] for s in body["sources"]] == ["built_in_database", "file"], body

    ann = conn(b, "a1", username="ann")
    # ann's own rules first, then everyone's, then the file
    assert ann.subscribe([("u/1", 0), ("file/deny", 0), ("x/#", 0), ("x/1", 0)]).reasons == \
        [0, 0, 0x87, 0]
    bob = conn(b, "b1", username="bob")
    assert bob.subscribe([("u/1", 0), ("file/deny", 0), ("z", 0)]).reasons == [0x87, 0x87, 0]
    dev = conn(b, "dev/1")
    assert dev.publish("c/dev/1/x", b"", qos=1).reason == 0x10
    assert dev.publish("u/1", b"", qos=1).reason == 0x87
    # a change reaches the connected clients
    assert api(b, "DELETE", DB + "/all") == (204, None)
    assert bob.subscribe([("u/1", 0)]).reasons == [0]
    assert api(b, "DELETE", DB + "/users/ann") == (204, None)
    assert api(b, "DELETE", DB + "/users/ann")[0] == 404
    assert ann.subscribe([("x/#", 0), ("file/deny", 0)]).reasons == [0, 0x87]
    # bad input
    st, body = api(b, "POST", DB + "/users", [{"username": "c", "rules": [rule("t"), {"topic": "t"}]}])
    assert st == 400 and body["message"].startswith("rule 2: \"permission\""), body
    st, body = api(b, "POST", DB + "/all", {"rules": [rule("t", qos=[3])]})
    assert st == 400 and "qos" in body["message"], body
    st, body = api(b, "POST", DB + "/all", {"rules": [rule("t")] * 4})
    assert st == 400 and "max_rules" in body["message"], body
    assert api(b, "POST", DB + "/users", {"username": "c"})[0] == 400
    assert api(b, "GET", DB + "/users/nobody")[0] == 404
    assert api(b, "DELETE", DB) == (204, None)
    st, body = api(b, "GET", DB + "/clients")
    assert st == 200 and body["data"] == [], body
    assert dev.publish("c/dev/1/x", b"", qos=1).reason == 0x10  # no_match = allow


def test_without_a_built_in_database_its_api_says_so(broker):
    wait_api(broker)
    st, body = api(broker, "GET", DB + "/all")
    assert st == 404 and "no built_in_database source" in body["message"], body


def test_pcre_forms_in_a_rules_regex(broker_factory, tmp_path):
    """EMQX's regular expressions are PCRE's: \\d and friends work as they do there."""
    b, _ = acl_broker(broker_factory, tmp_path,
                      '{allow, {clientid, {re, "^dev_\\\\d+$"}}, publish, ["t"]}.\n',
                      **{"authorization.no_match": "deny"})
    assert conn(b, "dev_42").publish("t", b"", qos=1).reason in (0, 0x10)
    assert conn(b, "dev_4x").publish("t", b"", qos=1).reason == 0x87
