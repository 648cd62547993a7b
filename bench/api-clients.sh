#!/bin/bash
# GET /api/v5/clients over 20,000 connections (issue 18's number: a page in under 100 ms,
# without stalling message delivery): one broker at the default config holds 20,000 idle
# connections (starling bench conn) while 20 publisher/subscriber pairs exchange QoS 1
# messages at a steady rate; the first page (limit 100) and a filtered query are asked
# ROUNDS times, timed with curl; the stream's p99 is measured with and without the queries.
# Prints the times (ms) and the two p99s.
BIN=${BIN:-/tmp/b2/starling} ROUNDS=${ROUNDS:-20} CONNS=${CONNS:-19000} # (20,000 with the 20,000-descriptor limit here leaves the stream none)
dir=$(mktemp -d)
cat > "$dir/s.conf" <<CONF
node.data_dir = "$dir/data"
listeners.tcp.default.bind = "127.0.0.1:21883"
listeners.tcp.default.max_connections = 100000
cluster.listen = "127.0.0.1:0"
dashboard.listeners.http.bind = "127.0.0.1:28083"
api_key.bootstrap_file = "$dir/keys"
CONF
echo "bench:bench-secret" > "$dir/keys"
"$BIN" foreground -c "$dir/s.conf" > "$dir/broker.log" 2>&1 &
pid=$!
sleep 1
"$BIN" bench conn -p 21883 -c "$CONNS" --procs 2 --ifaddr 127.0.0.2-127.0.0.9 -d 600 -Q \
    > /dev/null 2>&1 &
holder=$!
for _ in $(seq 120); do # until the connections are in
  n=$(curl -s -u bench:bench-secret "http://127.0.0.1:28083/api/v5/stats" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["connections.count"])')
  [ "$n" -ge $((CONNS * 99 / 100)) ] && break # (a few may fail to connect)
  sleep 1
done
echo "connections: $n"
stream() { # a steady QoS 1 stream, its p99 (ms)
  "$BIN" bench pubsub -p 21883 --pubs 20 --subs 20 -t api/%i --sub-topic api/%i -q 1 -s 16 \
      -r 20000 -d "$1" --json -Q 2>"$dir/stream.err" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["latency_us"]["p99"] / 1000, d["lost"], d["received"])'
}
echo "stream alone: p99 ms, lost, received: $(stream 10)"
ask() {
  for _ in $(seq "$ROUNDS"); do
    curl -s -o /dev/null -w "%{time_total}\n" -u bench:bench-secret \
        "http://127.0.0.1:28083/api/v5/clients$1"
  done | python3 -c 'import sys; v=sorted(float(x)*1000 for x in sys.stdin); print("median %.1f ms, max %.1f ms" % (v[len(v)//2], v[-1]))'
}
(sleep 2; echo "GET /clients?limit=100: $(ask '?limit=100')"; \
 echo "GET /clients?like_clientid=zz (matches none: every session is looked at): $(ask '?like_clientid=zz&limit=100')") &
asker=$!
echo "stream while asked: p99 ms, lost, received: $(stream 10)"
wait $asker
kill $holder $pid 2>/dev/null
wait $pid 2>/dev/null
rm -rf "$dir"
