#!/usr/bin/python3
"""Memory per offline session holding queued messages, Starling beside mosquitto in the same
run (docs/durability.md §9; issue 17's "memory per offline session with 100 queued
messages, in RAM and on disk"). For each broker: start it empty (RSS), make SESSIONS
persistent sessions (MQTT 5, session expiry 1 day) subscribed to one topic and offline,
publish MESSAGES QoS 1 messages to it (so SESSIONS x MESSAGES queue entries, each message
stored once), and read the RSS again; then stop it cleanly and read what it keeps on disk
(Starling: node.data_dir/durable; mosquitto 2.0 with `persistence true`: mosquitto.db,
written at its clean stop), start it again and read the RSS of the recovered broker; one
session then gets its MESSAGES messages. Starling runs at its defaults (persistence on,
wal_sync_interval 1000 ms).

  STARLING_BIN=build/starling SESSIONS=10000 MESSAGES=100 bench/offline-memory.py
Writes bench/results/<date>-offline-memory.md."""

import datetime
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import mqttraw as m  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "durable_recovery", os.path.join(ROOT, "bench", "durable-recovery.py"))
dr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dr)

STARLING = os.environ.get("STARLING_BIN", os.path.join(ROOT, "build", "starling"))
MOSQUITTO = os.environ.get("MOSQUITTO_BIN", shutil.which("mosquitto") or "/usr/sbin/mosquitto")
SESSIONS = int(os.environ.get("SESSIONS", "10000"))
MESSAGES = int(os.environ.get("MESSAGES", "100"))
EXTRA = os.environ.get("STARLING_EXTRA", "")  # more config lines for Starling


def starling_cmd(tmp, port):
    api = dr.free_port()
    conf = os.path.join(tmp, "starling.conf")
    with open(conf, "w") as f:
        f.write('node.data_dir = "%s/data"\nlisteners.tcp.default.bind = "127.0.0.1:%d"\n'
                'dashboard.listeners.http.bind = "127.0.0.1:%d"\ncluster.listen = "127.0.0.1:0"\n'
                'mqtt.max_mqueue_len = %d\nlog.level = notice\n'
                'listeners.tcp.default.max_connections = infinity\n%s\n'
                % (tmp, port, api, MESSAGES + 10, EXTRA))
    return [STARLING, "foreground", "-c", conf], os.path.join(tmp, "data", "durable")


def mosquitto_cmd(tmp, port):
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                "persistence_location %s/\nautosave_interval 0\nmax_queued_messages %d\n"
                "log_dest stdout\n" % (port, tmp, MESSAGES + 10))
    return [MOSQUITTO, "-c", conf], os.path.join(tmp, "mosquitto.db")


def rss_anon_kb(pid):
    """Resident memory that is the process's own (RssAnon): the pages of files it maps
    (Starling reads its LMDB file through a map) are the kernel's page cache."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def disk_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(path) for f in fs)


def measure(name, make_cmd):
    """One broker's row; the broker is killed if anything fails on the way."""
    procs = []
    try:
        return measure_in(name, make_cmd, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def measure_in(name, make_cmd, procs):
    tmp = tempfile.mkdtemp(prefix="offline-memory-%s-" % name)
    os.chmod(tmp, 0o777)  # mosquitto started as root runs as user mosquitto
    port = dr.free_port()
    cmd, store = make_cmd(tmp, port)
    log = open(os.path.join(tmp, "broker.log"), "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    procs.append(proc)
    dr.wait_port(port, proc)
    time.sleep(1)
    empty, empty_anon = dr.rss_kb(proc.pid), rss_anon_kb(proc.pid)
    dr.fill_sessions(port, SESSIONS)
    pub = m.Conn(port, 5, timeout=300)
    assert pub.connect("pub").reason == 0
    for i in range(MESSAGES):
        r = pub.publish("rec/all", b"offline-%03d-%s" % (i, b"x" * 16), qos=1)
        assert r.reason == 0, r
    pub.disconnect()
    time.sleep(3)  # Starling's round of the last second reaches the disk
    full, full_anon = dr.rss_kb(proc.pid), rss_anon_kb(proc.pid)
    proc.terminate()
    proc.wait(timeout=120)
    on_disk = disk_bytes(store)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    procs.append(proc)
    dr.wait_port(port, proc)
    time.sleep(1)
    again, again_anon = dr.rss_kb(proc.pid), rss_anon_kb(proc.pid)
    c = m.Conn(port, 5, timeout=30)  # one session, to check the queue came back
    ca = c.connect("dur-%07d" % (SESSIONS // 2), clean=False,
                   properties={"session_expiry": 86400})
    got = [c.expect_publish(timeout=30).payload[:11] for _ in range(MESSAGES)]
    assert ca.session_present == 1 and got == [b"offline-%03d" % i for i in range(MESSAGES)], got
    c.disconnect()
    proc.terminate()
    proc.wait(timeout=120)
    shutil.rmtree(tmp, ignore_errors=True)
    row = {"broker": name, "empty_kb": empty, "full_kb": full, "again_kb": again,
           "empty_anon": empty_anon, "full_anon": full_anon, "again_anon": again_anon,
           "disk": on_disk}
    print(row, flush=True)
    return row


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rows = [measure("starling", starling_cmd), measure("mosquitto", mosquitto_cmd)]
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    out = os.path.join(ROOT, "bench", "results", "%s-offline-memory.md" % stamp)
    ver = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    with open(out, "w") as f:
        f.write("# offline-memory, %s\n\n" % stamp)
        f.write("%d persistent sessions (MQTT 5, expiry 1 day), each subscribed to one topic "
                "and offline; %d QoS 1 messages of 30 bytes published to it (%d queue "
                "entries). RSS of the empty broker and after the fill; disk after a clean stop. "
                "Starling %s at its defaults (persistence on, wal_sync_interval 1000 ms); %s "
                "with persistence true. %d cores.\n\n"
                % (SESSIONS, MESSAGES, SESSIONS * MESSAGES,
                   subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True).stdout.strip(), ver,
                   os.cpu_count()))
        f.write("RAM is RssAnon, the process's own memory; RSS, which adds the pages of files "
                "it maps (Starling reads its LMDB file through a map: page cache the kernel "
                "can take back), is in brackets.\n\n")
        f.write("| broker | empty (MiB) | after the fill (MiB) | RAM per session (bytes) "
                "| after a restart (MiB) | RAM per session (bytes) | per queued message "
                "(bytes) | on disk (MiB) | disk per session (bytes) |\n"
                "|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            fill = (r["full_anon"] - r["empty_anon"]) * 1024 / SESSIONS
            again = (r["again_anon"] - r["empty_anon"]) * 1024 / SESSIONS
            f.write("| %s | %.1f (%.1f) | %.1f (%.1f) | %.0f | %.1f (%.1f) | %.0f | %.0f | %.1f "
                    "| %.0f |\n" % (
                        r["broker"], r["empty_anon"] / 1024, r["empty_kb"] / 1024,
                        r["full_anon"] / 1024, r["full_kb"] / 1024, fill, r["again_anon"] / 1024,
                        r["again_kb"] / 1024, again, again / MESSAGES, r["disk"] / 1048576,
                        r["disk"] / SESSIONS))
        s, q = rows

        def ratio(key):
            return (s[key] - s["empty_anon"]) / max(1, q[key] - q["empty_anon"])
        f.write("\nRAM per offline session, Starling / mosquitto: %.2fx after the fill, %.2fx "
                "after a restart; disk: %.2fx.\n"
                % (ratio("full_anon"), ratio("again_anon"), s["disk"] / max(1, q["disk"])))
        if EXTRA:
            f.write("\nStarling's extra config: `%s`\n" % EXTRA.replace("\n", "; "))
    print("written", out)


if __name__ == "__main__":
    main()
