"""Run the BENCHMARKS.md scenarios against Starling and mosquitto, alternating, and report
medians and ratios. Started by bench/compare.sh (which builds build-bench/starling).

    compare.py [scenario ...]     default: every scenario, in the order of ORDER

Throughput scenarios alternate A B A B A B (ROUNDS pairs); `latency` offers half of
mosquitto's median p2p rate of this run (`durable-latency`: between persistent sessions, half
of mosquitto's durable-p2p rate, mosquitto with `persistence true`); `instr` counts instructions per delivered message
under callgrind (the difference of two runs with N and 2N messages, so start-up and
connection set-up cancel out); `idle` reads the broker's RSS with 15,000 idle subscribers;
`scale` holds connections up to Starling's open-file limit for 60 s and checks what
happens past it. Writes bench/results/<stamp>-<OUT>.md and .json.

The message scenarios (MESSAGE_SCENARIOS) run once per config of CONFIGS: `defaults`, both
brokers as shipped (no queue or inflight settings), and `tuned`, queues and windows lifted
(Starling mqtt.max_mqueue_len = 100000, max_inflight = 1000; mosquitto
max_queued_messages 100000, max_inflight_messages 1000). A Starling run that loses a QoS 1
message or stalls (broker CPU under STALL_CORES while the load generator had work queued)
fails its row, whatever its rate."""
import datetime
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARLING = os.environ.get("STARLING_BIN", os.path.join(ROOT, "build-bench", "starling"))
RESULTS = os.environ.get("RESULTS_DIR", os.path.join(ROOT, "bench", "results"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = float(os.environ.get("DURATION", "10"))
IDLE_CONNS = int(os.environ.get("IDLE_CONNS", "15000"))
IDLE_HOLD = float(os.environ.get("IDLE_HOLD", "30"))
SCALE_HOLD = float(os.environ.get("SCALE_HOLD", "60"))
IFADDR = "127.0.0.2-127.0.0.9"
# Lines added to every Starling config of the run (an A/B of one setting, e.g.
# "persistence.enable = true" with clean sessions); recorded in the results.
CONF_EXTRA = os.environ.get("STARLING_CONF_EXTRA", "").replace("\\n", "\n")
# SMOKE=1: tiny client counts and durations, for the test suite (exercises every code path
# of this script; the figures mean nothing)
SMOKE = os.environ.get("SMOKE") == "1"
SCALE_NOFILE = int(os.environ.get("SCALE_NOFILE", "0"))  # 0: the hard limit
CONFIGS = [c for c in os.environ.get("CONFIGS", "defaults,tuned").split(",") if c]
STALL_CORES = 0.5

# name -> (bench arguments, the figure compared, target ratio)
SCENARIOS = {
    "fanout": (["pubsub", "--pubs", "1", "--subs", "100", "-t", "t", "--sub-topic", "t",
                "-q", "0", "-s", "64"], "rate_per_s", 3.0),
    "fanout-q1": (["pubsub", "--pubs", "5", "--subs", "200", "-t", "t/%i", "--sub-topic", "t/+",
                   "-q", "1", "-s", "16", "--inflight", "10"], "rate_per_s", 2.0),
    "p2p": (["pubsub", "--pubs", "200", "--subs", "200", "-t", "p2p/%i", "--sub-topic", "p2p/%i",
             "-q", "1", "-s", "16", "--inflight", "10"], "rate_per_s", 2.0),
    "fanin": (["pubsub", "--pubs", "200", "--subs", "1", "-t", "fi/%i", "--sub-topic", "fi/#",
               "-q", "1", "-s", "16", "--inflight", "10"], "rate_per_s", 2.0),
    "sharedsub": (["pubsub", "--pubs", "200", "--subs", "10", "-t", "ss/%i",
                   "--sub-topic", "$share/g/ss/#", "-q", "1", "-s", "16", "--inflight", "10"],
                  "rate_per_s", 2.0),
    # "as fast as possible": 1,024 connects in flight, as emqtt-bench's interval 0 does (all
    # at once); connect-64 is a polite client (64 in flight), for the record
    "connect": (["conn", "-c", "15000", "--procs", "2", "--ifaddr", IFADDR, "-d", "1",
                 "--conn-inflight", "1024"], "connect.rate_per_s", 2.0),
    "connect-64": (["conn", "-c", "15000", "--procs", "2", "--ifaddr", IFADDR, "-d", "1",
                    "--conn-inflight", "64"], "connect.rate_per_s", None),
}
# Transports (docs/transports.md): the same workloads over TLS and WebSocket, against
# mosquitto's TLS and websockets listeners with the same certificate (made for the run).
TRANSPORT = {"tls-p2p": "tls", "tls-fanout": "tls", "ws-p2p": "ws", "ws-fanout": "ws",
             "tls-connect": "tls", "tls-connect-resumed": "tls", "tls-idle": "tls",
             "auth-connect": "auth", "acl-p2p": "acl", "bcrypt-logins": "bcrypt",
             "durable-p2p": "durable", "durable0-p2p": "durable0"}
SCENARIOS.update({
    "tls-p2p": (SCENARIOS["p2p"][0], "rate_per_s", 3.0),
    "tls-fanout": (SCENARIOS["fanout"][0], "rate_per_s", 5.0),
    "ws-p2p": (SCENARIOS["p2p"][0], "rate_per_s", 3.0),
    "ws-fanout": (SCENARIOS["fanout"][0], "rate_per_s", 3.0),
    # full handshakes (RSA 2048): far slower than plain connects, so fewer of them
    "tls-connect": (["conn", "-c", "3000", "--procs", "2", "--ifaddr", IFADDR, "-d", "1",
                     "--conn-inflight", "256"], "connect.rate_per_s", 2.0),
    # resumed handshakes (TLS 1.3 tickets: no certificate, no signature); each load
    # generator thread's first connects are full ones
    # every CONNECT checked against a user table (docs/security.md): Starling's built-in
    # database with sha256, mosquitto's password_file (mosquitto_passwd's default hash)
    "auth-connect": (["conn", "-c", "15000", "--procs", "2", "--ifaddr", IFADDR, "-d", "1",
                      "--conn-inflight", "1024"], "connect.rate_per_s", 2.0),
    # p2p with every PUBLISH authorized against 1,000 rules (ACL_RULES - 1 that apply to
    # everyone and match no p2p topic, then one that allows): Starling's acl.conf with the
    # cache on (its default), mosquitto's acl_file
    "acl-p2p": (SCENARIOS["p2p"][0], "rate_per_s", 2.0),
    "tls-connect-resumed": (["conn", "-c", "3000", "--procs", "2", "--ifaddr", IFADDR, "-d", "1",
                    "--conn-inflight", "256", "--tls-resume"], "connect.rate_per_s", 2.0),
    # p2p between persistent sessions (clean_start 0) kept on disk (docs/durability.md):
    # Starling with persistence.enable at its default wal_sync_interval (1000 ms), and at 0
    # (every PUBACK after its fsync); mosquitto with `persistence true` (written at its
    # autosave and at exit only). Target (the issue): at 1000 ms >= 3x mosquitto.
    "durable-p2p": (SCENARIOS["p2p"][0] + ["--persistent"], "rate_per_s", 3.0),
    "durable0-p2p": (SCENARIOS["p2p"][0] + ["--persistent"], "rate_per_s", 1.0),
})
LATENCY_ARGS = ["pubsub", "--pubs", "200", "--subs", "200", "-t", "lat/%i", "--sub-topic",
                "lat/%i", "-q", "1", "-s", "16", "--inflight", "10"]
# instructions per delivered message: (bench arguments without -n, messages per publisher)
INSTR = {
    "fanout": (["pubsub", "--pubs", "1", "--subs", "100", "-t", "t", "-q", "0", "-s", "64"], 1000),
    "p2p": (["pubsub", "--pubs", "200", "--subs", "200", "-t", "p2p/%i", "-q", "1", "-s", "16",
             "--inflight", "10"], 100),
}
INSTR_SCALE = float(os.environ.get("INSTR_SCALE", "1"))  # < 1 for smoke runs


def shrink(args):
    """SMOKE mode: at most 3 publishers, 4 subscribers, 40 connections."""
    out, caps = list(args), {"--pubs": 3, "--subs": 4, "-c": 40}
    for i, a in enumerate(out[:-1]):
        if a in caps:
            out[i + 1] = str(min(int(out[i + 1]), caps[a]))
    return out


if SMOKE:
    SCENARIOS = {k: (shrink(a), key, t) for k, (a, key, t) in SCENARIOS.items()}
    LATENCY_ARGS = shrink(LATENCY_ARGS)
    # enough messages that the difference between the two callgrind runs is the messages'
    # and not the timers (worker ticks, the cluster thread) that run meanwhile
    INSTR = {k: (shrink(a), max(1, n // 2)) for k, (a, n) in INSTR.items()}
    ROUNDS, DURATION, IDLE_CONNS, IDLE_HOLD, SCALE_HOLD = 1, 1.0, 40, 2.0, 3.0
    BCRYPT_ROUNDS, LOGIN_RATE, LOGIN_STREAM_RATE = 5, 20, 300
    SCALE_NOFILE = SCALE_NOFILE or 128

MESSAGE_SCENARIOS = {"fanout", "fanout-q1", "p2p", "latency", "durable-latency", "fanin", "sharedsub", "xnode",
                     "xnode-tls", "acl-p2p", "durable-p2p", "durable0-p2p", "xnode-copies",
                     "xnode-copies0",
                     "tls-p2p", "tls-fanout", "ws-p2p", "ws-fanout"}
ORDER = ["fanout", "fanout-q1", "p2p", "latency", "fanin", "sharedsub", "connect",
         "connect-64", "idle", "instr", "scale", "xnode", "xnode-tls", "tls-p2p", "tls-fanout",
         "ws-p2p", "auth-connect", "acl-p2p", "bcrypt-logins",
         "ws-fanout", "tls-connect", "tls-connect-resumed", "tls-idle", "durable-p2p",
         "durable-latency", "durable0-p2p", "xnode-copies", "xnode-copies0"]
# xnode: p2p with every publisher on node 1 and its subscriber on node 2 or 3 of a Starling
# cluster, against the same p2p on one Starling node in the same session (not mosquitto,
# which has no cluster). Throughput at full speed, then latency at a moderate offered rate
# (XNODE_LAT_RATE), where the time the extra hop adds is not hidden behind CPU saturation
# (at half the full rate all four processes share 2 cores and queueing dominates both).
# xnode-tls: the same three-node p2p with every cluster connection over mutual TLS
# (cluster.proto_dist = inet_tls, one self-signed certificate as every node's and the CA),
# against the plain cluster in the same session: what TLS between nodes costs.
# xnode-copies (xnode-copies0): the three-node p2p with persistent sessions (durable-p2p's
# clients) and persistence on at wal_sync_interval 1000 ms (0), with
# persistence.shared_client_session (each node's store copied to another member, and at 0 an
# ack waiting for that copy too) against the same without it, in the same session.
XNODE_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
XNODE_LAT_RATE = float(os.environ.get("XNODE_LAT_RATE", "20000"))


sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from ports import free_port  # noqa: E402 (one picker for tests and benchmarks)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Broker:
    """One broker process, configured so that its limits do not cap the scenario."""

    def __init__(self, kind, workdir, callgrind=None, nofile=0, host="0.0.0.0", port=None,
                 cluster="", api="127.0.0.1:0", tuned=False, transport="tcp"):
        self.kind, self.dir, self.port = kind, workdir, port or free_port()
        self.auto_port = port is None  # free_port()'s pick can be taken before the broker binds
        self.callgrind = callgrind  # output file: run under valgrind --tool=callgrind
        self.nofile = nofile  # RLIMIT_NOFILE for the broker; 0: soft raised to the hard limit
        self.host = host
        self.cluster = cluster  # extra config lines: node name, cluster port, seeds
        self.api = api  # dashboard.listeners.http.bind (ctl talks to it)
        self.tuned = tuned  # queues and windows lifted; else both brokers as shipped
        self.transport = transport  # tcp, tls, ws: what self.port speaks

    def _limits(self):
        if self.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        else:
            raise_nofile()

    def start(self):
        """Start and wait for the listener. A broker that exits is reported with its stderr;
        one that lost its auto-picked port to another process is started again on another."""
        for attempt in range(3):
            cmd = self._command()
            with tempfile.NamedTemporaryFile("w", dir=self.dir, prefix="stderr-",
                                             delete=False) as err:
                self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                             preexec_fn=self._limits)
            try:
                wait_port(self.port, self.proc, 60 if self.callgrind else 10,
                          "127.0.0.1" if self.host == "0.0.0.0" else self.host)
                return self
            except RuntimeError as e:
                with open(err.name) as f:
                    why = f.read()[-2000:].strip()
                if self.proc.poll() is None or "Address already in use" not in why or \
                        not self.auto_port or attempt == 2:
                    raise RuntimeError("%s: %s" % (e, why or "(nothing on stderr)")) from None
                self.port = free_port()

    def _command(self):
        if self.kind == "starling":
            data = tempfile.mkdtemp(prefix="data-", dir=self.dir)  # every run starts clean
            conf = os.path.join(data, "starling.conf")
            self.log_path = os.path.join(data, "starling.log")
            tcp_port = self.port if self.transport in ("tcp", "auth", "acl", "bcrypt", "durable",
                                                       "durable0") else free_port()
            with open(conf, "w") as f:
                f.write('node.data_dir = "%s"\nlog.level = warning\n'
                        'log.file.enable = true\nlog.file.path = "%s/starling.log"\n'
                        'listeners.tcp.default.bind = "%s:%d"\n'
                        'dashboard.listeners.http.bind = "%s"\n%s%s\n' %
                        (data, data, self.host, tcp_port, self.api,
                         "mqtt.max_mqueue_len = 100000\nmqtt.max_inflight = 1000\n"
                         if self.tuned else "",
                         self.cluster or 'cluster.listen = "127.0.0.1:0"'))
                if CONF_EXTRA:
                    f.write(CONF_EXTRA + "\n")
                if self.transport == "tls":
                    f.write('listeners.ssl.default { bind = "%s:%d", ssl_options { certfile = '
                            '"%s", keyfile = "%s" } }\n' % ((self.host, self.port) + certs(self.dir)))
                elif self.transport == "ws":
                    f.write('listeners.ws.default.bind = "%s:%d"\n' % (self.host, self.port))
                elif self.transport == "auth":
                    users = os.path.join(data, "users.csv")
                    with open(users, "w") as u:
                        u.write("user_id,password\n%s,%s\n" % (AUTH_USER, AUTH_PASSWORD))
                    f.write('authentication = [{mechanism = password_based, backend = '
                            'built_in_database, bootstrap_file = "%s", password_hash_algorithm '
                            '{name = sha256, salt_position = prefix}}]\n' % users)
                elif self.transport == "bcrypt":  # the stream anonymous, the logins bcrypt
                    users = os.path.join(data, "users.csv")
                    with open(users, "w") as u:
                        u.write("user_id,password\n%s,%s\n" % (AUTH_USER, AUTH_PASSWORD))
                    f.write('allow_anonymous = true\nauthentication = [{mechanism = '
                            'password_based, backend = built_in_database, bootstrap_file = '
                            '"%s", password_hash_algorithm {name = bcrypt, salt_rounds = %d}}]\n'
                            % (users, BCRYPT_ROUNDS))
                elif self.transport in ("durable", "durable0"):
                    f.write("persistence.enable = true\n")
                    if self.transport == "durable0":
                        f.write("persistence.wal_sync_interval = 0\n")
                elif self.transport == "acl":
                    acl = os.path.join(data, "acl.conf")
                    with open(acl, "w") as a:
                        for i in range(ACL_RULES - 1):
                            a.write('{deny, all, publish, ["blocked/%d/#"]}.\n' % i)
                        a.write("{allow, all}.\n")
                    f.write('authorization.sources = [{type = file, path = "%s"}]\n' % acl)
            self.conf = conf
            cmd = [STARLING, "-c", conf, "foreground"]
        else:
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write("listener %d 0.0.0.0\n" % self.port)
                if self.transport == "tls":
                    f.write("certfile %s\nkeyfile %s\n" % certs(self.dir))
                elif self.transport == "ws":
                    f.write("protocol websockets\n")
                if self.transport in ("auth", "bcrypt"):
                    pw = os.path.join(self.dir, "mosquitto.passwd")
                    subprocess.run(["mosquitto_passwd", "-b", "-c", pw, AUTH_USER, AUTH_PASSWORD],
                                   check=True, capture_output=True)
                    os.chmod(pw, 0o644)  # mosquitto reads it as its own user
                    os.chmod(self.dir, 0o755)
                    f.write("password_file %s\nallow_anonymous %s\n" % (
                        pw, "true" if self.transport == "bcrypt" else "false"))
                if self.transport == "acl":
                    acl = os.path.join(self.dir, "mosquitto.acl")
                    with open(acl, "w") as a:
                        for i in range(ACL_RULES - 1):
                            a.write("topic deny blocked/%d/#\n" % i)
                        a.write("topic readwrite #\n")
                    os.chmod(acl, 0o644)
                    os.chmod(self.dir, 0o755)
                    f.write("acl_file %s\n" % acl)
                if self.transport != "auth":
                    f.write("allow_anonymous true\n")
                if self.transport in ("durable", "durable0"):
                    store = tempfile.mkdtemp(prefix="mosq-", dir=self.dir)
                    os.chmod(store, 0o777)  # mosquitto writes it as its own user
                    os.chmod(self.dir, 0o755)
                    f.write("persistence true\npersistence_location %s/\n" % store)
                else:
                    f.write("persistence false\n")
                f.write("log_type error\nlog_dest stderr\nset_tcp_nodelay true\n"
                        "max_connections -1\n")
                if self.tuned:
                    f.write("max_queued_messages 100000\nmax_inflight_messages 1000\n")
                if self.callgrind:  # keep root, so valgrind can write its output file
                    f.write("user root\n")
            cmd = ["mosquitto", "-c", conf]
        if self.callgrind:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + self.callgrind] + cmd
        return cmd

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(120 if self.callgrind else 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def certs(d):
    """A self-signed certificate and key for the run's TLS listeners (made once in d)."""
    crt, key = os.path.join(d, "bench-cert.pem"), os.path.join(d, "bench-key.pem")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", crt], check=True,
                       capture_output=True)
        # mosquitto started as root reads them as its own user: a throwaway key, readable
        os.chmod(d, 0o755)
        for f in (crt, key):
            os.chmod(f, 0o644)
    return crt, key


def transport_of(name, kind):
    """Debian's mosquitto 2.0.11 is built without libwebsockets (its websockets listener
    exits with "Unable to start any listening sockets"): for the ws scenarios it serves plain
    TCP, its fastest transport, so the ratio is a lower bound of the one against its
    WebSocket listener."""
    t = TRANSPORT.get(name, "tcp")
    return "tcp" if t == "ws" and kind == "mosquitto" else t


AUTH_USER, AUTH_PASSWORD = "bench", "bench-secret"
ACL_RULES = 1000
# bcrypt-logins: the latency stream (LATENCY_ARGS, anonymous clients) at LOGIN_STREAM_RATE,
# alone and then while LOGIN_RATE logins/s arrive, each a user whose password Starling checks
# with bcrypt at EMQX's default cost (mosquitto: its password_file's default hash, cheap)
BCRYPT_ROUNDS = 10
LOGIN_RATE = int(os.environ.get("LOGIN_RATE", "200"))
LOGIN_STREAM_RATE = int(os.environ.get("LOGIN_STREAM_RATE", "20000"))


def transport_flags(transport):
    return {"tls": ("--tls",), "ws": ("--ws",),
            "auth": ("-u", AUTH_USER, "-P", AUTH_PASSWORD)}.get(transport, ())


def wait_port(port, proc, timeout, host="127.0.0.1"):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("broker exited with %s" % proc.returncode)
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("broker did not listen on %d" % port)


def dig(d, path):
    for k in path.split("."):
        d = d[k]
    return d


def bench_cmd(args, port, extra=(), host="127.0.0.1"):
    return [STARLING, "bench", *args, "-h", host, "-p", str(port), "--json", "-Q", *extra]


def parse_json(out, err=""):
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError("bench failed: %s\n%s" % (out[-2000:], err[-2000:]))


def run_bench(args, port, extra=(), timeout=600, host="127.0.0.1"):
    cmd = bench_cmd(args, port, extra, host)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return parse_json(out.stdout, out.stderr), " ".join(cmd)


def with_broker(kind, workdir, fn, **kw):
    b = Broker(kind, workdir, **kw).start()
    try:
        return fn(b)
    finally:
        b.stop()


def measured(b, fn):
    """fn()'s (result, command), with the broker's CPU use over the run in result
    ["broker_cpu_cores"] (cores, averaged over the run)."""
    cpu0, t0 = b.cpu_s(), time.time()
    res, cmd = fn()
    res["broker_cpu_cores"] = (b.cpu_s() - cpu0) / max(time.time() - t0, 1e-3)
    return res, cmd


# ---- scenarios -------------------------------------------------------------------------

def throughput(name, kind, tmp, ctx):
    args, _, _ = SCENARIOS[name]
    extra = () if "connect" in name else ("-d", str(DURATION))
    t = transport_of(name, kind)
    extra += transport_flags(t)
    return with_broker(kind, tmp, lambda b: measured(b, lambda: run_bench(args, b.port, extra)),
                       tuned=ctx["tuned"], transport=t)


def latency(kind, tmp, ctx):
    rate = ctx["latency_rate"]
    return with_broker(kind, tmp, lambda b: measured(b, lambda: run_bench(
        LATENCY_ARGS, b.port, ("-r", str(int(rate)), "-d", str(DURATION)))), tuned=ctx["tuned"])


def durable_latency(kind, tmp, ctx):
    """`latency` between persistent sessions kept on disk (both brokers as in durable-p2p),
    at half of mosquitto's durable-p2p rate."""
    rate = ctx["durable_latency_rate"]
    return with_broker(kind, tmp, lambda b: measured(b, lambda: run_bench(
        LATENCY_ARGS + ["--persistent"], b.port, ("-r", str(int(rate)), "-d", str(DURATION)))),
        tuned=ctx["tuned"], transport="durable")


def login_storm(kind, tmp, ctx):
    """The stream's p99 alone, then with the logins arriving (started once the stream's
    clients are connected, and lasting past its end). Logins that wait longer than 10 s
    give up (the connect timeout) and are counted as such."""
    stream = ("-r", str(LOGIN_STREAM_RATE), "-d", str(DURATION))
    n = int(LOGIN_RATE * (DURATION + 4))
    storm_args = ["conn", "-c", str(n), "-R", str(LOGIN_RATE), "--conn-inflight", str(n),
                  "--connect-timeout", "10", "-d", "1", "--ifaddr", IFADDR, "--prefix", "storm"]

    def fn(b):
        base, cmd = run_bench(LATENCY_ARGS, b.port, stream)
        loaded = subprocess.Popen(bench_cmd(LATENCY_ARGS, b.port, stream), text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(3 if not SMOKE else 1)  # its clients connect first
        logins = subprocess.Popen(bench_cmd(storm_args, b.port, transport_flags("auth")),
                                  text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = loaded.communicate(timeout=600)
        lout, lerr = logins.communicate(timeout=600)
        res = {"base": base, "storm": parse_json(out, err), "logins": parse_json(lout, lerr)}
        res["p99_ratio"] = res["storm"]["latency_us"]["p99"] / max(base["latency_us"]["p99"], 1)
        return res, cmd + " / with " + " ".join(bench_cmd(storm_args, b.port))
    return with_broker(kind, tmp, fn, transport="bcrypt")


def login_rows(results):
    s, m = results["starling"], results["mosquitto"]
    rs, rm = med([r["p99_ratio"] for r in s]), med([r["p99_ratio"] for r in m])

    def p99s(runs, k):
        return med([r[k]["latency_us"]["p99"] for r in runs])
    ok = [r["logins"]["connect"]["ok"] for r in s]
    return [{"scenario": "bcrypt-logins", "figure": "stream p99 with / without %d logins/s"
             % LOGIN_RATE, "starling": rs, "mosquitto": rm, "ratio": None, "target": "≤ 2x",
             "met": rs is not None and rs <= 2.0,
             "note": "p99 %.0f → %.0f µs (mosquitto %.0f → %.0f) at %d msgs/s; Starling let in "
                     "%d of each round's %d logins (bcrypt cost %d), the rest gave up after 10 s; "
                     "per-round ratios %s" % (
                         p99s(s, "base"), p99s(s, "storm"), p99s(m, "base"), p99s(m, "storm"),
                         LOGIN_STREAM_RATE, med(ok), s[0]["logins"]["connect"]["ok"] +
                         s[0]["logins"]["connect"]["failed"], BCRYPT_ROUNDS,
                         "/".join("%.2f" % r["p99_ratio"] for r in s))}]


def common_free_port(hosts):
    """A port free on every one of these addresses (each node binds its own)."""
    while True:
        port = free_port()
        try:
            for h in hosts:
                with socket.socket() as s:
                    s.bind((h, port))
            return port
        except OSError:
            continue


def cluster_of_three(tmp, tuned, tls=False, extra=""):
    """Three Starling nodes on their own addresses, nodes 2 and 3 with node 1 as seed; returns
    them once every node has its CONTROL links and data lanes (log lines)."""
    mport, cport = common_free_port(XNODE_HOSTS), common_free_port(XNODE_HOSTS)
    nodes = []
    try:
        for i, h in enumerate(XNODE_HOSTS):
            conf = 'node.name = "starling@%s"\ncluster.listen = "%s:%d"\n%s' % (h, h, cport, extra)
            if tls:
                crt, key = certs(tmp)
                conf += ('cluster.proto_dist = inet_tls\n'
                         'cluster.ssl_options { certfile = "%s", keyfile = "%s", '
                         'cacertfile = "%s" }\n' % (crt, key, crt))
            if i:
                conf += ('cluster.discovery_strategy = static\n'
                         'cluster.static.seeds = ["starling@%s"]\n' % XNODE_HOSTS[0])
            nodes.append(Broker("starling", tmp, host=h, port=mport, cluster=conf,
                                api="%s:%d" % (h, free_port()), tuned=tuned).start())
        deadline = time.time() + 20
        while time.time() < deadline:
            if all(linked(n) for n in nodes):
                time.sleep(1)  # data lanes follow the CONTROL links within a tick
                return nodes
            time.sleep(0.1)
        raise RuntimeError("the 3 nodes did not link within 20 s")
    except Exception:
        for n in nodes:
            n.stop()
        raise


def linked(node):
    try:
        r = subprocess.run([STARLING, "-c", node.conf, "ctl", "cluster", "status", "--json"],
                           capture_output=True, text=True, timeout=5)
        return len(json.loads(r.stdout)["running_nodes"]) == len(XNODE_HOSTS)
    except (subprocess.SubprocessError, ValueError, KeyError):
        return False


def xnode(kind, tmp, ctx):
    """kind "cluster": publishers on node 1, subscribers on nodes 2 and 3; kind "single":
    the same p2p on one node. Throughput, then latency at XNODE_LAT_RATE. Kinds "durable",
    "copies" (and "durable0", "copies0"): the cluster with persistent sessions, persistence
    on, and for "copies" shared_client_session; throughput only."""
    durable = kind.startswith(("durable", "copies"))
    args = SCENARIOS["durable-p2p" if durable else "p2p"][0]
    lat_rate = XNODE_LAT_RATE if not SMOKE and not durable else 0
    extra = ""
    if durable:
        extra = "persistence.enable = true\npersistence.wal_sync_interval = %s\n" % (
            "0" if kind.endswith("0") else "1000ms")
        if kind.startswith("copies"):
            extra += "persistence.shared_client_session = true\n"
    if kind == "single":
        def fn(b):
            res, cmd = measured(b, lambda: run_bench(args, b.port, ("-d", str(DURATION))))
            if lat_rate:
                res["at_rate"], _ = run_bench(args, b.port,
                                              ("-r", str(int(lat_rate)), "-d", str(DURATION)))
            return res, cmd
        return with_broker("starling", tmp, fn, tuned=ctx["tuned"])
    nodes = cluster_of_three(tmp, ctx["tuned"], tls=kind == "cluster-tls", extra=extra)
    try:
        extra = ("-d", str(DURATION), "--sub-hosts", ",".join(XNODE_HOSTS[1:]))
        res, cmd = measured(nodes[0], lambda: run_bench(args, nodes[0].port, extra,
                                                        host=XNODE_HOSTS[0]))
        if lat_rate:
            res["at_rate"], _ = run_bench(args, nodes[0].port,
                                          extra + ("-r", str(int(lat_rate))), host=XNODE_HOSTS[0])
        return res, cmd
    finally:
        for n in nodes:
            n.stop()


def idle(kind, tmp, ctx, transport="tcp"):
    """Broker RSS per connection: IDLE_CONNS connections with one subscription each."""
    def fn(b):
        base = b.rss_kb()
        cmd = bench_cmd(["conn", "-c", str(IDLE_CONNS), "--procs", "2", "--ifaddr", IFADDR,
                         "-t", "idle/%i", "-d", str(IDLE_HOLD)], b.port,
                        transport_flags(transport))
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(IDLE_HOLD * 0.8)
        rss = b.rss_kb()
        out, err = p.communicate(timeout=IDLE_HOLD + 120)
        res = parse_json(out, err)
        ok = res["connect"]["ok"]
        return ({"rss_kb": rss, "base_kb": base, "conns": ok, "failed": res["connect"]["failed"],
                 "bytes_per_conn": (rss - base) * 1024 / max(ok, 1)}, " ".join(cmd))
    return with_broker(kind, tmp, fn, transport=transport)


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def instr(kind, tmp, ctx):
    """Instructions per delivered message for each INSTR workload: two callgrind runs with
    N and 2N messages per publisher; (Ir(2N) - Ir(N)) / (delivered(2N) - delivered(N))."""
    out, cmds = {}, []
    for wl, (args, n) in INSTR.items():
        points = []
        n = max(1, int(n * INSTR_SCALE))
        for count in (n, 2 * n):
            cg = os.path.join(tmp, "callgrind.%s.%s.%d" % (kind, wl, count))
            res, cmd = with_broker(kind, tmp, lambda b: run_bench(
                args, b.port, ("-n", str(count), "--drain", "120", "--connect-timeout", "60")),
                callgrind=cg)
            if res["received"] != res["expected"]:
                raise RuntimeError("%s %s: %d of %d delivered under callgrind" %
                                   (kind, wl, res["received"], res["expected"]))
            points.append((callgrind_total(cg), res["received"]))
            cmds.append(cmd)
        (i1, d1), (i2, d2) = points
        out[wl] = (i2 - i1) / (d2 - d1)
    return out, " ; ".join(cmds)


def scale(kind, tmp, ctx):
    """Hold connections up to the broker's open-file limit, then try 100 more."""
    limit = SCALE_NOFILE or resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    def fn(b):
        n = limit + 100
        procs = str(max(1, min(3, n // 5000)) if not SMOKE else 1)
        cmd = bench_cmd(["conn", "-c", str(n), "--procs", procs, "--ifaddr", IFADDR,
                         "-d", str(SCALE_HOLD), "--connect-timeout", "30"], b.port)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(SCALE_HOLD * 0.5)
        cpu0, t0 = b.cpu_s(), time.time()
        time.sleep(SCALE_HOLD * 0.25)
        cpu_share = (b.cpu_s() - cpu0) / (time.time() - t0)
        rss = b.rss_kb()
        out, err = p.communicate(timeout=SCALE_HOLD + 300)
        res = parse_json(out, err)
        alive = b.proc.poll() is None
        log = ""
        if kind == "starling":
            with open(b.log_path) as f:
                log = f.read()
        return ({"limit": limit, "attempted": n, "ok": res["connect"]["ok"],
                 "failed": res["connect"]["failed"], "errors": res["errors"],
                 "hold_cpu_share": cpu_share, "rss_kb": rss, "alive": alive,
                 "refusal_log_lines": log.count("refusing new connections")}, " ".join(cmd))
    return with_broker(kind, tmp, fn, nofile=SCALE_NOFILE)


# ---- driving and reporting ------------------------------------------------------------

def summary(name, res):
    if name in ("idle", "tls-idle", "scale", "instr"):
        return res
    if name == "bcrypt-logins":
        return {"p99_base_us": res["base"]["latency_us"]["p99"],
                "p99_storm_us": res["storm"]["latency_us"]["p99"],
                "p99_ratio": round(res["p99_ratio"], 2), "lost": res["storm"]["lost"],
                "logins_ok": res["logins"]["connect"]["ok"],
                "logins_failed": res["logins"]["connect"]["failed"]}
    if name in ("xnode", "xnode-tls", "xnode-copies", "xnode-copies0") and "at_rate" in res:
        out = summary("p2p", res)
        out["at_rate"] = summary("p2p", res["at_rate"])
        return out
    if "connect" in name:
        return {"rate_per_s": res["connect"]["rate_per_s"], "p99_us": res["connect"]["p99_us"],
                "ok": res["connect"]["ok"], "failed": res["connect"]["failed"],
                "tls_resumed": res["connect"].get("tls_resumed", 0)}
    out = {k: res.get(k) for k in ("rate_per_s", "sent", "received", "lost", "duplicated",
                                   "out_of_order", "broker_cpu_cores")}
    out["p50_us"] = res["latency_us"]["p50"]
    out["p99_us"] = res["latency_us"]["p99"]
    return out


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def ratio_row(name, figure, s, m, target, better_low=False, note=""):
    r = s / m if s is not None and m else None
    if target is None:  # recorded, no target
        return {"scenario": name, "figure": figure, "starling": s, "mosquitto": m, "ratio": r,
                "target": "-", "met": None, "note": note}
    met = None if r is None else (r <= target if better_low else r >= target)
    goal = ("≤ %.1fx" if better_low else "≥ %.0fx") % target
    return {"scenario": name, "figure": figure, "starling": s, "mosquitto": m, "ratio": r,
            "target": goal, "met": met, "note": note}


def qos_note(runs, stall_check=True, loss_check=True):
    """(note, healthy): loss, duplicates, reordering and the broker's CPU over the runs; a
    run that lost a message, or whose broker used under STALL_CORES while the load generator
    offered as much as it could (stall_check), is unhealthy."""
    tot = {k: sum(r.get(k) or 0 for r in runs) for k in ("lost", "duplicated", "out_of_order")}
    note = "lost %(lost)d, dup %(duplicated)d, ooo %(out_of_order)d" % tot
    cpus = [r["broker_cpu_cores"] for r in runs if r.get("broker_cpu_cores") is not None]
    stalled = stall_check and bool(cpus) and min(cpus) < STALL_CORES
    if cpus:
        note += ", broker CPU %.2f-%.2f cores" % (min(cpus), max(cpus))
    bad = [w for w, b in (("LOSS", loss_check and tot["lost"] > 0), ("STALL", stalled)) if b]
    if bad:
        note = "**FAILED: %s**; %s" % (" + ".join(bad), note)
    return note, not bad


def xnode_copies_rows(name, results):
    zero = name.endswith("0")
    c, d = results["copies0" if zero else "copies"], results["durable0" if zero else "durable"]
    rc, rd = med([r["rate_per_s"] for r in c]), med([r["rate_per_s"] for r in d])
    # no stall check: the CPU measured is node 1's, one of three processes on the cores
    qc, _ = qos_note(c, stall_check=False)
    qd, _ = qos_note(d, stall_check=False)
    return [{"scenario": name,
             "figure": "rate_per_s, 3 nodes, with copies vs without (wal_sync_interval %s)" % (
                 "0" if zero else "1000 ms"),
             "starling": rc, "mosquitto": rd, "ratio": rc / rd if rd else None, "target": "-",
             "met": None,
             "note": "p99 %.0f / %.0f µs; copies: %s; none: %s" % (
                 med([r["latency_us"]["p99"] for r in c]),
                 med([r["latency_us"]["p99"] for r in d]), qc, qd)}]


def rows_for(name, results):
    if name == "xnode":
        return xnode_rows(results)
    if name in ("xnode-copies", "xnode-copies0"):
        return xnode_copies_rows(name, results)
    if name == "xnode-tls":
        return xnode_tls_rows(results)
    if name == "bcrypt-logins":
        return login_rows(results)
    s, m = results["starling"], results["mosquitto"]
    if name in SCENARIOS:
        _, key, target = SCENARIOS[name]
        if "connect" in name:
            note = "p99 %.0f / %.0f µs" % (med([r["connect"]["p99_us"] for r in s]),
                                          med([r["connect"]["p99_us"] for r in m]))
            return [ratio_row(name, key, med([dig(r, key) for r in s]),
                              med([dig(r, key) for r in m]), target, note=note)]
        args = SCENARIOS[name][0]
        qos1 = args[args.index("-q") + 1] != "0"  # QoS 0 may be dropped: not a failure
        qs, healthy = qos_note(s, loss_check=qos1)
        qm, _ = qos_note(m, stall_check=False, loss_check=qos1)
        note = "p99 %.0f / %.0f µs; %s; mosquitto: %s" % (
            med([r["latency_us"]["p99"] for r in s]), med([r["latency_us"]["p99"] for r in m]),
            qs, qm)
        row = ratio_row(name, key, med([dig(r, key) for r in s]),
                        med([dig(r, key) for r in m]), target, note=note)
        if not healthy:
            row["met"] = False
        return [row]
    if name in ("latency", "durable-latency"):
        p50 = (med([r["latency_us"]["p50"] for r in s]), med([r["latency_us"]["p50"] for r in m]))
        qs, healthy = qos_note(s, stall_check=False)  # an offered rate: idle time is fine
        row = ratio_row(name, "p99 µs", med([r["latency_us"]["p99"] for r in s]),
                        med([r["latency_us"]["p99"] for r in m]), 0.5, better_low=True,
                        note="p50 %.0f / %.0f µs; %s" % (p50 + (qs,)))
        if not healthy:
            row["met"] = False
        return [row]
    if name in ("idle", "tls-idle"):
        return [ratio_row(name, "bytes/conn", med([r["bytes_per_conn"] for r in s]),
                          med([r["bytes_per_conn"] for r in m]), 1.0, better_low=True,
                          note="%d / %d connections" % (s[0]["conns"], m[0]["conns"]))]
    if name == "instr":
        return [ratio_row("instr-" + wl, "instructions/msg", med([r[wl] for r in s]),
                          med([r[wl] for r in m]), 0.5, better_low=True) for wl in INSTR]
    if name == "scale":
        r = s[0]
        # held up to the limit (less the descriptors the broker keeps for itself), the rest
        # refused, logged, and no busy loop while holding
        ok = (r["alive"] and r["ok"] >= r["limit"] - 64 and r["ok"] + r["failed"] == r["attempted"]
              and 1 <= r["refusal_log_lines"] <= 1 + SCALE_HOLD / 10 and r["hold_cpu_share"] < 0.2)
        return [{"scenario": name, "figure": "connections held", "starling": r["ok"],
                 "mosquitto": None, "ratio": None, "target": "limit %d" % r["limit"], "met": ok,
                 "note": "%d refused past the limit, %d refusal log line(s), %.0f%% CPU while "
                         "holding, RSS %d MB, alive: %s" % (
                             r["failed"], r["refusal_log_lines"], 100 * r["hold_cpu_share"],
                             r["rss_kb"] // 1024, r["alive"])}]
    raise KeyError(name)


def xnode_tls_rows(results):
    t, c = results["cluster-tls"], results["cluster"]
    rt, rc = med([r["rate_per_s"] for r in t]), med([r["rate_per_s"] for r in c])
    qt, healthy = qos_note(t)
    qc, _ = qos_note(c)
    return [{"scenario": "xnode-tls", "figure": "rate_per_s, 3 nodes over TLS vs plain",
             "starling": rt, "mosquitto": rc, "ratio": rt / rc if rc else None,
             "target": "(measured)", "met": healthy,
             "note": "p99 %.0f / %.0f µs; TLS: %s; plain: %s" % (
                 med([r["latency_us"]["p99"] for r in t]),
                 med([r["latency_us"]["p99"] for r in c]), qt, qc)}]


def xnode_rows(results):
    c, s = results["cluster"], results["single"]
    rc, rs = med([r["rate_per_s"] for r in c]), med([r["rate_per_s"] for r in s])
    qc, healthy = qos_note(c)
    qs, healthy_s = qos_note(s)
    rows = [{"scenario": "xnode", "figure": "rate_per_s, 3 nodes vs 1 (starling / 1 node)",
             "starling": rc, "mosquitto": rs, "ratio": rc / rs if rs else None,
             "target": "≥ 0.7x", "met": bool(rs) and rc / rs >= 0.7 and healthy and healthy_s,
             "note": "p99 %.0f / %.0f µs at full speed; 3 nodes: %s; 1 node: %s" % (
                 med([r["latency_us"]["p99"] for r in c]),
                 med([r["latency_us"]["p99"] for r in s]), qc, qs)}]
    at_c = [r["at_rate"] for r in c if "at_rate" in r]
    at_s = [r["at_rate"] for r in s if "at_rate" in r]
    if at_c and at_s:
        pc, ps = med([r["latency_us"]["p99"] for r in at_c]), med([r["latency_us"]["p99"]
                                                                   for r in at_s])
        rows.append({"scenario": "xnode-latency", "figure": "p99 µs added (3 nodes / 1 node)",
                     "starling": pc, "mosquitto": ps, "ratio": None, "target": "+≤ 1,000 µs",
                     "met": pc - ps <= 1000,
                     "note": "at %.0f msgs/s; p50 %.0f / %.0f µs; %s" % (
                         med([r["rate_per_s"] for r in at_c]),
                         med([r["latency_us"]["p50"] for r in at_c]),
                         med([r["latency_us"]["p50"] for r in at_s]),
                         qos_note(at_c, stall_check=False)[0])})
    return rows


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float) and v < 100:
        return "%.2f" % v
    return "{:,.0f}".format(v)


def table(rows):
    lines = ["| scenario | figure | starling | mosquitto | ratio | target | met | notes "
             "(starling / mosquitto) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["figure"], fmt(r["starling"]), fmt(r["mosquitto"]),
            fmt(r["ratio"]), r["target"], met, r["note"]))
    return "\n".join(lines)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mosq = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.splitlines()
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    return "%s, %d cores, %d GiB, kernel %s; %s; starling %s" % (
        model, os.cpu_count(), os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 30,
        platform.release(), mosq[0] if mosq else "mosquitto ?", rev)


def run_one(name, kind, tmp, ctx):
    if name in SCENARIOS:
        return throughput(name, kind, tmp, ctx)
    if name == "tls-idle":
        return idle(kind, tmp, ctx, transport="tls")
    return {"latency": latency, "durable-latency": durable_latency, "idle": idle,
            "instr": instr, "scale": scale,
            "xnode": xnode, "xnode-tls": xnode, "xnode-copies": xnode, "xnode-copies0": xnode,
            "bcrypt-logins": login_storm}[name](kind, tmp, ctx)


def main():
    names = sys.argv[1:] or ORDER
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        sys.exit("unknown scenario(s): %s (known: %s)" % (", ".join(unknown), " ".join(ORDER)))
    names = [n for n in ORDER if n in names]
    bad = [c for c in CONFIGS if c not in ("defaults", "tuned")]
    if bad or not CONFIGS:
        sys.exit("CONFIGS: a comma-separated list of defaults, tuned (got %r)" % bad)
    fixed_rate = float(os.environ.get("LATENCY_RATE", "0"))
    rows, cmds, raw = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        # the message scenarios once per config; the others (connections, memory,
        # instructions, limits) do not depend on queues and windows: once, as shipped
        passes = [(c, [n for n in names if n in MESSAGE_SCENARIOS]) for c in CONFIGS]
        passes.append(("other", [n for n in names if n not in MESSAGE_SCENARIOS]))
        for config, todo in passes:
            ctx = {"latency_rate": fixed_rate, "tuned": config == "tuned"}
            rows[config], cmds[config], raw[config] = [], {}, {}
            run_pass(todo, tmp, ctx, rows[config], cmds[config], raw[config])
            raw[config]["latency_rate"] = ctx["latency_rate"]
            raw[config]["durable_latency_rate"] = ctx.get("durable_latency_rate")
    report(rows, cmds, raw)


def run_pass(names, tmp, ctx, rows, cmds, raw):
    """Run these scenarios with the config of ctx, adding rows, commands and raw results."""
    for name in names:
        if name == "latency" and not ctx["latency_rate"]:
            if "p2p" not in raw:
                res, _ = throughput("p2p", "mosquitto", tmp, ctx)
                raw["p2p"] = {"mosquitto": [res]}
            ctx["latency_rate"] = med([r["rate_per_s"] for r in raw["p2p"]["mosquitto"]]) / 2
            print("latency: offering %.0f msgs/s (half of mosquitto's p2p)" %
                  ctx["latency_rate"], flush=True)
        if name == "durable-latency" and not ctx.get("durable_latency_rate"):
            if "durable-p2p" not in raw:
                res, _ = throughput("durable-p2p", "mosquitto", tmp, ctx)
                raw["durable-p2p"] = {"mosquitto": [res]}
            ctx["durable_latency_rate"] = med(
                [r["rate_per_s"] for r in raw["durable-p2p"]["mosquitto"]]) / 2
            print("durable-latency: offering %.0f msgs/s (half of mosquitto's durable-p2p)" %
                  ctx["durable_latency_rate"], flush=True)
        kinds = ("starling",) if name == "scale" else ("starling", "mosquitto")
        if name == "xnode":
            kinds = ("single", "cluster")
        if name == "xnode-tls":
            kinds = ("cluster", "cluster-tls")
        if name == "xnode-copies":
            kinds = ("durable", "copies")
        if name == "xnode-copies0":
            kinds = ("durable0", "copies0")
        rounds = 1 if name in ("scale", "instr") else ROUNDS
        results = {k: [] for k in kinds + ("starling", "mosquitto")}
        for r in range(rounds):
            for kind in kinds:
                res, cmd = run_one(name, kind, tmp, ctx)
                results[kind].append(res)
                cmds[name] = cmd
                print("%-10s %-8s round %d %-9s %s" % (
                    name, "tuned" if ctx["tuned"] else "defaults", r + 1, kind,
                    json.dumps(summary(name, res))), flush=True)
        raw[name] = results
        rows += rows_for(name, results)


TITLES = {"defaults": "Message scenarios at the default config (both brokers as shipped)",
          "tuned": "Message scenarios tuned (queues 100,000, inflight 1,000)",
          "other": "Connections, memory, instructions, limits (as shipped)"}


def report(rows, cmds, raw):
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    base = os.path.join(RESULTS, "%s-%s" % (stamp, os.environ.get("OUT", "compare")))
    with open(base + ".md", "w") as f:
        f.write("# Starling vs mosquitto, %s\n\nMachine: %s\n\n" % (stamp, machine()))
        f.write("%d rounds per broker, alternating (scale and instr: 1); %.0f s per throughput "
                "run; medians. A row fails (met: **no**) when a Starling run lost a QoS 1 "
                "message or stalled (broker CPU under %.1f of a core while the load generator "
                "offered all it could).\n" % (ROUNDS, DURATION, STALL_CORES))
        if CONF_EXTRA:
            f.write("\nEvery Starling config of this run also has: `%s`.\n"
                    % CONF_EXTRA.replace("\n", "`, `"))
        for config, rs in rows.items():
            if not rs:
                continue
            tab = table(rs)
            print("\n%s\n%s" % (TITLES[config], tab))
            rate, drate = raw[config].get("latency_rate"), raw[config].get("durable_latency_rate")
            f.write("\n## %s\n\n%s%s%s\n" % (
                TITLES[config], "Latency offered rate: %.0f msgs/s.\n\n" % rate if rate else "",
                "Durable latency offered rate: %.0f msgs/s.\n\n" % drate if drate else "", tab))
        f.write("\n## Commands\n\n")
        for config, cs in cmds.items():
            for name, cmd in cs.items():
                f.write("- %s (%s): `%s`\n" % (name, config, cmd))
    with open(base + ".json", "w") as f:
        json.dump({"machine": machine(), "rows": rows, "runs": raw}, f, indent=1)
    print("written", base + ".md")


if __name__ == "__main__":
    main()
