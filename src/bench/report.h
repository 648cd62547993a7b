/* report.h — private to src/bench: sums the workers' slots, merges their histograms, does
 * the stream accounting (lost / duplicated / out of order) against the plan, and prints
 * the summary as text or as one JSON object. */
#ifndef ST_BENCH_REPORT_H
#define ST_BENCH_REPORT_H

#include "bench/opts.h"
#include "bench/plan.h"
#include "bench/shared.h"

#include <stdio.h>

/* The counters of every slot added up (see BENCH_COUNTERS). */
typedef struct bench_sum {
#define BENCH_SUM_FIELD(name) uint64_t name;
    BENCH_COUNTERS(BENCH_SUM_FIELD)
#undef BENCH_SUM_FIELD
    int64_t first_conn_ns, last_connack_ns, last_rx_ns;
} bench_sum;

/* Phase times measured by the coordinator (ns, CLOCK_MONOTONIC; 0 if never reached). */
typedef struct bench_timing {
    int64_t start_ns, run_start_ns, run_end_ns, end_ns;
    int interrupted;    /* SIGINT/SIGTERM */
    int workers_failed; /* a worker process died or a worker could not start */
} bench_timing;

typedef struct bench_result {
    bench_sum sum;
    bench_hist lat, conn, ack;
    int tracked;
    uint64_t expected, lost, dup, ooo;
    uint64_t errors;
    double run_s, rx_s, connect_s;
    double rx_rate, tx_rate, conn_rate;
    bench_timing t;
} bench_result;

void bench_sum_slots(const bench_shared *sh, bench_sum *out);
/* Deliveries the subscribers should get for what the publishers had acked so far: each
 * ordinary subscriber every matching message, each shared group each one once. */
uint64_t bench_expected(const bench_plan *plan, const bench_shared *sh);

/* Fill res (a large struct: allocate it) once every worker has exited. 0 or ST_ENOMEM. */
int bench_result_compute(const bench_cfg *cfg, const bench_plan *plan, const bench_shared *sh,
                         const bench_timing *t, bench_result *res);
void bench_print_text(FILE *f, const bench_cfg *cfg, const bench_result *res);
void bench_print_json(FILE *f, const bench_cfg *cfg, const bench_result *res);

#endif
