#!/bin/bash
# The cost of the metrics (docs/operations.md "Metrics and stats"): p2p (200 pairs, QoS 1)
# and fanout (1 publisher, 100 subscribers, QoS 0) at the default config, on a build without
# them (OLD) and one with them (NEW), alternating, ROUNDS times; one line per run:
#   <scenario> <old|new> <msgs/s> <lost>
# SCENARIOS: which of p2p, fanout, fanout-q1 (5 publishers, 200 subscribers, QoS 1; default
# "p2p fanout"). TUNED=1: queues and windows lifted as bench/compare.py's `tuned` (max_mqueue_len 100000,
# max_inflight 1000). With SCRAPE=1 the new broker's metrics, stats and Prometheus text are also read every second
# while it runs.
OLD=${OLD:?the starling binary without metrics} NEW=${NEW:-/tmp/b2/starling}
ROUNDS=${ROUNDS:-4} DUR=${DUR:-6}
dir=$(mktemp -d)
for r in $(seq "$ROUNDS"); do
for sc in ${SCENARIOS:-p2p fanout}; do
for which in old new; do
  bin=$([ $which = old ] && echo "$OLD" || echo "$NEW")
  rm -rf "$dir/data"
  cat > "$dir/s.conf" <<CONF
node.data_dir = "$dir/data"
listeners.tcp.default.bind = "127.0.0.1:21883"
cluster.listen = "127.0.0.1:0"
dashboard.listeners.http.bind = "127.0.0.1:28083"
$([ "${TUNED:-0}" = 1 ] && printf 'mqtt.max_mqueue_len = 100000\nmqtt.max_inflight = 1000')
CONF
  "$bin" foreground -c "$dir/s.conf" > "$dir/$which.log" 2>&1 &
  pid=$!
  sleep 1
  scraper=
  if [ "${SCRAPE:-0}" = 1 ] && [ $which = new ]; then
    (while sleep 1; do curl -s -o /dev/null http://127.0.0.1:28083/api/v5/prometheus/stats; done) &
    scraper=$!
  fi
  if [ $sc = p2p ]; then
    args=(--pubs 200 --subs 200 -t p2p/%i --sub-topic p2p/%i -q 1 -s 16 --inflight 10)
  elif [ $sc = fanout-q1 ]; then
    args=(--pubs 5 --subs 200 -t t/%i --sub-topic t/+ -q 1 -s 16 --inflight 10)
  else
    args=(--pubs 1 --subs 100 -t t --sub-topic t -q 0 -s 64)
  fi
  out=$("$bin" bench pubsub "${args[@]}" -h 127.0.0.1 -p 21883 --json -Q -d "$DUR" 2>/dev/null)
  echo "$sc $which $(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["rate_per_s"]), d["lost"])')"
  [ -n "$scraper" ] && kill $scraper
  kill $pid; wait $pid 2>/dev/null
done
done
done
rm -rf "$dir"
