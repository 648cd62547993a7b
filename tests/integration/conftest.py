"""Integration-test fixtures: a real broker per test, on a free port, in a temp dir.

STARLING_TEST_BROKER selects the broker: "starling" (default; binary from $STARLING_BIN or
<repo>/build/starling) or "mosquitto" (/usr/sbin/mosquitto, used to validate the tests).

Per-test settings are Starling (EMQX-style) keys:

    @pytest.mark.broker_conf({"mqtt.max_packet_size": "1KB", "mqtt.max_qos_allowed": 1})

For mosquitto, MOSQUITTO_KEYS translates the few keys it has; a test using any other key is
skipped in mosquitto mode. Other markers:

    @pytest.mark.starling_only("why")     skip in mosquitto mode (Starling-specified behaviour)
    @pytest.mark.mosquitto_xfail("why")   xfail in mosquitto mode (we believe mosquitto is wrong)
    @pytest.mark.plain_only("why")        run in the plain build only (scripts/test.sh runs the
                                          sanitizer build with -m "not plain_only")

The broker's log is attached to the report of a failing test. Every test runs under a
hard time limit (TEST_TIMEOUT seconds) so a hung broker cannot hang the suite.
"""

import base64
import os
import urllib.request
import queue
import re
import resource
import shutil
import signal
import socket
import subprocess
import time

import paho.mqtt.client as paho
import pytest

import mqttraw
from ports import free_port  # noqa: F401 (the tests import it from here)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROKER_KIND = os.environ.get("STARLING_TEST_BROKER", "starling")
STARLING_BIN = os.environ.get("STARLING_BIN", os.path.join(REPO, "build", "starling"))
MOSQUITTO_BIN = os.environ.get("MOSQUITTO_BIN", "/usr/sbin/mosquitto")
START_TIMEOUT = 10
TEST_TIMEOUT = 60

MOSQUITTO = BROKER_KIND == "mosquitto"
# STARLING_TEST_PERSISTENCE: every Starling node whose test does not set the key has durable
# sessions "off" (persistence.enable = false), or on with "0ms" (persistence.wal_sync_interval:
# every answer waits for the disk); unset, the defaults (on, 1000 ms). The session tests run
# again both ways (scripts/test.sh).
PERSISTENCE = os.environ.get("STARLING_TEST_PERSISTENCE", "")


def parse_size(v):
    """'1KB' -> 1024, '2MB' -> 2097152, 512 -> 512."""
    if isinstance(v, int):
        return v
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)B?\s*", str(v), re.I)
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2).upper()]


def _bool(v):
    return "true" if v else "false"


# Starling key -> (mosquitto option, value conversion, is it a per-listener option)
MOSQUITTO_KEYS = {
    "mqtt.max_packet_size": ("max_packet_size", parse_size, False),
    "mqtt.max_inflight": ("max_inflight_messages", int, False),
    "mqtt.max_mqueue_len": ("max_queued_messages", int, False),
    "mqtt.mqueue_store_qos0": ("queue_qos0_messages", _bool, False),
    "mqtt.retain_available": ("retain_available", _bool, False),
    "mqtt.server_keepalive": ("max_keepalive", int, False),
    "mqtt.max_qos_allowed": ("max_qos", int, True),
    "mqtt.max_topic_alias": ("max_topic_alias", int, True),
    "listeners.tcp.default.max_connections": ("max_connections", int, True),
}




def hocon_value(v):
    if isinstance(v, bool):
        return _bool(v)
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(hocon_value(x) for x in v)
    if isinstance(v, dict):  # an object: `authentication = [{mechanism = ..., ...}]`
        return "{%s}" % ", ".join("%s = %s" % (k, hocon_value(x)) for k, x in v.items())
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# Every Starling the harness starts has this API key (api_key.bootstrap_file), and every
# urllib request of the tests carries it unless it sets its own Authorization header; the
# tests of the API's credentials talk HTTP themselves.
API_KEY, API_SECRET = "harness", "harness-secret"


class _ApiKey(urllib.request.BaseHandler):
    def http_request(self, req):
        if not req.has_header("Authorization"):
            token = base64.b64encode(("%s:%s" % (API_KEY, API_SECRET)).encode()).decode()
            req.add_unredirected_header("Authorization", "Basic " + token)
        return req

    https_request = http_request


urllib.request.install_opener(urllib.request.build_opener(_ApiKey()))


def api_auth_header():
    """The harness's API key as a header (for requests that bypass the installed opener,
    such as urlopen with an SSL context)."""
    token = base64.b64encode(("%s:%s" % (API_KEY, API_SECRET)).encode()).decode()
    return {"Authorization": "Basic " + token}


class Broker:
    """One broker process. host/port to connect; log() is its output so far."""

    def __init__(self, kind, tmpdir, conf=None):
        self.kind, self.dir, self.conf = kind, str(tmpdir), dict(conf or {})
        self.env = {}  # extra environment variables for the broker process
        self.nofile = None  # (soft, hard) RLIMIT_NOFILE for the broker process
        self.api_port = None  # the HTTP API's port (Starling)
        self.host, self.port, self.proc = "127.0.0.1", None, None
        self.log_path = os.path.join(self.dir, "broker.log")

    # -- config -------------------------------------------------------------------

    def config_lines(self):
        """The config file's lines (Starling HOCON or mosquitto.conf)."""
        if self.kind == "mosquitto":
            lines = ["listener %d %s" % (self.port, self.host)]
            glob = ["allow_anonymous true", "persistence false", "log_dest stderr",
                    "log_type all", "connection_messages true"]
            for key, value in self.conf.items():
                opt, conv, per_listener = MOSQUITTO_KEYS[key]
                (lines if per_listener else glob).append("%s %s" % (opt, conv(value)))
            return lines + glob
        if PERSISTENCE and not {"persistence.enable", "durable_sessions.enable",
                                "persistence.wal_sync_interval"} & set(self.conf):
            if PERSISTENCE == "off":
                self.conf["persistence.enable"] = False
            else:
                self.conf["persistence.wal_sync_interval"] = PERSISTENCE
        lines = ['node.data_dir = "%s"' % os.path.join(self.dir, "data"),
                 "log.level = debug",
                 "log.console.enable = true",
                 'listeners.tcp.default.bind = "%s:%d"' % (self.host, self.port)]
        if "api_key.bootstrap_file" not in self.conf:
            keys = os.path.join(self.dir, "api_keys.txt")
            with open(keys, "w") as f:
                f.write("%s:%s\n" % (API_KEY, API_SECRET))
            lines.append('api_key.bootstrap_file = "%s"' % keys)
        if "cluster.listen" not in self.conf:  # any free port: never the default 4370
            lines.append('cluster.listen = "%s:0"' % self.host)
        if "dashboard.listeners.http.bind" not in self.conf:  # `starling ctl` reads it
            if self.api_port is None:
                self.api_port = free_port()
            lines.append('dashboard.listeners.http.bind = "%s:%d"' % (self.host, self.api_port))
        return lines + ["%s = %s" % (k, hocon_value(v)) for k, v in self.conf.items()]

    @property
    def conf_path(self):
        return os.path.join(self.dir, "mosquitto.conf" if self.kind == "mosquitto" else "starling.conf")

    def write_config(self, extra_lines=()):
        """Write the config file (choosing a port first if there is none) and return its
        path; extra_lines are appended verbatim."""
        if self.port is None:
            self.port = free_port()
        with open(self.conf_path, "w") as f:
            f.write("\n".join(list(self.config_lines()) + list(extra_lines)) + "\n")
        return self.conf_path

    def command(self):
        if self.kind == "mosquitto":
            return [MOSQUITTO_BIN, "-c", self.conf_path]
        return [STARLING_BIN, "foreground", "-c", self.conf_path]

    # -- lifecycle ----------------------------------------------------------------

    def start(self):
        """Start and wait until it accepts connections. A broker without a port picks a
        free one (and retries with another if a parallel test grabbed it); one that has a
        port (a restart) keeps it."""
        fixed_port = self.port is not None
        for _ in range(1 if fixed_port else 3):
            if not fixed_port:
                self.port = free_port()
                self.api_port = None
            self.write_config()
            log_start = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
            with open(self.log_path, "ab") as logf:
                self.proc = subprocess.Popen(self.command(), stdout=logf, stderr=subprocess.STDOUT,
                                             cwd=self.dir, start_new_session=True,
                                             env=dict(os.environ, **self.env),
                                             preexec_fn=self._limits)
            if self._wait_accepting(log_start):
                return self
            self.proc = None
            if "in use" not in self.log()[log_start:].lower():
                break
        pytest.fail("%s did not start on port %s within %ds\n--- log ---\n%s"
                    % (self.kind, self.port, START_TIMEOUT, self.log()), pytrace=False)

    def spawn(self):
        """Start the process and return at once (start several, then wait_ready on each:
        nodes started all at once). No retry on a port taken meanwhile."""
        if self.port is None:
            self.port = free_port()
            self.api_port = None
        self.write_config()
        self._log_start = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(self.command(), stdout=logf, stderr=subprocess.STDOUT,
                                         cwd=self.dir, start_new_session=True,
                                         env=dict(os.environ, **self.env),
                                         preexec_fn=self._limits)
        return self

    def wait_ready(self):
        if not self._wait_accepting(self._log_start):
            self.proc = None
            pytest.fail("%s did not start on port %s within %ds\n--- log ---\n%s"
                        % (self.kind, self.port, START_TIMEOUT, self.log()), pytrace=False)
        return self

    def _limits(self):
        if self.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)

    def _wait_accepting(self, log_start):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._ready(log_start):
                return True
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        return False

    def _other_listeners(self):
        """(host, port) of the TLS and WebSocket listeners this broker's config adds."""
        out = []
        for k, v in self.conf.items():
            parts = k.split(".")
            if len(parts) == 4 and parts[0] == "listeners" and parts[1] != "tcp" and \
                    parts[3] == "bind":
                host, _, port = str(v).rpartition(":")
                out.append((host or "127.0.0.1", int(port)))
        return out

    def _ready(self, log_start):
        if self.kind == "mosquitto":
            # Its log says when it listens. A probe connection closed before CONNECT would
            # make 2.0.11 miscount its clients (mosquitto#1460) and break max_connections.
            return " running" in self.log()[log_start:]
        try:  # every listener accepts (they are opened one after another)
            for addr in [(self.host, self.port)] + self._other_listeners():
                socket.create_connection(addr, timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL if it has not exited in time. Returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def restart(self):
        """Stop and start again on the same port with the same data dir."""
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


# ---- markers and hooks -----------------------------------------------------------------

def pytest_configure(config):
    for line in ("broker_conf(settings): Starling config keys for this test's broker",
                 "starling_only(reason): Starling-specified behaviour; skipped against mosquitto",
                 "mosquitto_xfail(reason): mosquitto is believed wrong here; xfail against it",
                 "time_limit(seconds): this test's hard limit instead of TEST_TIMEOUT",
                 "plain_only(reason): a slow fault, load or benchmark test, run once, in the plain "
                 "build (scripts/test.sh leaves it out of the sanitizer run)"):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config, items):
    if not MOSQUITTO:
        return
    for item in items:
        m = item.get_closest_marker("starling_only")
        if m:
            item.add_marker(pytest.mark.skip(reason="starling-only: " + (m.args[0] if m.args else "")))
        m = item.get_closest_marker("mosquitto_xfail")
        if m:
            item.add_marker(pytest.mark.xfail(reason="mosquitto: " + m.args[0], strict=True))
        m = item.get_closest_marker("broker_conf")
        missing = [k for k in (m.args[0] if m else {}) if k not in MOSQUITTO_KEYS]
        if missing:
            item.add_marker(pytest.mark.skip(reason="no mosquitto equivalent of " + ", ".join(missing)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for b in getattr(item, "_brokers", []):
            report.sections.append(("%s log (port %s)" % (b.kind, b.port), b.log()[-20000:]))


@pytest.fixture(autouse=True)
def _time_limit(request):
    """Abort a test that runs past TEST_TIMEOUT (a hang is a failure, not a stall), or past
    its time_limit(seconds) marker: a test whose own waits are bounded by longer timeouts
    (a storm of 20,000 clients on a slow machine) says so."""
    m = request.node.get_closest_marker("time_limit")
    limit = m.args[0] if m else TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded %ds" % limit)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ---- fixtures --------------------------------------------------------------------------

@pytest.fixture
def broker_factory(request, tmp_path):
    """Make (not start) a Broker for this test; all are stopped at teardown."""
    made = []
    request.node._brokers = made

    def make(conf=None, name="broker"):
        d = tmp_path / name
        d.mkdir()
        b = Broker(BROKER_KIND, d, conf)
        made.append(b)
        return b
    if BROKER_KIND == "starling" and not os.access(STARLING_BIN, os.X_OK):
        pytest.fail("no starling binary at %s (build it, or set STARLING_BIN)" % STARLING_BIN,
                    pytrace=False)
    if BROKER_KIND == "mosquitto" and not shutil.which(MOSQUITTO_BIN):
        pytest.skip("mosquitto not installed")
    yield make
    reports = []
    for b in made:
        b.stop()
        r = sanitizer_report(b.log())
        if r:
            reports.append("%s:\n%s" % (b.dir, r))
    if reports:  # a sanitizer build: what it found, even at exit (leaks), fails the test
        pytest.fail("sanitizer report:\n" + "\n".join(reports), pytrace=False)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ")


def sanitizer_report(log):
    """The first ASan / LSan / UBSan report in a broker's output, or None."""
    at = min((i for i in (log.find(m) for m in SANITIZER_MARKS) if i >= 0), default=-1)
    if at < 0:
        return None
    start = log.rfind("\n", 0, at) + 1
    return log[start:start + 3000]


@pytest.fixture
def broker(request, broker_factory):
    """A running broker configured from this test's broker_conf marker."""
    m = request.node.get_closest_marker("broker_conf")
    return broker_factory(m.args[0] if m else {}).start()


@pytest.fixture
def restart_broker(broker):
    """Call to restart the test's broker in place (same port, same data dir)."""
    return broker.restart


# ---- paho clients ----------------------------------------------------------------------

class PahoClient:
    """A paho client on a background loop with bounded waits. Received messages queue up
    in .messages; get() takes one."""

    VERSIONS = {3: paho.MQTTv31, 4: paho.MQTTv311, 5: paho.MQTTv5}

    def __init__(self, port, client_id="", version=5, clean=True, keepalive=60, will=None,
                 properties=None, host="127.0.0.1", bind_address="", tls=None):
        self.version = version
        kw = {} if version == 5 else {"clean_session": clean}
        self.c = paho.Client(client_id=client_id, protocol=self.VERSIONS[version], **kw)
        if tls:  # {"ca_certs": ..., "certfile": ..., "keyfile": ...}: MQTT over TLS
            self.c.tls_set(**tls)
        self.messages, self._connack, self._subacks = queue.Queue(), queue.Queue(), queue.Queue()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_connect = lambda c, u, flags, rc, props=None: self._connack.put((flags, rc, props))
        self.c.on_subscribe = lambda c, u, mid, granted, props=None: self._subacks.put(granted)
        if will:
            self.c.will_set(will["topic"], will.get("payload"), will.get("qos", 0),
                            will.get("retain", False), will.get("properties"))
        if version == 5:
            self.c.connect(host, port, keepalive, clean_start=clean, properties=properties,
                           bind_address=bind_address)
        else:
            self.c.connect(host, port, keepalive, bind_address=bind_address)
        self.c.loop_start()
        try:
            self.flags, rc, self.connack_props = self._connack.get(timeout=5)
        except queue.Empty:
            raise AssertionError("paho client %r: no CONNACK within 5s" % client_id)
        assert rc == 0, "paho client %r: CONNACK refused: %s" % (client_id, rc)

    def subscribe(self, topic, qos=0, **options):
        """Subscribe and wait for the SUBACK; returns the granted QoS / reason codes."""
        if self.version == 5:
            opts = paho.SubscribeOptions(qos=qos, **options)
            rc, _ = self.c.subscribe(topic, options=opts)
        else:
            rc, _ = self.c.subscribe(topic, qos)
        assert rc == paho.MQTT_ERR_SUCCESS
        try:
            granted = self._subacks.get(timeout=5)
        except queue.Empty:
            raise AssertionError("no SUBACK for %r within 5s" % topic)
        return [getattr(g, "value", g) for g in granted]

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None):
        """Publish and wait until the QoS handshake completes."""
        info = self.c.publish(topic, payload, qos, retain, properties)
        info.wait_for_publish(timeout=5)
        assert info.is_published(), "publish to %r not completed within 5s" % topic

    def get(self, timeout=5):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message within %gs" % timeout)

    def expect_nothing(self, timeout=0.5):
        try:
            m = self.messages.get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError("expected no message, got %s %r" % (m.topic, m.payload))

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def paho_client(broker):
    """Factory: paho_client(client_id, version=5, ...) -> connected PahoClient."""
    made = []

    def make(client_id="", **kw):
        c = PahoClient(broker.port, client_id, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def raw(broker):
    """Factory: raw(version=4) -> an unconnected mqttraw.Conn to the broker; closed after."""
    made = []

    def make(version=4):
        c = mqttraw.Conn(broker.port, version)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


@pytest.fixture
def mqtt(broker):
    """Factory: mqtt(client_id, version=4, **connect_kw) -> a connected mqttraw.Conn."""
    made = []

    def make(client_id="", version=4, **kw):
        c = mqttraw.client(broker.port, client_id, version, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


@pytest.fixture
def expect_dropped(broker):
    """expect_dropped(conn, reasons, timeout=5): the server ends the connection.
    MQTT 5: a DISCONNECT with one of `reasons`, then the close; 3.x: just the close.
    Against mosquitto a v5 close without DISCONNECT is accepted as well: sending the
    DISCONNECT is a MAY (MQTT 5 §4.13) that mosquitto 2.0 often skips; Starling sends it."""

    def check(conn, reasons=(), timeout=5):
        if conn.version != 5:
            return conn.expect_closed(timeout)
        if broker.kind == "mosquitto":
            try:
                p = conn.recv(timeout)
            except mqttraw.Closed:
                return None
            if p is not None:
                conn.pending.insert(0, p)
        return conn.expect_disconnect(reasons, timeout)
    return check


@pytest.fixture
def assert_alive(broker):
    """Call to check the broker still serves: a fresh client subscribes and gets its own
    QoS 1 message back."""
    def check(version=4):
        c = mqttraw.client(broker.port, "alive-check-%d" % time.monotonic_ns(), version)
        try:
            assert c.subscribe([("alive/check", 1)]).reasons == [1]
            assert c.publish("alive/check", b"ok", qos=1).reason == 0
            p = c.expect_publish()
            assert (p.topic, p.payload) == ("alive/check", b"ok")
        finally:
            c.close()
    return check


def self_signed(d, san="DNS:localhost,IP:127.0.0.1"):
    """A self-signed certificate for CN=localhost (and san) made in directory d with the
    OpenSSL command line: (cert path, key path). Tests make their own; none is committed."""
    d = str(d)
    crt, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=" + san,
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    return crt, key
