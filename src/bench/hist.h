/* hist.h — private to src/bench: a log-linear latency histogram (HDR-like) with a fixed
 * array of buckets, so recording a value is a few instructions and never allocates.
 * Values are nanoseconds; below 2^BENCH_HIST_SUB_BITS they are exact, above that every
 * power of two is split into 2^(BENCH_HIST_SUB_BITS-1) equal buckets (relative error under
 * 1/64, reported at the bucket's midpoint). Values over 2^40 ns (~18 min) are clamped. */
#ifndef ST_BENCH_HIST_H
#define ST_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_MAX_BIT 40
#define BENCH_HIST_BUCKETS                                                                         \
    ((1u << BENCH_HIST_SUB_BITS) +                                                                 \
     (BENCH_HIST_MAX_BIT - BENCH_HIST_SUB_BITS + 1) * (1u << (BENCH_HIST_SUB_BITS - 1)))

typedef struct bench_hist {
    uint64_t count;
    uint64_t max;
    uint64_t sum;
    uint64_t b[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_add(bench_hist *h, uint64_t v);
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* The value at percentile pct (0..100]; 0 for an empty histogram; max for pct 100. */
uint64_t bench_hist_pct(const bench_hist *h, double pct);

/* Bucket index of a value, and the smallest value of a bucket (exposed for tests). */
uint32_t bench_hist_index(uint64_t v);
uint64_t bench_hist_low(uint32_t idx);

#endif
