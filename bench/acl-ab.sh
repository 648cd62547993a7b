#!/bin/bash
# p2p (200 pairs, QoS 1) on one Starling without authorization and one with a 1,000-rule
# acl.conf (999 rules for everyone that match nothing, then {allow, all}), alternating.
# Make the configs and rules first: see bench/README.md, "Authorization".
BIN=${BIN:-/tmp/b2/starling}
for r in 1 2 3 4; do
for name in plain acl; do
  rm -rf /tmp/ab/data-$name
  port=$([ $name = plain ] && echo 21883 || echo 21884)
  $BIN foreground -c /tmp/ab/$name.conf > /tmp/ab/$name.log 2>&1 &
  pid=$!
  sleep 1
  out=$($BIN bench pubsub --pubs 200 --subs 200 -t p2p/%i --sub-topic p2p/%i -q 1 -s 16 --inflight 10 -h 127.0.0.1 -p $port --json -Q -d 6 2>/dev/null)
  echo "$name $(echo $out | python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["rate_per_s"]), d["lost"])')"
  kill $pid; wait $pid 2>/dev/null
done
done
