"""`starling bench`: short smoke runs of the load generator against the test broker (Starling,
or mosquitto with STARLING_TEST_BROKER=mosquitto), checking the exact accounting of the
--json summary. Tiny message counts (-n) instead of durations; no timing assertions."""

import json
import os
import subprocess

import pytest

from conftest import REPO, STARLING_BIN


def bench(broker, *args, port=None, timeout=40):
    """Run `starling bench <args> --json` against the broker; (exit code, parsed summary)."""
    if not os.access(STARLING_BIN, os.X_OK):
        pytest.skip("no starling binary at %s" % STARLING_BIN)
    cmd = [STARLING_BIN, "bench", *args, "-h", broker.host, "-p", str(port or broker.port),
           "--json", "--threads", "1"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    assert p.stdout.strip(), "no summary; stderr:\n" + p.stderr
    return p.returncode, json.loads(p.stdout)


def assert_exact(r, sent, expected):
    assert r["connect"]["failed"] == 0, r
    assert r["errors"] == 0, r
    assert r["sent"] == sent and r["acked"] == sent, r
    assert r["expected"] == expected and r["received"] == expected, r
    assert (r["lost"], r["duplicated"], r["out_of_order"]) == (0, 0, 0), r
    assert r["latency_us"]["count"] == expected, r


def test_pubsub_p2p_qos1(broker):
    rc, r = bench(broker, "pubsub", "--pubs", "4", "--subs", "4", "-t", "bench/p2p/%i",
                  "-q", "1", "--inflight", "5", "-n", "50", "--fail-on-loss")
    assert rc == 0, r
    assert r["scenario"] == "pubsub" and r["clients"] == 8
    assert_exact(r, 200, 200)


def test_pubsub_fanout_qos1(broker):
    rc, r = bench(broker, "pubsub", "--pubs", "1", "--subs", "5", "-t", "bench/fan",
                  "-q", "1", "-n", "40")
    assert rc == 0, r
    assert_exact(r, 40, 200)


def test_pubsub_qos2_v5_wildcard(broker):
    rc, r = bench(broker, "pubsub", "--pubs", "3", "--subs", "2", "-t", "bench/w/%i",
                  "--sub-topic", "bench/w/+", "-q", "2", "-V", "5", "-s", "64", "-n", "20")
    assert rc == 0, r
    assert_exact(r, 60, 120)


def test_pubsub_shared_group_exactly_once(broker):
    rc, r = bench(broker, "pubsub", "--pubs", "3", "--subs", "3", "-t", "bench/s/%i",
                  "--sub-topic", "$share/g/bench/s/#", "-q", "1", "-n", "30")
    assert rc == 0, r
    assert_exact(r, 90, 90)


def test_conn(broker):
    rc, r = bench(broker, "conn", "-c", "20", "-d", "0.2", "-t", "bench/c/%i")
    assert rc == 0, r
    assert r["connect"]["ok"] == 20 and r["connect"]["failed"] == 0, r
    assert r["errors"] == 0, r


def test_conn_procs(broker):
    rc, r = bench(broker, "conn", "-c", "20", "-d", "0.2", "--procs", "2")
    assert rc == 0, r
    assert r["connect"]["ok"] == 20, r


def test_failed_connects_exit_nonzero(broker):
    rc, r = bench(broker, "conn", "-c", "3", "-d", "0", port=1)  # nothing listens on port 1
    assert rc == 1
    assert r["connect"]["failed"] == 3 and r["connect"]["ok"] == 0, r


@pytest.mark.starling_only("runs bench/compare.sh itself, which starts both brokers")
@pytest.mark.plain_only("the benchmark harness: timing, not memory")
def test_compare_smoke(tmp_path):
    """bench/compare.sh end to end in SMOKE mode (a few clients, one-second runs): every
    scenario runs against both brokers (xnode: a 3-node cluster against one node) and lands in
    the result table and JSON. Under a
    sanitizer build the callgrind scenario (valgrind) is left out."""
    if not os.access(STARLING_BIN, os.X_OK):
        pytest.skip("no starling binary at %s" % STARLING_BIN)
    with open(STARLING_BIN, "rb") as f:
        sanitized = b"__asan_init" in f.read()
    names = ["fanout", "p2p", "latency", "connect", "idle", "scale", "xnode"]
    if not sanitized:
        names.append("instr")
    env = dict(os.environ, SMOKE="1", STARLING_BIN=STARLING_BIN, RESULTS_DIR=str(tmp_path),
               OUT="smoke")
    p = subprocess.run(["bash", os.path.join(REPO, "bench", "compare.sh"), *names], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    assert p.returncode == 0, p.stdout[-4000:]
    [md] = [f for f in os.listdir(tmp_path) if f.endswith(".md")]
    with open(tmp_path / md.replace(".md", ".json")) as f:
        res = json.load(f)
    # message scenarios once per config (as shipped, and tuned), the others once
    message = {"fanout", "p2p", "latency", "xnode"}
    assert set(res["rows"]) == {"defaults", "tuned", "other"}, list(res["rows"])
    for config, rs in res["rows"].items():
        rows = {r["scenario"]: r for r in rs}
        want = message if config != "other" else set(names) - message
        want = want - {"instr"} | ({"instr-fanout", "instr-p2p"} if "instr" in want else set())
        assert set(rows) == want, (config, rows)
        for name, r in rows.items():
            assert r["starling"] and r["starling"] > 0, r
            if name != "scale":
                assert r["mosquitto"] and r["mosquitto"] > 0, r
        if config == "other":
            assert rows["scale"]["met"], rows["scale"]
            continue
        runs = res["runs"][config]
        for name in ("fanout", "p2p", "latency"):
            run = runs[name]["starling"][0]
            assert run["received"] == run["expected"] and run["lost"] == 0, run
        run = runs["xnode"]["cluster"][0]  # publishers on node 1, subscribers on 2 and 3
        assert run["received"] == run["expected"] and run["lost"] == 0, run
        assert run["broker_cpu_cores"] >= 0, run
    text = open(tmp_path / md).read()
    assert "| scenario | figure |" in text and "Machine:" in text
    assert "at the default config" in text and "tuned" in text


@pytest.mark.starling_only("Starling's TLS and WebSocket listeners")
@pytest.mark.parametrize("flags", [["--tls"], ["--ws"], ["--tls", "--ws"]],
                         ids=["tls", "ws", "wss"])
def test_pubsub_over_tls_and_websocket(broker_factory, tmp_path, flags):
    """--tls, --ws and both: the same exact accounting as over TCP."""
    from conftest import free_port, self_signed
    cert, key = self_signed(tmp_path)
    kind = {("--tls",): "ssl", ("--ws",): "ws", ("--tls", "--ws"): "wss"}[tuple(flags)]
    port = free_port()
    conf = {"listeners.%s.default.bind" % kind: "127.0.0.1:%d" % port}
    if "--tls" in flags:
        conf["listeners.%s.default.ssl_options.certfile" % kind] = cert
        conf["listeners.%s.default.ssl_options.keyfile" % kind] = key
    b = broker_factory(conf).start()
    rc, r = bench(b, "pubsub", "--pubs", "4", "--subs", "4", "-t", "bench/x/%i", "-q", "1",
                  "--inflight", "5", "-n", "50", "-s", "3000", "--fail-on-loss", *flags,
                  port=port)
    assert rc == 0, r
    assert_exact(r, 200, 200)


@pytest.mark.starling_only("Starling's TLS listener")
def test_resumed_tls_handshakes(broker_factory, tmp_path):
    """--tls-resume: one connection at a time, every one after the first resumes the
    session (a TLS 1.3 ticket) the one before was given; without it, none does."""
    from conftest import free_port, self_signed
    cert, key = self_signed(tmp_path)
    port = free_port()
    b = broker_factory({"listeners.ssl.default.bind": "127.0.0.1:%d" % port,
                        "listeners.ssl.default.ssl_options.certfile": cert,
                        "listeners.ssl.default.ssl_options.keyfile": key}).start()
    for flag, resumed in (("--tls-resume", 19), ("--tls", 0)):
        rc, r = bench(b, "conn", "-c", "20", "--conn-inflight", "1", "-d", "0", flag, port=port)
        assert rc == 0 and r["connect"]["ok"] == 20, r
        assert r["connect"]["tls_resumed"] == resumed, r


def smoke_rows(tmp_path, names, timeout):
    """Run bench/compare.sh on these scenarios in SMOKE mode at the defaults: every one lands
    in the table with both brokers' figures. Returns the result JSON."""
    if not os.access(STARLING_BIN, os.X_OK):
        pytest.skip("no starling binary at %s" % STARLING_BIN)
    env = dict(os.environ, SMOKE="1", STARLING_BIN=STARLING_BIN, RESULTS_DIR=str(tmp_path),
               OUT="smoke", CONFIGS="defaults")
    p = subprocess.run(["bash", os.path.join(REPO, "bench", "compare.sh"), *names], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stdout[-4000:]
    [md] = [f for f in os.listdir(tmp_path) if f.endswith(".md")]
    with open(tmp_path / md.replace(".md", ".json")) as f:
        res = json.load(f)
    rows = {r["scenario"]: r for rs in res["rows"].values() for r in rs}
    assert set(rows) == set(names), rows
    for r in rows.values():
        assert r["starling"] > 0 and r["mosquitto"] > 0, r
    return res


@pytest.mark.plain_only("the benchmark harness: timing, not memory")
def test_compare_smoke_transports(tmp_path):
    """bench/compare.sh's transport scenarios in SMOKE mode: TLS against mosquitto's TLS
    listener (same certificate), WebSocket (against mosquitto's plain TCP: Debian's mosquitto
    has no websockets), and TLS handshakes; each lands in the table with both figures."""
    res = smoke_rows(tmp_path, ["tls-p2p", "ws-fanout", "tls-connect", "tls-connect-resumed"], 55)
    for name in ("tls-p2p", "ws-fanout"):
        run = res["runs"]["defaults"][name]["starling"][0]
        assert run["received"] == run["expected"] and run["lost"] == 0, run


@pytest.mark.plain_only("the benchmark harness: timing, not memory")
def test_compare_smoke_access_control(tmp_path):
    """bench/compare.sh's access control scenarios in SMOKE mode: connects with a password,
    p2p under 1,000 rules, and the stream's p99 while bcrypt logins arrive (each broker's
    ratio, and Starling let some of the logins in)."""
    res = smoke_rows(tmp_path, ["auth-connect", "acl-p2p", "bcrypt-logins"], 120)
    [run] = res["runs"]["other"]["bcrypt-logins"]["starling"]
    assert run["logins"]["connect"]["ok"] > 0 and run["storm"]["lost"] == 0, run


@pytest.mark.plain_only("the benchmark harness: timing, not memory")
def test_compare_smoke_durable(tmp_path):
    """bench/compare.sh's durable scenarios in SMOKE mode: p2p between persistent sessions
    (mosquitto with `persistence true`), then the latency run between them at half of
    mosquitto's rate there; both land in the table, nothing lost."""
    res = smoke_rows(tmp_path, ["durable-p2p", "durable-latency"], 120)
    assert res["runs"]["defaults"]["durable_latency_rate"] > 0, res["runs"]["defaults"]
    for name in ("durable-p2p", "durable-latency"):
        run = res["runs"]["defaults"][name]["starling"][0]
        assert run["received"] == run["expected"] and run["lost"] == 0, run
