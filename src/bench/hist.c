/* hist.c — the log-linear histogram: index = exact value below 2^S, else the position of the
 * top bit and the next S-1 bits below it. Percentiles walk the buckets once. */
#include "bench/hist.h"

#define S BENCH_HIST_SUB_BITS
#define HALF (1u << (S - 1))

uint32_t bench_hist_index(uint64_t v)
{
    if (v < (1u << S)) return (uint32_t)v;
    if (v >> (BENCH_HIST_MAX_BIT + 1)) return BENCH_HIST_BUCKETS - 1;
    uint32_t m = 63u - (uint32_t)__builtin_clzll(v); /* top bit, >= S */
    uint32_t t = (uint32_t)(v >> (m - S + 1));       /* in [HALF, 2*HALF) */
    return (1u << S) + (m - S) * HALF + (t - HALF);
}

uint64_t bench_hist_low(uint32_t idx)
{
    if (idx < (1u << S)) return idx;
    uint32_t k = idx - (1u << S);
    uint32_t m = S + k / HALF, t = HALF + k % HALF;
    return (uint64_t)t << (m - S + 1);
}

void bench_hist_add(bench_hist *h, uint64_t v)
{
    h->b[bench_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max) h->max = v;
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
    for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t bench_hist_pct(const bench_hist *h, double pct)
{
    if (!h->count) return 0;
    if (pct >= 100) return h->max;
    uint64_t rank = (uint64_t)(pct / 100.0 * (double)h->count);
    if (rank >= h->count) rank = h->count - 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) {
            uint64_t lo = bench_hist_low(i);
            uint64_t hi = i + 1 < BENCH_HIST_BUCKETS ? bench_hist_low(i + 1) : lo + 1;
            uint64_t mid = lo + (hi - lo) / 2;
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}
