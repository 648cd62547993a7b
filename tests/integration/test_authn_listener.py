"""A listener's own authenticator chain (EMQX's listeners.<type>.<name>.authentication,
docs/security.md §2): it replaces the global chain for that listener's clients; its built-in
database is its own (its users' rows are apart from the global authenticator's of the same
id) with the API under /api/v5/listeners/{listener_id}/authentication/{id}/users."""

import pytest

import mqttraw as m
from clusterlib import api_call, wait_api
from conftest import free_port

pytestmark = pytest.mark.starling_only("Starling's access control")

ID = "password_based%3Abuilt_in_database"


def builtin(path):
    return {"mechanism": "password_based", "backend": "built_in_database",
            "bootstrap_file": str(path)}


def code(port, user, password):
    c = m.Conn(port, 5)
    try:
        return c.connect("c-" + user, username=user, password=password.encode()).reason
    finally:
        c.close()


def test_a_listeners_own_chain_replaces_the_global_one(broker_factory, tmp_path):
    everyone = tmp_path / "global.csv"
    everyone.write_text("user_id,password\nalice,a-pw\n")
    devices = tmp_path / "devices.csv"
    devices.write_text("user_id,password\nbob,b-pw\n")
    other = free_port()
    b = broker_factory({"authentication": [builtin(everyone)],
                        "listeners.tcp.devices.bind": "127.0.0.1:%d" % other,
                        "listeners.tcp.devices.authentication": [builtin(devices)]}).start()
    assert code(b.port, "alice", "a-pw") == 0
    assert code(b.port, "bob", "b-pw") == 0x87  # not a user of the global chain
    assert code(other, "bob", "b-pw") == 0
    assert code(other, "alice", "a-pw") == 0x87  # the global chain does not apply there
    assert code(other, "bob", "wrong") == 0x86
    wait_api(b)
    path = "/api/v5/listeners/tcp:devices/authentication/%s/users" % ID
    status, body = api_call(b, "POST", path, {"user_id": "carol", "password": "c-pw"})
    assert status == 201, body
    assert code(other, "carol", "c-pw") == 0
    assert code(b.port, "carol", "c-pw") == 0x87
    status, body = api_call(b, "GET", path)
    assert status == 200 and sorted(u["user_id"] for u in body["data"]) == ["bob", "carol"]
    status, body = api_call(b, "GET", "/api/v5/authentication/%s/users" % ID)
    assert status == 200 and [u["user_id"] for u in body["data"]] == ["alice"], body
    status, body = api_call(b, "GET", "/api/v5/listeners/tcp:default/authentication/%s/users"
                            % ID)
    assert status == 404 and "tcp:default/password_based:built_in_database" in body["message"]


def test_a_listener_without_its_own_chain_uses_the_global_one(broker_factory, tmp_path):
    everyone = tmp_path / "global.csv"
    everyone.write_text("user_id,password\nalice,a-pw\n")
    other = free_port()
    b = broker_factory({"authentication": [builtin(everyone)],
                        "listeners.tcp.second.bind": "127.0.0.1:%d" % other}).start()
    assert code(other, "alice", "a-pw") == 0
    assert code(other, "alice", "nope") == 0x86
