#!/usr/bin/env bash
# The engine choice of docs/durability.md §3: bench/store-bench.c on RocksDB and LMDB,
# alternating the engines. Results: one JSON line each, and
# bench/results/<date>-store-bench[-mix].md with the table.
#   bench/store-bench.sh        the first runs: default options, at wal_sync_interval = 0 (an
#                               fsync per BATCH messages: 1, 10, 100, 1000 arriving per
#                               fsync) and at 1000 ms, subscribers keeping up (lag 1000) or a
#                               backlog of a million; STORE_SECONDS per run (5)
#   bench/store-bench.sh mix    the mix: 10% of the sessions offline (their backlog grows),
#                               the rest keeping up; both engines with default and tuned
#                               options; 100 and 1000 per fsync, and 1000 ms; 60 s per run
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg -s librocksdb-dev liblmdb-dev >/dev/null 2>&1; then
    apt-get install -y -q librocksdb-dev liblmdb-dev >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$out/store-bench" bench/store-bench.c -lrocksdb -llmdb
dir=${STORE_DIR:-/var/tmp/store-bench}
runs=()
run() { # engine, then store-bench's mode and argument; the environment says the rest
    rm -rf "$dir"
    runs+=("$("$out/store-bench" "$@")")
    echo "${runs[-1]}"
}
suffix=
if [ "${1:-}" = mix ]; then
    suffix=-mix
    export STORE_SECONDS=${STORE_SECONDS:-60} STORE_OFFLINE=10 STORE_LAG=1000
    for mode in "sync 100" "sync 1000" "interval 1000"; do
        for tuned in 0 1; do
            for engine in rocksdb lmdb; do
                STORE_TUNED=$tuned run "$engine" "$dir" $mode
            done
        done
    done
else
    for lag in 1000 1000000; do # a subscriber that keeps up; a backlog of a million
        for mode in "sync 1" "sync 10" "sync 100" "sync 1000" "interval 1000"; do
            for engine in rocksdb lmdb; do
                STORE_LAG=$lag run "$engine" "$dir" $mode
            done
        done
    done
fi
rm -rf "$dir"
stamp=$(date +%Y-%m-%d-%H%M)
res="bench/results/$stamp-store-bench$suffix.md"
{
    echo "# store-bench, $stamp"
    echo
    echo "Machine: $(nproc) cores, $(uname -r), $(df -T "$(dirname "$dir")" | awk 'NR==2{print $2}') at $(dirname "$dir"); RocksDB $(dpkg-query -W -f '${Version}' librocksdb-dev), LMDB $(dpkg-query -W -f '${Version}' liblmdb-dev); ${STORE_SECONDS:-5} s per run."
    echo
    echo "| engine | tuned | offline % | mode | lag | msgs/s | fsyncs | msgs per fsync | device bytes per msg | dir bytes at end |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for r in "${runs[@]}"; do
        /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("| %s | %s | %s | %s %s | %s | %s | %s | %s | %s | %s |" % (d["engine"], d["tuned"], d["offline"], d["mode"], d["arg"], format(d["lag"], ","), format(int(d["msgs_per_s"]), ","), d["fsyncs"], d["msgs_per_fsync"], d["device_bytes_per_msg"], format(d["dir_bytes"], ",")))' "$r"
    done
} > "$res"
echo "written $res"
