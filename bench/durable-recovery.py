#!/usr/bin/python3
"""Recovery of durable sessions (docs/durability.md §7, §9): SESSIONS persistent sessions
(MQTT 5, session expiry 1 day) each subscribe to one topic and go offline; MESSAGES QoS 1
messages are published to it, so SESSIONS x MESSAGES queue entries wait on disk, each
message stored once. The node is then killed (-9) and started again, ROUNDS times; each
start is timed from exec to the listener accepting, and the node's own account ("N sessions
recovered with M messages in T ms") and its resident memory after recovery are recorded.
Finally one session connects and must get its MESSAGES messages.

  STARLING_BIN=build/starling SESSIONS=100000 MESSAGES=10 bench/durable-recovery.py
Writes bench/results/<date>-durable-recovery.md."""

import datetime
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import mqttraw as m  # noqa: E402

STARLING = os.environ.get("STARLING_BIN", os.path.join(ROOT, "build", "starling"))
SESSIONS = int(os.environ.get("SESSIONS", "100000"))
MESSAGES = int(os.environ.get("MESSAGES", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SYNC = os.environ.get("SYNC", "1000ms")
THREADS = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(conf, log):
    t0 = time.monotonic()
    proc = subprocess.Popen([STARLING, "foreground", "-c", conf], stdout=log,
                            stderr=subprocess.STDOUT)
    return proc, t0


def wait_port(port, proc, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the node exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.monotonic()
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("the node did not listen in time")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def make_sessions(port, lo, hi, errors):
    try:
        for i in range(lo, hi):
            c = m.Conn(port, 5, timeout=30)
            ca = c.connect("dur-%07d" % i, clean=False, properties={"session_expiry": 86400})
            if ca.reason != 0:
                raise RuntimeError("CONNACK 0x%02x" % ca.reason)
            c.subscribe([("rec/all", 1)])
            c.disconnect()
    except Exception as e:  # noqa: BLE001 (reported by the caller)
        errors.append(repr(e))


def fill_sessions(port, n):
    """n persistent sessions dur-0000000.. subscribed to rec/all and offline, made by
    THREADS clients at once."""
    errors, step = [], (n + THREADS - 1) // THREADS
    ths = [threading.Thread(target=make_sessions,
                            args=(port, k * step, min(n, (k + 1) * step), errors))
           for k in range(THREADS)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        raise RuntimeError("making sessions: %s" % errors[:3])


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="durable-recovery-")
    port, api = free_port(), free_port()
    conf = os.path.join(tmp, "starling.conf")
    with open(conf, "w") as f:
        f.write('node.data_dir = "%s/data"\nlisteners.tcp.default.bind = "127.0.0.1:%d"\n'
                'dashboard.listeners.http.bind = "127.0.0.1:%d"\ncluster.listen = "127.0.0.1:0"\n'
                'persistence.enable = true\npersistence.wal_sync_interval = "%s"\n'
                'mqtt.max_mqueue_len = %d\nlog.level = notice\n'
                'listeners.tcp.default.max_connections = infinity\n'
                % (tmp, port, api, SYNC, MESSAGES + 10))
    log = open(os.path.join(tmp, "broker.log"), "ab")
    proc, t0 = start(conf, log)
    wait_port(port, proc)
    t_fill = time.monotonic()
    fill_sessions(port, SESSIONS)
    pub = m.Conn(port, 5, timeout=300)
    assert pub.connect("pub").reason == 0
    for i in range(MESSAGES):
        r = pub.publish("rec/all", b"recovery-%d" % i, qos=1)
        assert r.reason == 0, r
    pub.close()
    fill_s = time.monotonic() - t_fill
    rss_before = rss_kb(proc.pid)
    time.sleep(SYNC_WAIT(SYNC))  # the last interval's round reaches the disk
    runs = []
    for _ in range(ROUNDS):
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        size = sum(os.path.getsize(os.path.join(dp, f))
                   for dp, _, fs in os.walk(os.path.join(tmp, "data", "durable")) for f in fs)
        mark = os.path.getsize(os.path.join(tmp, "broker.log"))
        proc, t0 = start(conf, log)
        ready = wait_port(port, proc)
        with open(os.path.join(tmp, "broker.log"), "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        g = re.search(r"(\d+) sessions recovered with (\d+) messages in (\d+) ms", text)
        runs.append({"start_s": ready - t0, "sessions": int(g.group(1)),
                     "entries": int(g.group(2)), "recovery_ms": int(g.group(3)),
                     "rss_kb": rss_kb(proc.pid), "store_bytes": size})
        print(runs[-1], flush=True)
    c = m.Conn(port, 5, timeout=30)
    ca = c.connect("dur-%07d" % (SESSIONS // 2), clean=False,
                   properties={"session_expiry": 86400})
    got = [c.expect_publish(timeout=30).payload for _ in range(MESSAGES)]
    assert ca.session_present == 1 and got == [b"recovery-%d" % i for i in range(MESSAGES)], got
    c.close()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    out = os.path.join(ROOT, "bench", "results", "%s-durable-recovery.md" % stamp)
    with open(out, "w") as f:
        f.write("# durable-recovery, %s\n\n" % stamp)
        f.write("%d durable sessions (MQTT 5, expiry 1 day), each subscribed to one topic and "
                "offline; %d QoS 1 messages published to it: %d queue entries, each message "
                "stored once. wal_sync_interval = %s. Filling took %.1f s (RSS %.0f MiB). "
                "Then kill -9 and start, %d times. Starling %s, %d cores.\n\n"
                % (SESSIONS, MESSAGES, SESSIONS * MESSAGES, SYNC, fill_s, rss_before / 1024,
                   ROUNDS, subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True).stdout.strip(),
                   os.cpu_count()))
        f.write("| round | start to listening (s) | recovery (node's account, ms) | sessions | "
                "entries | RSS after (MiB) | store on disk (MiB) |\n|---|---|---|---|---|---|---|\n")
        for i, r in enumerate(runs):
            f.write("| %d | %.2f | %d | %d | %d | %.0f | %.0f |\n" % (
                i + 1, r["start_s"], r["recovery_ms"], r["sessions"], r["entries"],
                r["rss_kb"] / 1024, r["store_bytes"] / 1048576))
        f.write("\nSession dur-%07d connected after the last start got its %d messages in "
                "order.\n" % (SESSIONS // 2, MESSAGES))
    print("written", out)


def SYNC_WAIT(sync):
    v = re.match(r"(\d+)(ms|s)?$", sync)
    ms = int(v.group(1)) * (1000 if v.group(2) == "s" else 1)
    return ms / 1000 * 2 + 0.5


if __name__ == "__main__":
    main()
