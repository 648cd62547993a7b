"""Listeners stopped, started and restarted while the cluster runs (EMQX's POST
/api/v5/listeners/{id}/stop|start|restart and `ctl listeners stop|start|restart`,
docs/operations.md "Listeners"): on every node at once, their clients disconnected (MQTT 5:
0x8B), GET /listeners telling which run, and an address that cannot be bound refused with
the node that could not."""

import socket

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("Starling's management API")


def refused(b):
    try:
        socket.create_connection((b.host, b.port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


def test_listeners_stop_start_and_restart_on_every_node(broker_factory):
    from clusterlib import api_call, ctl, members_up
    nodes, names = members_up(broker_factory, 2)
    n1, n2 = nodes
    c = m.Conn(n2.port, 5, host=n2.host)
    assert c.connect("lst-c").reason == 0

    st, _ = api_call(n1, "POST", "/api/v5/listeners/tcp:default/stop", {})
    assert st == 200
    c.expect_disconnect([0x8B])  # server shutting down: its listener went
    assert refused(n1) and refused(n2)
    st, body = api_call(n1, "GET", "/api/v5/listeners")
    tcp = [x for x in body if x["id"] == "tcp:default"][0]
    assert tcp["status"]["running"] is False, tcp
    assert [x["status"]["running"] for x in tcp["node_status"]] == [False, False], tcp
    st, _ = api_call(n2, "POST", "/api/v5/listeners/tcp:default/stop", {})
    assert st == 200  # stopped already: nothing to do

    r = ctl(n2, "listeners", "start", "tcp:default")
    assert (r.returncode, r.stdout) == (0, "Started tcp:default listener successfully.\n"), \
        r.stderr
    for n in nodes:
        x = m.Conn(n.port, 5, host=n.host)
        assert x.connect("lst-%s" % n.port).reason == 0
        x.close()
    st, body = api_call(n2, "GET", "/api/v5/listeners")
    assert [x for x in body if x["id"] == "tcp:default"][0]["status"]["running"] is True, body

    c = m.Conn(n1.port, 5, host=n1.host)
    assert c.connect("lst-r").reason == 0
    r = ctl(n1, "listeners", "restart", "tcp:default")
    assert (r.returncode, r.stdout) == (0, "Restarted tcp:default listener successfully.\n"), \
        r.stderr
    c.expect_disconnect([0x8B])
    c = m.Conn(n1.port, 5, host=n1.host)
    assert c.connect("lst-r").reason == 0
    c.close()

    # an address taken meanwhile: refused, naming the node; the listener stays stopped there
    r = ctl(n1, "listeners", "stop", "tcp:default")
    assert (r.returncode, r.stdout) == (0, "Stop tcp:default listener successfully.\n"), r.stderr
    squat = socket.socket()
    squat.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (past TIME_WAITs, not shared)
    squat.bind((n2.host, n2.port))
    squat.listen(1)
    st, body = api_call(n1, "POST", "/api/v5/listeners/tcp:default/start", {})
    assert st == 400 and names[1] in body["message"], body
    assert not refused(n1)  # node 1 could bind its own
    squat.close()
    st, _ = api_call(n1, "POST", "/api/v5/listeners/tcp:default/start", {})
    assert st == 200 and not refused(n2)

    for path, method, code in [("/api/v5/listeners/tcp:nothing/stop", "POST", 404),
                               ("/api/v5/listeners/tcp:default/pause", "POST", 404),
                               ("/api/v5/listeners/tcp:default/stop", "GET", 405)]:
        st, body = api_call(n1, method, path, {} if method == "POST" else None)
        assert st == code, (path, method, st, body)
