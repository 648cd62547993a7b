/* run.c — runs one benchmark: starts the workers (threads of this process, or --procs
 * child processes each with its threads and a slice of the clients), and coordinates them
 * through the shared phase: subscribers connect, then publishers, then the run, then a
 * drain that waits for outstanding acks and deliveries, then stop. The coordinator (this
 * process's main thread) never touches a socket: it sums the workers' counter slots every
 * 20 ms, prints progress once a second, and reacts to SIGINT/SIGTERM through a signalfd
 * (every worker thread and process has those signals blocked). */
#include "bench/run.h"
#include "bench/client.h"
#include "bench/report.h"
#include "core/err.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define COORD_POLL_MS 20
#define IDLE_NS 1000000000LL /* drain: stop once deliveries pause this long */

typedef struct worker_arg {
    const bench_cfg *cfg;
    const bench_plan *plan;
    bench_shared *sh;
    uint32_t slot;
    int rc;
} worker_arg;

typedef struct coord {
    const bench_cfg *cfg;
    const bench_plan *plan;
    bench_shared *sh;
    bench_timing *t;
    pid_t *kids;
    uint32_t nkids;
    int sigfd;
    int phase;
    int64_t last_progress_ns, idle_since_ns, drain_start_ns;
    uint64_t last_rx, prev_sent, prev_rx, expected;
    int expected_known;
    bench_sum sum;
} coord;

static void *worker_thread(void *p)
{
    worker_arg *a = p;
    a->rc = bench_worker_run(a->cfg, a->plan, a->sh, a->slot);
    return NULL;
}

/* Start slots [first, first + n) as threads of this process. On failure the threads that
 * did start are still running: tids[i] is 0 for those that did not. 0 or ST_ESYS. */
static int start_threads(const bench_cfg *cfg, const bench_plan *plan, bench_shared *sh,
                         uint32_t first, uint32_t n, pthread_t *tids, worker_arg *args)
{
    for (uint32_t i = 0; i < n; i++) {
        args[i] = (worker_arg){cfg, plan, sh, first + i, 0};
        if (pthread_create(&tids[i], NULL, worker_thread, &args[i]) != 0) {
            tids[i] = 0;
            return ST_ESYS;
        }
    }
    return 0;
}

/* Wait for the threads; returns how many failed. */
static int join_threads(pthread_t *tids, worker_arg *args, uint32_t n)
{
    int failed = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!tids[i]) continue;
        pthread_join(tids[i], NULL);
        failed += args[i].rc < 0;
    }
    return failed;
}

static void set_phase(coord *c, int phase)
{
    int64_t now = bench_now_ns();
    if (phase == BENCH_PH_RUN) {
        c->t->run_start_ns = now;
        BENCH_SET(c->sh->ctl->run_start_ns, now);
    }
    if (phase == BENCH_PH_DRAIN) c->t->run_end_ns = c->drain_start_ns = now;
    if (phase == BENCH_PH_STOP) c->t->end_ns = now;
    if (phase == BENCH_PH_STOP && !c->t->run_end_ns) c->t->run_end_ns = now;
    c->phase = phase;
    atomic_store_explicit(&c->sh->ctl->phase, phase, memory_order_release);
}

static void progress(coord *c, int64_t now)
{
    static const char *names[] = {"init", "connect", "connect", "run", "drain", "stop"};
    const bench_sum *s = &c->sum;
    double dt = (double)(now - c->last_progress_ns) / 1e9;
    fprintf(stderr,
            "[%6.1fs] %-7s conn %lu ok %lu fail | sent %lu (%.0f/s) | recv %lu (%.0f/s) | "
            "errors %lu\n",
            (double)(now - c->t->start_ns) / 1e9, names[c->phase], s->conn_ok, s->conn_fail,
            s->sent, (double)(s->sent - c->prev_sent) / dt, s->received,
            (double)(s->received - c->prev_rx) / dt,
            s->err_closed + s->err_proto + s->err_suback + s->err_rejected + s->err_io);
    c->prev_sent = s->sent;
    c->prev_rx = s->received;
    c->last_progress_ns = now;
}

/* Drain is over when every publisher is done and the subscribers got what was acked (or
 * deliveries have paused for IDLE_NS: the rest is lost), or the --drain limit passed. */
static int drain_done(coord *c, int64_t now)
{
    const bench_cfg *cfg = c->cfg;
    if (now - c->drain_start_ns > (int64_t)(cfg->drain_s * 1e9)) return 1;
    if (c->sum.pubs_done < cfg->pubs) return 0;
    if (!cfg->subs || cfg->scenario != BENCH_PUBSUB) return 1;
    if (!c->expected_known) {
        c->expected = bench_expected(c->plan, c->sh);
        c->expected_known = 1;
    }
    if (c->sum.received - c->sum.foreign - c->sum.unexpected >= c->expected) return 1;
    if (c->sum.received != c->last_rx) {
        c->last_rx = c->sum.received;
        c->idle_since_ns = now;
    }
    return now - c->idle_since_ns > IDLE_NS;
}

static void step(coord *c, int64_t now)
{
    const bench_cfg *cfg = c->cfg;
    const bench_sum *s = &c->sum;
    switch (c->phase) {
    case BENCH_PH_CONNECT_SUBS:
        if (s->subs_resolved >= cfg->subs) set_phase(c, BENCH_PH_CONNECT_PUBS);
        break;
    case BENCH_PH_CONNECT_PUBS:
        if (s->pubs_resolved >= cfg->pubs) set_phase(c, BENCH_PH_RUN);
        break;
    case BENCH_PH_RUN:
        if ((cfg->duration_s >= 0 &&
             now - c->t->run_start_ns >= (int64_t)(cfg->duration_s * 1e9)) ||
            (cfg->pubs && cfg->count && s->pubs_done >= cfg->pubs)) {
            c->idle_since_ns = now;
            set_phase(c, BENCH_PH_DRAIN);
        }
        break;
    case BENCH_PH_DRAIN:
        if (drain_done(c, now)) set_phase(c, BENCH_PH_STOP);
        break;
    }
}

/* A child that exits before STOP has failed; stop the run. */
static void check_kids(coord *c)
{
    for (uint32_t i = 0; i < c->nkids; i++) {
        int st;
        if (c->kids[i] > 0 && waitpid(c->kids[i], &st, WNOHANG) == c->kids[i]) {
            c->kids[i] = 0;
            if (c->phase < BENCH_PH_STOP) {
                c->t->workers_failed++;
                set_phase(c, BENCH_PH_STOP);
            }
        }
    }
}

static void coordinate(coord *c)
{
    int show = !c->cfg->quiet && (c->cfg->progress || isatty(STDERR_FILENO));
    c->last_progress_ns = c->t->start_ns;
    set_phase(c, BENCH_PH_CONNECT_SUBS);
    while (c->phase != BENCH_PH_STOP) {
        struct pollfd pfd = {.fd = c->sigfd, .events = POLLIN};
        if (poll(&pfd, 1, COORD_POLL_MS) > 0) {
            struct signalfd_siginfo si;
            (void)!read(c->sigfd, &si, sizeof si);
            c->t->interrupted = 1;
            if (c->phase == BENCH_PH_RUN) { /* first one during the run: drain, then stop */
                c->idle_since_ns = bench_now_ns();
                set_phase(c, BENCH_PH_DRAIN);
                continue;
            }
            set_phase(c, BENCH_PH_STOP);
            break;
        }
        check_kids(c);
        if (atomic_load_explicit(&c->sh->ctl->phase, memory_order_acquire) == BENCH_PH_STOP &&
            c->phase != BENCH_PH_STOP) { /* a worker process could not start its threads */
            c->t->workers_failed++;
            set_phase(c, BENCH_PH_STOP);
            break;
        }
        bench_sum_slots(c->sh, &c->sum);
        int64_t now = bench_now_ns();
        step(c, now);
        if (show && now - c->last_progress_ns >= 1000000000LL) progress(c, now);
    }
}

static int fork_procs(coord *c)
{
    const bench_cfg *cfg = c->cfg;
    for (uint32_t k = 0; k < cfg->procs; k++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) return ST_ESYS;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            pthread_t *tids = calloc(cfg->threads, sizeof *tids);
            worker_arg *args = calloc(cfg->threads, sizeof *args);
            int rc = !tids || !args ? ST_ENOMEM
                                    : start_threads(cfg, c->plan, c->sh, k * cfg->threads,
                                                    cfg->threads, tids, args);
            if (rc < 0) /* abort the whole run: the coordinator sees the phase */
                atomic_store_explicit(&c->sh->ctl->phase, BENCH_PH_STOP, memory_order_release);
            int failed = tids && args ? join_threads(tids, args, cfg->threads) : 0;
            _exit(rc < 0 || failed ? 1 : 0);
        }
        c->kids[k] = pid;
    }
    return 0;
}

static void reap_kids(coord *c)
{
    for (uint32_t i = 0; i < c->nkids; i++) {
        int st;
        if (c->kids[i] <= 0) continue;
        while (waitpid(c->kids[i], &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) c->t->workers_failed++;
    }
}

int bench_run(const bench_cfg *cfg, const bench_plan *plan, bench_shared *sh, bench_timing *t)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    memset(t, 0, sizeof *t);
    t->start_ns = bench_now_ns();
    coord c = {.cfg = cfg, .plan = plan, .sh = sh, .t = t, .nkids = 0};
    c.sigfd = signalfd(-1, &block, SFD_CLOEXEC);
    uint32_t nthreads = cfg->procs > 1 ? 0 : cfg->threads;
    pthread_t *tids = calloc(nthreads + 1, sizeof *tids);
    worker_arg *args = calloc(nthreads + 1, sizeof *args);
    c.kids = calloc(cfg->procs, sizeof *c.kids);
    int rc = c.sigfd < 0 || !tids || !args || !c.kids ? ST_ENOMEM : 0;
    if (rc == 0 && cfg->procs > 1) {
        c.nkids = cfg->procs;
        rc = fork_procs(&c);
    } else if (rc == 0) {
        rc = start_threads(cfg, plan, sh, 0, nthreads, tids, args);
    }
    if (rc == 0) coordinate(&c);
    if (c.phase != BENCH_PH_STOP) set_phase(&c, BENCH_PH_STOP); /* release what started */
    reap_kids(&c);
    if (tids && args) t->workers_failed += join_threads(tids, args, nthreads);
    if (c.sigfd >= 0) close(c.sigfd);
    free(tids);
    free(args);
    free(c.kids);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
