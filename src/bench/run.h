/* run.h — private to src/bench: start the workers (threads, or --procs processes of
 * threads) and coordinate one run through its phases until everything has stopped. */
#ifndef ST_BENCH_RUN_H
#define ST_BENCH_RUN_H

#include "bench/opts.h"
#include "bench/plan.h"
#include "bench/report.h"
#include "bench/shared.h"

/* sh must have cfg->procs * cfg->threads slots. Fills t. 0 or ST_E* (nothing ran). */
int bench_run(const bench_cfg *cfg, const bench_plan *plan, bench_shared *sh, bench_timing *t);

#endif
