"""The `starling` command line: version, config errors, start/ping/stop with a pid file,
environment overrides, graceful shutdown on SIGTERM. Starling only.

Assumed interface (DESIGN.md "What a user sees"): `starling start|foreground|stop|ping -c
<file>`, `starling version`; `ping` prints "pong" like `emqx ping`; the daemon's pid file
is written under the node's data dir or working directory (found as *.pid there)."""

import glob
import os
import re
import signal
import socket
import subprocess
import time

import pytest

import mqttraw as m

pytestmark = pytest.mark.starling_only("tests the starling command line")


def run(broker, *args, timeout=15, env=None):
    """Run `starling <args>` and return the CompletedProcess (stdout and stderr merged)."""
    return subprocess.run([broker.command()[0], *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, cwd=broker.dir,
                          env=dict(os.environ, **(env or {})))


def accepting(broker):
    try:
        socket.create_connection((broker.host, broker.port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "%s: not within %gs" % (what, timeout)
        time.sleep(0.05)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_version(broker_factory):
    """`starling version` prints a version number and exits 0."""
    r = run(broker_factory(), "version")
    assert r.returncode == 0 and re.search(r"\d+\.\d+", r.stdout), r.stdout


@pytest.mark.parametrize("line, key", [
    ("mqtt.no_such_key = 1", "mqtt.no_such_key"),
    ('mqtt.max_packet_size = "lots"', "mqtt.max_packet_size"),
    ("mqtt.max_qos_allowed = 3", "mqtt.max_qos_allowed"),
    ("mqtt.retain_available = maybe", "mqtt.retain_available"),
])
def test_config_error(broker_factory, line, key):
    """A bad config key or value: the broker exits non-zero and prints
    `<file>:<line>: <key>: <message>`."""
    b = broker_factory()
    path = b.write_config([line])
    lineno = len(b.config_lines()) + 1
    r = run(b, "foreground", "-c", path, timeout=10)
    assert r.returncode != 0, r.stdout
    pattern = r"%s:%d: %s: \S" % (re.escape(os.path.basename(path)), lineno, re.escape(key))
    assert re.search(pattern, r.stdout), "no `file:%d: %s: message` in:\n%s" % (lineno, key, r.stdout)


def test_env_overrides_file(broker_factory):
    """STARLING_<PATH with __> overrides the file (DESIGN.md): max packet size from the
    environment shows in CONNACK."""
    b = broker_factory({"mqtt.max_packet_size": "1MB"})
    b.env["STARLING_MQTT__MAX_PACKET_SIZE"] = "2KB"
    b.start()
    assert m.Conn(b.port, 5).connect("c").props.get("max_packet_size") == 2048


def test_start_ping_stop(broker_factory):
    """`starling start` daemonizes and writes a pid file; `ping` answers pong; `stop` ends
    the daemon and removes the pid file; `ping` then fails."""
    b = broker_factory()
    path = b.write_config()
    pid = None
    try:
        r = run(b, "start", "-c", path)
        assert r.returncode == 0, r.stdout
        wait_until(lambda: accepting(b), 10, "daemon accepting on port %d" % b.port)
        pidfiles = glob.glob(os.path.join(b.dir, "**", "*.pid"), recursive=True)
        assert len(pidfiles) == 1, "expected one pid file under %s: %r" % (b.dir, pidfiles)
        pid = int(open(pidfiles[0]).read().strip())
        assert alive(pid)
        r = run(b, "ping", "-c", path)
        assert r.returncode == 0 and "pong" in r.stdout, r.stdout
        r = run(b, "stop", "-c", path)
        assert r.returncode == 0, r.stdout
        wait_until(lambda: not alive(pid), 10, "daemon %d exiting" % pid)
        assert not accepting(b) and not os.path.exists(pidfiles[0])
        assert run(b, "ping", "-c", path).returncode != 0
    finally:
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_sigterm_graceful_shutdown(broker):
    """SIGTERM: MQTT 5 clients get DISCONNECT 0x8B (server shutting down), 3.1.1 clients are
    closed, and the process exits 0."""
    v5 = m.client(broker.port, "v5", 5)
    v3 = m.client(broker.port, "v3", 4)
    broker.proc.send_signal(signal.SIGTERM)
    v5.expect_disconnect(0x8B, timeout=10)
    v3.expect_closed(timeout=10)
    assert broker.proc.wait(10) == 0


def test_port_in_use(broker, broker_factory):
    """A second broker on a port that is already taken exits non-zero with "Address already
    in use", rather than silently sharing the port with the first (SO_REUSEPORT) and
    taking part of its connections."""
    second = broker_factory(name="second")
    second.port = broker.port
    path = second.write_config()
    r = run(second, "foreground", "-c", path, timeout=10)
    assert r.returncode != 0, r.stdout
    assert "already in use" in r.stdout, r.stdout
    sub = m.client(broker.port, "s", 4)  # the first one still has every connection
    sub.subscribe([("t", 0)])
    m.client(broker.port, "p", 4).publish("t", b"x")
    assert sub.expect_publish().payload == b"x"



@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help_prints_the_whole_usage(broker_factory, flag):
    """`starling --help`, `-h` and `help`: every command (ctl cluster join/leave too) on
    stdout, exit 0."""
    b = broker_factory()
    p = subprocess.run([b.command()[0], flag], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=15)
    assert p.returncode == 0 and p.stderr == "", p
    for cmd in ("foreground", "start", "stop", "ping", "version", "ctl cluster status",
                "ctl cluster join <node>", "ctl cluster leave", "ctl cluster force-leave",
                "bench"):
        assert cmd in p.stdout, (cmd, p.stdout)


def test_ctl_takes_the_config_option_before_or_after_ctl(broker):
    """`starling -c F ctl cluster status` and `starling ctl -c F cluster status` both ask
    the node of F; an unknown option is named; -c without a file says so."""
    from clusterlib import wait_api
    wait_api(broker)
    for args in (("-c", broker.conf_path, "ctl", "cluster", "status"),
                 ("ctl", "-c", broker.conf_path, "cluster", "status"),
                 ("ctl", "--config", broker.conf_path, "cluster", "status", "--json")):
        p = run(broker, *args)
        assert p.returncode == 0 and "running_nodes" in p.stdout, (args, p.stdout)
    p = run(broker, "--frobnicate", "ctl", "cluster", "status")
    assert p.returncode == 2 and "unknown option '--frobnicate'" in p.stdout, p.stdout
    p = run(broker, "ctl", "-c")
    assert p.returncode == 2 and "-c needs a file name" in p.stdout, p.stdout


def test_ctl_log_changes_the_level_at_run_time(broker):
    """`starling ctl log primary-level` prints the level, `ctl log set-level <level>` changes
    it for the running node (PUT /api/v5/log/level): a client that connects while the level
    is warning leaves no debug line, one that connects after it is debug again does; a
    level that does not exist is refused."""
    from clusterlib import api_call, ctl, wait_api, wait_log
    wait_api(broker)
    r = ctl(broker, "log", "primary-level")
    assert (r.returncode, r.stdout) == (0, "debug\n"), (r.stdout, r.stderr)
    r = ctl(broker, "log", "set-level", "warning")
    assert (r.returncode, r.stdout) == (0, "warning\n"), (r.stdout, r.stderr)
    quiet = m.client(broker.port, "lvl-quiet")
    quiet.ping()  # connected (and its debug line skipped) before the level changes back
    st, body = api_call(broker, "PUT", "/api/v5/log/level", {"level": "debug"})
    assert (st, body) == (200, {"level": "debug"}), body
    loud = m.client(broker.port, "lvl-loud")
    wait_log(broker, r"client lvl-loud \(.*\) connected")
    assert not re.search(r"client lvl-quiet \(.*\) connected", broker.log()), "logged at warning"
    r = ctl(broker, "log", "set-level", "verbose")
    assert r.returncode == 1 and "HTTP 400" in r.stderr, r.stderr
    for c in (quiet, loud):
        c.close()
