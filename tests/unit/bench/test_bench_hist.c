/* test_bench_hist.c — the log-linear histogram: bucket bounds, percentile error, merging;
 * and the per-stream sequence check (in order, gaps, late arrivals, duplicates). */
#include "bench/hist.h"
#include "bench/shared.h"
#include "test.h"

#include <stdlib.h>

static void test_bucket_bounds(void)
{
    uint64_t vals[] = {0,   1,    127,   128,    129,        255,
                       256, 1000, 12345, 999999, 1ull << 30, (1ull << 40) + 12345};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint32_t idx = bench_hist_index(vals[i]);
        CHECK(idx < BENCH_HIST_BUCKETS);
        CHECK(bench_hist_low(idx) <= vals[i]);
        if (idx + 1 < BENCH_HIST_BUCKETS) CHECK(vals[i] < bench_hist_low(idx + 1));
    }
    CHECK_EQ(bench_hist_index(1ull << 50), BENCH_HIST_BUCKETS - 1);
    /* indexes are monotonic and contiguous */
    uint32_t prev = 0;
    for (uint64_t v = 0; v < 1u << 20; v++) {
        uint32_t idx = bench_hist_index(v);
        CHECK(idx == prev || idx == prev + 1);
        prev = idx;
    }
}

static void test_percentiles(void)
{
    bench_hist *h = calloc(1, sizeof *h);
    for (uint64_t v = 1; v <= 1000000; v++)
        bench_hist_add(h, v * 10);
    CHECK_EQ(h->count, 1000000);
    CHECK_EQ(h->max, 10000000);
    double want[] = {50, 90, 99, 99.9};
    for (int i = 0; i < 4; i++) {
        double got = (double)bench_hist_pct(h, want[i]), exp = want[i] / 100 * 10000000;
        CHECK(got > exp * 0.985 && got < exp * 1.015);
    }
    CHECK_EQ(bench_hist_pct(h, 100), 10000000);
    bench_hist *empty = calloc(1, sizeof *empty);
    CHECK_EQ(bench_hist_pct(empty, 50), 0);
    bench_hist_add(empty, 5);
    CHECK_EQ(bench_hist_pct(empty, 50), 5); /* exact below 128 */
    bench_hist_merge(h, empty);
    CHECK_EQ(h->count, 1000001);
    free(h);
    free(empty);
}

static void test_stream(void)
{
    bench_pair p = {0};
    for (uint64_t s = 0; s < 10; s++)
        bench_pair_seen(&p, s);
    CHECK_EQ(p.uniq, 10);
    CHECK_EQ(p.dup + p.ooo, 0);
    bench_pair_seen(&p, 12); /* gap: 10, 11 missing so far */
    CHECK_EQ(p.next, 13);
    bench_pair_seen(&p, 10); /* late */
    CHECK_EQ(p.ooo, 1);
    bench_pair_seen(&p, 10); /* now a duplicate */
    bench_pair_seen(&p, 12);
    CHECK_EQ(p.dup, 2);
    CHECK_EQ(p.uniq, 12);
    bench_pair_seen(&p, 1000); /* far ahead: window restarts */
    bench_pair_seen(&p, 11);   /* beyond the window: counted late, cannot tell a duplicate */
    CHECK_EQ(p.ooo, 2);
    CHECK_EQ(p.uniq, 14);
}

int main(void)
{
    RUN(test_bucket_bounds);
    RUN(test_percentiles);
    RUN(test_stream);
    return TEST_END();
}
