"""The OpenAPI document (docs/operations.md, "OpenAPI"): served without a credential at
/api-docs/swagger.json, with a page at /api-docs; written from the route table the server
lets requests through by, so every operation it lists is served (never the table's 404 or
405) and a path it does not list is not; and the answers of the operations match the
schemas it gives for them."""

import base64
import http.client
import json
import re

import pytest

import mqttraw as m
from clusterlib import wait_api
from conftest import API_KEY, API_SECRET

pytestmark = pytest.mark.starling_only("Starling's API")

GATE_404 = "no such endpoint (GET /api-docs lists them)"


def raw(b, method, path, body=None, auth=None, ctype="application/json"):
    c = http.client.HTTPConnection(b.host, b.api_port, timeout=20)
    headers = {"Content-Type": ctype}
    if auth:
        headers["Authorization"] = auth
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    out = (r.status, r.getheader("Content-Type") or "", r.read().decode())
    c.close()
    return out


def check(doc, schema, value, where):
    """value fits schema (the JSON Schema subset the document uses), else AssertionError."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    if "oneOf" in schema:
        errors = []
        for s in schema["oneOf"]:
            try:
                check(doc, s, value, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError("%s: none of oneOf fits: %s" % (where, errors))
    types = {"object": dict, "array": list, "string": str, "boolean": bool,
             "integer": int, "number": (int, float)}
    t = schema.get("type")
    if t:
        ok = isinstance(value, types[t]) and not (t in ("integer", "number") and
                                                  isinstance(value, bool))
        assert ok, "%s: %r is not %s" % (where, value, t)
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in %r" % (where, value, schema["enum"])
    if "minimum" in schema:
        assert value >= schema["minimum"], where
    if isinstance(value, dict):
        for k in schema.get("required", []):
            assert k in value, "%s: %r lacks %r" % (where, value, k)
        for k, s in schema.get("properties", {}).items():
            if k in value:
                check(doc, s, value[k], "%s.%s" % (where, k))
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            check(doc, schema["items"], v, "%s[%d]" % (where, i))


def test_the_document_and_the_routes(broker):
    wait_api(broker)
    st, ctype, text = raw(broker, "GET", "/api-docs/swagger.json")  # no credential
    assert st == 200 and ctype.startswith("application/json"), (st, text[:200])
    doc = json.loads(text)
    assert doc["openapi"] == "3.0.3" and doc["info"]["title"] == "Starling HTTP API", doc["info"]
    st, ctype, page = raw(broker, "GET", "/api-docs")
    assert st == 200 and "text/html" in ctype and "/api-docs/swagger.json" in page, page[:300]
    ops = [(meth.upper(), path, op) for path, o in doc["paths"].items() for meth, op in o.items()]
    assert len(ops) > 100, len(ops)
    for name, s in doc["components"]["schemas"].items():  # every $ref resolves
        for r in re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(s)):
            assert r in doc["components"]["schemas"], (name, r)
    for meth, path, op in ops:
        for r in re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(op)):
            assert r in doc["components"]["schemas"], (meth, path, r)

    # every operation listed is served: never the table's refusal, nor a module's "no such
    # endpoint" (a path its handler does not know)
    key = "Basic " + base64.b64encode(("%s:%s" % (API_KEY, API_SECRET)).encode()).decode()
    for meth, path, op in ops:
        if path in ("/api/v5/cluster/leave", "/api/v5/cluster/{node}/join"):
            continue  # this node would leave its cluster, or restart its control plane
        url = re.sub(r"\{[a-z_]+\}", "x", path)
        st, _, text = raw(broker, meth, url, body="{}" if meth in ("POST", "PUT") else None,
                          auth=key)
        assert text.find(GATE_404) < 0 and '"no such endpoint"' not in text, (meth, url, text)
        assert not (st == 405 and "is served here" in text), (meth, url, text)
    # and a path it does not list is not
    for meth, url in [("GET", "/api/v5/clients_v2"), ("GET", "/api/v5/nodes/x/y"),
                      ("PATCH", "/api/v5/clients"), ("GET", "/api/v5/trace/t/stop")]:
        st, _, text = raw(broker, meth, url, auth=key)
        assert st in (404, 405), (meth, url, st, text)
        body = json.loads(text)
        assert body["code"] in ("NOT_FOUND", "METHOD_NOT_ALLOWED"), body
    st, _, text = raw(broker, "PUT", "/api/v5/alarms", auth=key)
    assert (st, json.loads(text)["message"]) == (405, "GET, DELETE is served here"), text


def test_answers_match_their_schemas(broker):
    """Each GET answers as its schema says, with data in the lists (a client, a subscription,
    a retained message, a ban, an alarm-free node, a trace, a user)."""
    from clusterlib import api_call
    wait_api(broker)
    doc = json.loads(raw(broker, "GET", "/api-docs/swagger.json")[2])
    c = m.Conn(broker.port, 5, host=broker.host)
    assert c.connect("docs-client").reason == 0
    c.subscribe([("docs/#", 1)])
    c.publish("docs/kept", b"r", qos=1, retain=True)
    assert api_call(broker, "POST", "/api/v5/banned", {"as": "clientid", "who": "bad"})[0] == 200
    assert api_call(broker, "POST", "/api/v5/trace", {"name": "docs", "type": "topic",
                                                      "topic": "docs/#"})[0] == 200
    st, login = raw(broker, "POST", "/api/v5/login",
                    body=json.dumps({"username": "admin", "password": "public"}))[::2]
    token = "Bearer " + json.loads(login)["token"]
    key = "Basic " + base64.b64encode(("%s:%s" % (API_KEY, API_SECRET)).encode()).decode()
    node = api_call(broker, "GET", "/api/v5/nodes")[1][0]["node"]
    fill = {"node": node, "clientid": "docs-client", "topic": "docs%2Fkept", "name": "docs",
            "root": "mqtt", "id": "tcp:default"}
    bearer_only = ("/api/v5/users", "/api/v5/api_key")
    checked = 0
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if not op or path.startswith("/api/v5/authentication") or \
                "/{username}" in path or "/{listener_id}" in path or \
                path.startswith("/api/v5/authorization/sources/") or \
                path in ("/api/v5/api_key/{name}",):
            continue  # sources and users that are not configured here (test_authz covers them)
        names = re.findall(r"\{([a-z_]+)\}", path)
        if any(n not in fill for n in names):
            continue
        url = path
        for n in names:
            url = url.replace("{%s}" % n, fill[n])
        if path == "/api/v5/topics/{topic}":
            url = "/api/v5/topics/docs%2F%23"  # the filter subscribed to
        ok = [int(code) for code in op["responses"] if code.startswith("2")][0]
        st, ctype, text = raw(broker, "GET", url,
                              auth=token if url in bearer_only else key)
        assert st == ok, (url, st, text[:300])
        content = op["responses"][str(ok)].get("content", {})
        want = list(content)[0] if content else None
        if want == "text/plain":
            assert ctype.startswith("text/plain"), (url, ctype)
        elif want:
            assert ctype.startswith("application/json"), (url, ctype)
            check(doc, content[want]["schema"], json.loads(text), url)
        checked += 1
    assert checked >= 30, checked
    c.close()
