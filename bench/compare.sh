#!/usr/bin/env bash
# Side-by-side benchmark of Starling and Debian's mosquitto on this machine.
#   bench/compare.sh [scenario ...]        (default: every scenario)
# Scenarios: see ORDER in bench/compare.py (fanout fanout-q1 p2p latency ... xnode-copies).
# Env: ROUNDS (3: A B A B A B), DURATION (10 s), IDLE_CONNS (15000), IDLE_HOLD (30 s),
#      SCALE_HOLD (60 s), INSTR_SCALE (1), LATENCY_RATE (default: half of mosquitto's p2p),
#      OUT (result file suffix), RESULTS_DIR (bench/results),
#      STARLING_BIN (default: build a Release binary into build-bench/).
# Prints medians, Starling/mosquitto ratios and whether each target is met, and writes
# <RESULTS_DIR>/<date>-<OUT>.md and .json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${STARLING_BIN:-}" ]; then
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
    make -C build-bench -j"$(nproc)" starling >/dev/null
fi
command -v mosquitto >/dev/null || { echo "compare.sh: mosquitto is not installed (scripts/deps.sh)" >&2; exit 2; }
exec /usr/bin/python3 bench/compare.py "$@"
