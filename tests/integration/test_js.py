"""JavaScript clients on the WebSocket listeners (docs/transports.md): MQTT.js (npm `mqtt`)
over ws:// and wss://, and a page in a real headless Chromium (Debian's /usr/bin/chromium,
driven by npm `playwright-core`) that uses MQTT.js's browser bundle. Each exchanges messages
with a paho client on plain TCP. The npm packages (tests/integration/js/package.json) are
installed once into ~/.cache/starling-tests."""

import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import PahoClient, free_port, self_signed

pytestmark = pytest.mark.starling_only("Starling's WebSocket listener")

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


@pytest.fixture(scope="module")
def node_path():
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are not installed (scripts/deps.sh installs them)")
    with open(os.path.join(JS, "package.json"), "rb") as f:
        pkg = f.read()
    d = os.path.join(os.path.expanduser("~"), ".cache", "starling-tests",
                     "js-" + hashlib.sha256(pkg).hexdigest()[:12])
    if not os.path.isdir(os.path.join(d, "node_modules", "playwright-core")):
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(JS, "package.json"), d)
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=d,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, "npm install failed:\n" + r.stdout + r.stderr
    return os.path.join(d, "node_modules")


def run_node(node_path, script, *args):
    env = dict(os.environ, NODE_PATH=node_path)
    return subprocess.Popen(["node", os.path.join(JS, script)] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def lines_until(proc, want, limit=40):
    """Read the process's lines until `want` is among them; returns them."""
    seen = []
    while want not in seen:
        line = proc.stdout.readline()
        assert line, "%r ended before %r; it said:\n%s" % (proc.args, want, "\n".join(seen))
        seen.append(line.strip())
        assert len(seen) < limit, seen
    return seen


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
def test_mqttjs(broker_factory, node_path, tmp_path, secure):
    crt, key = self_signed(tmp_path, san="DNS:localhost")
    port = free_port()
    kind = "wss" if secure else "ws"
    conf = {"listeners.%s.default.bind" % kind: "127.0.0.1:%d" % port}
    if secure:
        conf.update({"listeners.wss.default.ssl_options.certfile": crt,
                     "listeners.wss.default.ssl_options.keyfile": key})
    b = broker_factory(conf).start()
    tcp = PahoClient(b.port, "tcp-side")
    assert tcp.subscribe("t/#", qos=1) == [1]
    host = "localhost" if secure else "127.0.0.1"
    p = run_node(node_path, "mqttjs.js", "%s://%s:%d/mqtt" % (kind, host, port), "js-" + kind, 2,
                 *([crt] if secure else []))
    try:
        lines_until(p, "subscribed")
        assert tcp.get().payload == b"from-mqttjs"
        tcp.publish("t/tcp", b"from-tcp", qos=1)
        seen = lines_until(p, "t/tcp from-tcp")
        assert "t/js from-mqttjs" in seen
        rest = p.stdout.read()
        assert p.wait(timeout=30) == 0, seen + [rest]
    finally:
        if p.poll() is None:
            p.kill()
    tcp.close()


def test_a_chromium_page_over_websocket(broker_factory, node_path):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is not installed (scripts/deps.sh installs it)")
    port = free_port()
    b = broker_factory({"listeners.ws.default.bind": "127.0.0.1:%d" % port}).start()
    tcp = PahoClient(b.port, "tcp-side")
    assert tcp.subscribe("b/#", qos=1) == [1]
    p = run_node(node_path, "browser.js", "ws://127.0.0.1:%d/mqtt" % port, 2)
    try:
        lines_until(p, "subscribed", limit=200)
        assert tcp.get(timeout=30).payload == b"from-chromium"
        tcp.publish("b/tcp", b"from-tcp", qos=1)
        seen = lines_until(p, "b/tcp from-tcp", limit=200)
        assert "b/browser from-chromium" in seen
        assert p.wait(timeout=60) == 0
    finally:
        if p.poll() is None:
            p.kill()
    tcp.close()
