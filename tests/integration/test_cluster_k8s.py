"""Discovery by Kubernetes (docs/cluster.md §6): nodes read the Endpoints of their service
from the API server, GET /api/v1/namespaces/<namespace>/endpoints/<service_name>, and make
each address (ready or not) a node name, <name part>@<ip> with address_type = ip. The API
server here is a small HTTP server in the test that answers a recorded Endpoints object
listing 127.0.0.2-4; the nodes form one cluster from it (the smallest name forms it)."""

import copy
import http.server
import json
import subprocess
import threading

import pytest

from clusterlib import Cluster, form_by_discovery, message_crosses, up_members, wait_info, wait_log
from conftest import free_port

pytestmark = pytest.mark.starling_only("Starling's cluster")

PATH = "/api/v1/namespaces/default/endpoints/starling"

# `kubectl get endpoints starling -o json` for a 3-pod StatefulSet behind a headless service
# (managedFields left out), the pod IPs replaced by loopback addresses; starling-0 is not
# ready (it is restarting), which does not keep it out of the cluster.
ENDPOINTS = json.loads("""
{
  "kind": "Endpoints",
  "apiVersion": "v1",
  "metadata": {
    "name": "starling",
    "namespace": "default",
    "uid": "0c1d2f8e-6a49-4b0e-9a57-3f7a0a6f2c11",
    "resourceVersion": "48213",
    "creationTimestamp": "2024-05-02T09:14:07Z",
    "labels": {
      "app.kubernetes.io/name": "starling",
      "service.kubernetes.io/headless": ""
    },
    "annotations": {
      "endpoints.kubernetes.io/last-change-trigger-time": "2024-05-02T09:15:31Z"
    }
  },
  "subsets": [
    {
      "addresses": [
        {
          "ip": "127.0.0.3",
          "hostname": "starling-1",
          "nodeName": "worker-2",
          "targetRef": {
            "kind": "Pod",
            "namespace": "default",
            "name": "starling-1",
            "uid": "9e3c7a52-77d4-4f0b-b3a4-6a9a4a2e1c02",
            "resourceVersion": "48201"
          }
        },
        {
          "ip": "127.0.0.4",
          "hostname": "starling-2",
          "nodeName": "worker-3",
          "targetRef": {
            "kind": "Pod",
            "namespace": "default",
            "name": "starling-2",
            "uid": "c4d1f2a3-2c3b-4e5f-8a9b-0c1d2e3f4a03",
            "resourceVersion": "48212"
          }
        }
      ],
      "notReadyAddresses": [
        {
          "ip": "127.0.0.2",
          "hostname": "starling-0",
          "nodeName": "worker-1",
          "targetRef": {
            "kind": "Pod",
            "namespace": "default",
            "name": "starling-0",
            "uid": "5b0e5f0c-1b2e-4d8e-8f51-0f6c2d0b9a01",
            "resourceVersion": "48190"
          }
        }
      ],
      "ports": [
        {"name": "mqtt", "port": 1883, "protocol": "TCP"},
        {"name": "cluster", "port": 4370, "protocol": "TCP"}
      ]
    }
  ]
}
""")

FORBIDDEN = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": 'endpoints "starling" is forbidden: User "system:serviceaccount:default:default"'
               ' cannot get resource "endpoints" in API group "" in the namespace "default"',
    "reason": "Forbidden", "details": {"name": "starling", "kind": "endpoints"}, "code": 403}


class FakeApiServer:
    """Answers GET PATH with self.answer (status, object); anything else with 404."""

    def __init__(self):
        self.answer = (200, ENDPOINTS)
        self.requests = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append((self.path, self.headers.get("Authorization")))
                status, body = api.answer if self.path == PATH else (404, {"kind": "Status"})
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def apiserver():
    s = FakeApiServer()
    yield s
    s.close()


def k8s_conf(url):
    return {"cluster.discovery_strategy": "k8s", "cluster.k8s.apiserver": url}



def test_k8s_discovery_forms_one_cluster(apiserver, broker_factory):
    """Three nodes read the same Endpoints (two ready addresses, and the smallest name's not
    ready) and form one cluster led by the smallest name; a message crosses from node 1 to node 3."""
    cl = Cluster(broker_factory, 3)
    nodes = [cl.node(i, **k8s_conf(apiserver.url)) for i in range(3)]
    nodes[1].env["EMQX_K8S_APP_NAME"] = "starling"  # the seed document's form: the name part
    names = form_by_discovery(cl, nodes)
    # node 3 started first: it found the others in the Endpoints, node 1 (not ready) too
    assert "discovered %s (k8s)" % names[0] in nodes[2].log()
    assert "discovered %s (k8s)" % names[1] in nodes[2].log()
    for n in nodes:
        assert "k8s discovery:" not in n.log(), n.log()[-3000:]
    paths = {p for p, _ in apiserver.requests}
    assert paths == {PATH}, paths
    message_crosses(nodes[0], nodes[2], "k/1", b"via k8s")


def test_k8s_bad_answers_are_logged(apiserver, broker_factory):
    """The API server refuses (403, as without RBAC for endpoints), then answers with
    something that is not JSON: each is a warning with the reason, nothing stops; once it
    answers properly the node goes on (alone here: it forms a cluster of one). The URL comes
    from EMQX_CLUSTER__K8S__APISERVER, as EMQX's Helm chart sets it."""
    cl = Cluster(broker_factory, 1)
    apiserver.answer = (403, FORBIDDEN)
    n = cl.node(0, **{"cluster.discovery_strategy": "k8s"})
    n.env["EMQX_CLUSTER__K8S__APISERVER"] = apiserver.url
    n.start()
    wait_log(n, r"k8s discovery: %s%s: HTTP 403: endpoints \"starling\" is forbidden: User"
             % (apiserver.url, PATH))
    apiserver.answer = (200, b"<html>not json</html>")
    wait_log(n, r"k8s discovery: .*: the answer is not a JSON object")
    apiserver.answer = (200, {"kind": "Status", "status": "Success"})
    wait_log(n, r"k8s discovery: .*: the answer is not an Endpoints object")
    assert n.proc.poll() is None
    alone = copy.deepcopy(ENDPOINTS)
    alone["subsets"][0]["addresses"] = alone["subsets"][0]["notReadyAddresses"]
    del alone["subsets"][0]["notReadyAddresses"]
    apiserver.answer = (200, alone)
    wait_log(n, r"k8s discovery works again")
    wait_info(n, lambda i: up_members(i) == [cl.name(0)], "a cluster of one", timeout=20)
    assert all(auth is None for _, auth in apiserver.requests)  # no service account here


@pytest.mark.parametrize("key,value,message", [
    ("cluster.k8s.apiserver", "kubernetes.default.svc:443",
     'cluster.k8s.apiserver: "kubernetes.default.svc:443" is not a URL'),
    ("cluster.k8s.namespace", "a/b", 'cluster.k8s.namespace: "a/b" is not a name'),
    ("cluster.k8s.app_name", "emqx-broker",
     'cluster.k8s.app_name: "emqx-broker" is not the name part of node.name (starling@127.0.0.2)'
     ': the nodes are named <app_name>@<address>, so set node.name = emqx-broker@<address>'),
])
def test_k8s_bad_keys_are_config_errors(broker_factory, key, value, message):
    cl = Cluster(broker_factory, 1)
    b = cl.node(0, **{"cluster.discovery_strategy": "k8s", key: value})
    path = b.write_config()
    r = subprocess.run([b.command()[0], "foreground", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=10, cwd=b.dir)
    assert r.returncode != 0 and message in r.stdout, r.stdout
