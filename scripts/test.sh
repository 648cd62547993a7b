#!/usr/bin/env bash
# The whole test suite: dependencies, a plain build and an ASan+UBSan build, unit tests
# (ctest) and integration tests (pytest against the real broker) on both (the slow fault,
# load and benchmark tests, marked plain_only, on the plain build only), and a short bounded
# run of every fuzz target. The last line totals everything:
#   total: N passed, M failed, K skipped
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RES=$(mktemp -d)
FUZZ_SECONDS=${FUZZ_SECONDS:-8}
JOBS=$(nproc)

bash scripts/deps.sh || { echo "dependency install failed"; echo "total: 0 passed, 1 failed"; exit 1; }

build() { # dir, build type, extra cmake args...
    local dir=$1 type=$2; shift 2
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null &&
        make -C "$dir" -j"$JOBS" 2>&1 | grep -E "error|warning|Error" ; return "${PIPESTATUS[0]}"
}

unit() { # dir, tag
    (cd "$1" && ctest --output-on-failure --timeout 120 2>&1 | tee "$RES/ctest-$2.txt" | tail -n 3)
}

integ() { # binary, tag, [test files: all of tests/integration]
    local bin=$1 tag=$2; shift 2
    STARLING_BIN="$bin" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        --junitxml="$RES/pytest-$tag.xml" "${@:-tests/integration}" 2>&1 | tail -n 15
}
# The session tests again with durable sessions off, and with wal_sync_interval 0 (the suite
# itself runs with the defaults: durable sessions on, 1000 ms).
DURABLE_TESTS="test_session test_publish_qos test_will test_flow test_flow_defaults test_v5_props
    test_retain test_connect test_limits test_shared_sub test_cluster_takeover"

fails=0
fmt_pass=0
echo "== clang-format check"
if clang-format --dry-run --Werror $(git ls-files 'src/*.[ch]' 'tests/*.[ch]') 2>"$RES/format.txt"; then
    echo "format: ok"; fmt_pass=1
else
    echo "format: FAILED (run clang-format -i on these)"; head -n 20 "$RES/format.txt"; fails=$((fails + 1))
fi
echo "== layering check"
if bash scripts/check-layers.sh; then
    fmt_pass=$((fmt_pass + 1))
else
    echo "layers: FAILED (docs/architecture.md, Modules)"; fails=$((fails + 1))
fi
echo "== plain build"
build build Release || fails=$((fails + 1))  # what users build: -O3 warnings count
echo "== unit tests (plain)"
unit build plain
echo "== integration tests (plain)"
integ "$ROOT/build/starling" plain
echo "== session tests with durable sessions off (plain)"
STARLING_TEST_PERSISTENCE=off integ "$ROOT/build/starling" persistence-off \
    $(for t in $DURABLE_TESTS; do echo "tests/integration/$t.py"; done)
echo "== session tests with every answer waiting for the disk (wal_sync_interval 0, plain)"
STARLING_TEST_PERSISTENCE=0ms integ "$ROOT/build/starling" persistence-0ms \
    $(for t in $DURABLE_TESTS; do echo "tests/integration/$t.py"; done)

echo "== ASan+UBSan build"
build build-asan Debug -DSTARLING_SANITIZE=ON || fails=$((fails + 1))
echo "== unit tests (asan)"
ASAN_OPTIONS=detect_leaks=1 unit build-asan asan
echo "== integration tests (asan)"
# (the slow fault, load and benchmark tests run once, in the plain build: plain_only)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 integ "$ROOT/build-asan/starling" asan \
    -m "not plain_only" tests/integration

echo "== fuzz targets (${FUZZ_SECONDS}s each)"
fuzz_pass=0
if build build-fuzz Debug -DCMAKE_C_COMPILER=clang -DSTARLING_FUZZ=ON; then
    for t in tests/fuzz/*/fuzz_*.c; do
        name=$(basename "$t" .c)
        dir=$(dirname "$t")
        work=$(mktemp -d)
        cp -r "$dir/corpus/." "$work/" 2>/dev/null || true
        dict=$(ls "$dir"/*.dict 2>/dev/null | head -n 1)
        if ./build-fuzz/"$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
            ${dict:+-dict="$dict"} "$work" >"$RES/fuzz-$name.txt" 2>&1; then
            echo "fuzz $name: ok ($(grep -c . "$RES/fuzz-$name.txt") log lines)"
            fuzz_pass=$((fuzz_pass + 1))
        else
            echo "fuzz $name: FAILED"; tail -n 30 "$RES/fuzz-$name.txt"; fails=$((fails + 1))
        fi
        rm -rf "$work"
    done
else
    fails=$((fails + 1))
fi

/usr/bin/python3 scripts/totals.py "$RES" "$fails" "$((fuzz_pass + fmt_pass))"
