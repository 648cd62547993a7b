"""Authorization's http source (EMQX's `type = http`, docs/security.md §9) against a real local
HTTP service: it is asked about each PUBLISH and SUBSCRIBE with ${topic}, ${action}, ${qos},
${retain} and who the client is; allow, deny, 204, ignore (the next source, then no_match);
its decisions are cached; a service that hangs holds only the client that asked, which then
goes on in order; a service that is down leaves the decision to the next source."""

import json
import threading
from http.server import BaseHTTPRequestHandler

import pytest

import mqttraw as m
from conftest import free_port
from httpsvc import answer, serve

pytestmark = pytest.mark.starling_only("Starling's authorization")


class Service:
    """Answers by the topic it is asked about: allow/..., deny/..., empty/... (204),
    ignore/..., hang/... (until released); keeps every question."""

    def __init__(self):
        self.seen = []
        self.release = threading.Event()
        self.asked = threading.Event()  # a hang/ question has arrived
        svc = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                q = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                svc.seen.append(q)
                kind = q["topic"].split("/")[0]
                if kind == "hang":
                    svc.asked.set()
                    svc.release.wait(60)
                status, body = {"allow": (200, {"result": "allow"}),
                                "deny": (200, {"result": "deny"}),
                                "empty": (204, None),
                                "hang": (200, {"result": "allow"})}.get(
                                    kind, (200, {"result": "ignore"}))
                answer(self, status, body)

        self.server, self.port = serve(Handler)

    def close(self):
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def service():
    s = Service()
    yield s
    s.close()


def source(port, **kw):
    return dict({"type": "http", "method": "post",
                 "url": "http://127.0.0.1:%d/authz" % port,
                 "body": {"username": "${username}", "clientid": "${clientid}",
                          "topic": "${topic}", "action": "${action}", "qos": "${qos}",
                          "retain": "${retain}", "peerhost": "${peerhost}"}}, **kw)


def start(broker_factory, sources, name="broker", **conf):
    return broker_factory(dict({"authorization.sources": sources,
                                "authorization.no_match": "deny"}, **conf), name=name).start()


def pub(c, topic, qos=1, retain=False):
    pid = c.next_id()
    c.send(m.publish(topic, b"x", qos=qos, retain=retain, packet_id=pid, version=5))
    r = c.expect(m.PUBACK, timeout=30, stash=True).reason
    return 0 if r == 0x10 else r  # allowed, and nobody subscribes


def test_the_service_decides_publish_and_subscribe(broker_factory, service, tmp_path):
    """Allow, 204 and deny from the service; ignore leaves it to the file source after it,
    then to no_match (deny); the request carries the placeholders' values."""
    acl = tmp_path / "acl.conf"
    acl.write_text('{allow, all, all, ["ignore/open"]}.\n')
    b = start(broker_factory, [source(service.port), {"type": "file", "path": str(acl)}])
    c = m.Conn(b.port, 5)
    assert c.connect("asker", username="ann").reason == 0
    assert c.subscribe([("allow/s", m.subopts(1)), ("deny/s", m.subopts(0)),
                        ("empty/s", m.subopts(2)), ("ignore/open", m.subopts(0)),
                        ("ignore/shut", m.subopts(0))]).reasons == [1, 0x87, 2, 0, 0x87]
    assert pub(c, "allow/p", retain=True) == 0
    assert pub(c, "deny/p") == 0x87
    assert pub(c, "empty/p") == 0
    assert pub(c, "ignore/open") == 0
    assert pub(c, "ignore/shut") == 0x87
    c.close()
    q = [s for s in service.seen if s["topic"] == "allow/p"][0]
    assert q == {"username": "ann", "clientid": "asker", "topic": "allow/p", "action": "publish",
                 "qos": "1", "retain": "1", "peerhost": "127.0.0.1"}, q
    assert [s for s in service.seen if s["topic"] == "deny/s"][0]["action"] == "subscribe"


def test_decisions_are_cached(broker_factory, service):
    """The same PUBLISH three times: one question; with the cache off, one each time."""
    for cache, asked in ((True, 1), (False, 3)):
        service.seen.clear()
        b = start(broker_factory, [source(service.port)], name="cache-%s" % cache,
                  **{"authorization.cache.enable": cache})
        c = m.Conn(b.port, 5)
        assert c.connect("cached").reason == 0
        for _ in range(3):
            assert pub(c, "allow/again") == 0
        c.close()
        b.stop()
        assert len([s for s in service.seen if s["topic"] == "allow/again"]) == asked


def test_a_hanging_service_holds_only_the_client_that_asked(broker_factory, service):
    """One worker. While the service sits on a question, another client of that worker
    publishes and receives; the waiting client's later packets wait behind its question,
    and once the answer comes everything it sent is handled in order."""
    b = start(broker_factory, [source(service.port, request_timeout="60s")],
              **{"node.worker_threads": 1})
    other = m.Conn(b.port, 5)
    assert other.connect("other").reason == 0
    assert other.subscribe([("allow/o", m.subopts(1))]).reasons == [1]
    slow = m.Conn(b.port, 5)
    assert slow.connect("slow").reason == 0
    slow.send(m.publish("hang/1", b"h", qos=1, packet_id=1, version=5))
    slow.send(m.publish("allow/o", b"after", qos=1, packet_id=2, version=5))
    assert service.asked.wait(30)
    assert pub(other, "allow/o") == 0
    assert other.expect_publish(timeout=30).payload == b"x"  # while slow's question hangs
    service.release.set()
    assert slow.expect(m.PUBACK, timeout=30).packet_id == 1
    assert slow.expect(m.PUBACK, timeout=30).packet_id == 2
    assert other.expect_publish(timeout=30).payload == b"after"
    slow.close()
    other.close()


def test_a_service_that_is_down_leaves_it_to_the_next_source(broker_factory, tmp_path):
    acl = tmp_path / "acl.conf"
    acl.write_text('{allow, all, publish, ["up/#"]}.\n')
    b = start(broker_factory, [source(free_port()), {"type": "file", "path": str(acl)}])
    c = m.Conn(b.port, 5)
    assert c.connect("down").reason == 0
    assert pub(c, "up/1") == 0
    assert pub(c, "other") == 0x87  # no_match = deny
    c.close()


def test_the_sources_list_shows_it(broker_factory, service):
    from clusterlib import api_call, wait_api
    b = start(broker_factory, [source(service.port)])
    wait_api(b)
    code, body = api_call(b, "GET", "/api/v5/authorization/sources")
    assert code == 200, body
    [s] = body["sources"]
    assert s["type"] == "http" and s["url"] == "http://127.0.0.1:%d/authz" % service.port


def test_a_bad_http_source_stops_the_node(broker_factory):
    import subprocess
    b = broker_factory({"authorization.sources": [{"type": "http", "url": "ftp://x"}]})
    b.write_config()
    p = subprocess.run(b.command(), capture_output=True, text=True, timeout=30, cwd=b.dir)
    assert p.returncode != 0
    assert "authorization.sources" in p.stderr + p.stdout and "http:// or https:// URL" in \
        p.stderr + p.stdout, p.stdout + p.stderr
