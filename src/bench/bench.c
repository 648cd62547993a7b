/* bench.c — `starling bench conn|pub|sub|pubsub`: parse the options, raise the open-file
 * limit, compute the delivery plan, map the shared memory, run, report, and turn the
 * result into the exit code (0 clean; 1 failed connects, errors, or --fail-on-loss with
 * losses; 2 bad usage or a setup failure). The pieces: opts (command line), plan (who
 * receives whom), shared (memory of the run), run (processes, threads, phases), worker
 * and client (event loops and MQTT), hist (latency histograms), report (accounting). */
#include "bench/bench.h"
#include "bench/opts.h"
#include "bench/plan.h"
#include "bench/report.h"
#include "bench/run.h"
#include "bench/shared.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

/* Raise the soft open-file limit to the hard one; check one process's share fits. */
static int check_nofile(const bench_cfg *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t clients = (uint64_t)cfg->pubs + cfg->subs;
    uint64_t need = (clients + cfg->procs - 1) / cfg->procs + 2ull * cfg->threads + 32;
    if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur) {
        fprintf(stderr,
                "starling bench: %lu clients need about %lu open files per process, the "
                "limit is %lu: use --procs %lu or more\n",
                clients, need, (unsigned long)rl.rlim_cur,
                (unsigned long)(clients / (rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 1) + 1));
        return ST_EFULL;
    }
    return 0;
}

static int exit_code(const bench_cfg *cfg, const bench_result *r)
{
    if (r->sum.conn_fail || r->errors) return 1;
    if (cfg->fail_on_loss && r->tracked && r->lost) return 1;
    return 0;
}

static int run_and_report(const bench_cfg *cfg, const bench_plan *plan)
{
    bench_shared sh;
    bench_timing t;
    if (bench_shared_new(&sh, cfg->procs * cfg->threads, plan) < 0) {
        fprintf(stderr, "starling bench: cannot map shared memory\n");
        return 2;
    }
    int code = 2;
    bench_result *res = calloc(1, sizeof *res);
    int rc = res ? bench_run(cfg, plan, &sh, &t) : ST_ENOMEM;
    if (rc == 0) rc = bench_result_compute(cfg, plan, &sh, &t, res);
    if (rc < 0) {
        fprintf(stderr, "starling bench: %s\n", st_strerror(rc));
    } else {
        if (cfg->json)
            bench_print_json(stdout, cfg, res);
        else
            bench_print_text(stdout, cfg, res);
        fflush(stdout);
        code = exit_code(cfg, res);
    }
    free(res);
    bench_shared_free(&sh);
    return code;
}

int st_bench_main(int argc, char **argv)
{
    bench_cfg cfg;
    bench_plan plan;
    char err[256];
    int rc = bench_opts_parse(argc, argv, &cfg, err, sizeof err);
    if (rc == 1) return 0;
    if (rc < 0) {
        fprintf(stderr, "starling bench: %s (see starling bench --help)\n", err);
        return 2;
    }
    if (check_nofile(&cfg) < 0) return 2;
    if (bench_plan_build(&cfg, &plan, err, sizeof err) < 0) {
        fprintf(stderr, "starling bench: %s\n", err);
        return 2;
    }
    int code = run_and_report(&cfg, &plan);
    bench_plan_free(&plan);
    return code;
}
