/* worker.c — one load-generating thread: its own epoll loop over its slice of the clients.
 * Each iteration it follows the coordinator's phase (shared.h), starts connects within the
 * rate and concurrency limits, publishes (interval publishers from a min-heap of due times,
 * as-fast-as-possible publishers from a ready list refilled by acks and drained sockets),
 * then writes every connection's queued output once (redis' beforeSleep), then waits.
 * Nothing here is shared with another thread except the counters in its own slot. */
#include "bench/client.h"
#include "core/err.h"
#include "net/tls.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 512
#define PUB_BATCH 256              /* publishes per publisher per iteration */
#define PUB_BATCH_BYTES (32 << 10) /* ... or this many queued bytes */
#define CONNECTS_PER_ITER 64
#define CONN_CATCHUP_NS 10000000LL /* a rate-limited connect may be this late */
#define TICK_NS 100000000LL
#define MAX_WAIT_NS 5000000LL /* the phase is polled at least this often */
#define SCRATCH_BYTES (256u << 10)

void bench_worker_dirty(bench_worker *w, bench_conn *c)
{
    if (c->dirty) return;
    c->dirty = 1;
    w->dirty[w->ndirty++] = c;
}

void bench_worker_check_done(bench_worker *w, bench_conn *c)
{
    if (c->role != BENCH_ROLE_PUB || c->pub_done) return;
    if (c->state == BC_READY) {
        if (c->inflight || c->out_off < c->out_len) return;
        int last = w->cfg->count && c->seq >= w->cfg->count;
        if (w->phase < BENCH_PH_DRAIN && !last) return;
    } else if (c->state != BC_CLOSED) {
        return;
    }
    c->pub_done = 1;
    BENCH_ADD(w->slot, pubs_done, 1);
}

void bench_worker_resolved(bench_worker *w, bench_conn *c, int ok)
{
    if (c->resolved) return;
    c->resolved = 1;
    if (w->connecting) w->connecting--;
    if (!ok) BENCH_ADD(w->slot, conn_fail, 1);
    if (c->role == BENCH_ROLE_PUB)
        BENCH_ADD(w->slot, pubs_resolved, 1);
    else
        BENCH_ADD(w->slot, subs_resolved, 1);
}

void bench_worker_kick(bench_worker *w, bench_conn *c)
{
    if (w->phase != BENCH_PH_RUN) return;
    if (w->cfg->interval_ns) { /* publish what fell due while the window was full */
        while (c->owed && bench_conn_can_publish(w, c)) {
            c->owed--;
            if (bench_conn_publish(w, c) < 0) return bench_conn_close(w, c, 0);
        }
        return;
    }
    if (!c->in_ready && bench_conn_can_publish(w, c)) {
        c->in_ready = 1;
        w->ready[w->nready++] = c;
    }
}

/* ---- the due-time heap of interval publishers ---------------------------------------- */

static void heap_push(bench_worker *w, bench_conn *c)
{
    uint32_t i = w->nheap++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (w->heap[parent]->next_due <= c->next_due) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = c;
}

static bench_conn *heap_pop(bench_worker *w)
{
    bench_conn *top = w->heap[0], *last = w->heap[--w->nheap];
    uint32_t i = 0, n = w->nheap;
    for (;;) {
        uint32_t k = 2 * i + 1;
        if (k >= n) break;
        if (k + 1 < n && w->heap[k + 1]->next_due < w->heap[k]->next_due) k++;
        if (last->next_due <= w->heap[k]->next_due) break;
        w->heap[i] = w->heap[k];
        i = k;
    }
    if (n) w->heap[i] = last;
    return top;
}

static void run_due(bench_worker *w)
{
    const bench_cfg *cfg = w->cfg;
    for (int budget = 4096; budget > 0 && w->nheap && w->heap[0]->next_due <= w->now; budget--) {
        bench_conn *c = heap_pop(w);
        if (c->state != BC_READY || (cfg->count && c->seq >= cfg->count)) continue;
        if (bench_conn_can_publish(w, c)) {
            if (bench_conn_publish(w, c) < 0) {
                bench_conn_close(w, c, 0);
                continue;
            }
        } else if (c->owed <= c->window) {
            c->owed++;
        }
        c->next_due += cfg->interval_ns;
        if (c->next_due < w->now - 1000000000LL) c->next_due = w->now; /* too far behind */
        heap_push(w, c);
    }
}

/* Queue up to one batch of publishes; 1 if the publisher could send more right away. */
static int publish_batch(bench_worker *w, bench_conn *c)
{
    uint32_t start = c->out_len - c->out_off;
    for (int n = 0; n < PUB_BATCH && bench_conn_can_publish(w, c); n++) {
        if (bench_conn_publish(w, c) < 0) {
            bench_conn_close(w, c, 0);
            return 0;
        }
        if (c->out_len - c->out_off - start >= PUB_BATCH_BYTES) break;
    }
    return bench_conn_can_publish(w, c);
}

static void run_ready(bench_worker *w)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < w->nready; i++) {
        bench_conn *c = w->ready[i];
        if (publish_batch(w, c))
            w->ready[keep++] = c;
        else
            c->in_ready = 0;
    }
    w->nready = keep;
}

/* Right after a connection's events: publish what its acks allowed and write its output
 * (acks, PUBRELs, publishes) at once, one write per connection per wakeup, rather than at
 * the end of the iteration: the other side's window turns around sooner. */
static void after_event(bench_worker *w, bench_conn *c)
{
    if (c->fd < 0 || c->state == BC_TCP) return;
    if (c->in_ready) publish_batch(w, c); /* stays listed; run_ready drops it if need be */
    if (c->fd >= 0 && c->out_len > c->out_off && !c->wait_out) bench_conn_flush(w, c);
}

/* ---- phases, connects, flushing -------------------------------------------------------- */

static void start_publishing(bench_worker *w)
{
    int64_t start = BENCH_GET(w->sh->ctl->run_start_ns);
    for (uint32_t i = 0; i < w->npubs; i++) {
        bench_conn *c = &w->conns[w->nsubs + i];
        if (c->state != BC_READY) continue;
        if (w->cfg->interval_ns) { /* spread the first publishes over one interval */
            c->next_due = start + (int64_t)((double)w->cfg->interval_ns * i / w->npubs);
            heap_push(w, c);
        } else {
            bench_worker_kick(w, c);
        }
    }
}

static void on_phase(bench_worker *w, int phase)
{
    int old = w->phase;
    w->phase = phase;
    if (phase == BENCH_PH_RUN) start_publishing(w);
    if (phase >= BENCH_PH_DRAIN && old < BENCH_PH_DRAIN) {
        for (uint32_t i = 0; i < w->nready; i++)
            w->ready[i]->in_ready = 0;
        w->nready = w->nheap = 0;
        for (uint32_t i = 0; i < w->npubs; i++)
            bench_worker_check_done(w, &w->conns[w->nsubs + i]);
    }
}

static void start_connects(bench_worker *w)
{
    uint32_t *next, n;
    bench_conn *base;
    if (w->phase == BENCH_PH_CONNECT_SUBS) {
        next = &w->next_sub, n = w->nsubs, base = w->conns;
    } else if (w->phase == BENCH_PH_CONNECT_PUBS) {
        next = &w->next_pub, n = w->npubs, base = w->conns + w->nsubs;
    } else {
        return;
    }
    for (int k = 0; k < CONNECTS_PER_ITER && *next < n && w->connecting < w->max_connecting; k++) {
        if (w->conn_interval_ns) {
            if (w->now < w->next_conn_ns) break;
            int64_t floor = w->now - (w->conn_interval_ns > CONN_CATCHUP_NS ? w->conn_interval_ns
                                                                            : CONN_CATCHUP_NS);
            w->next_conn_ns =
                (w->next_conn_ns > floor ? w->next_conn_ns : floor) + w->conn_interval_ns;
        }
        w->connecting++;
        bench_conn_open(w, &base[(*next)++]);
    }
}

static int connects_pending(const bench_worker *w)
{
    if (w->connecting >= w->max_connecting) return 0;
    if (w->phase == BENCH_PH_CONNECT_SUBS) return w->next_sub < w->nsubs;
    return w->phase == BENCH_PH_CONNECT_PUBS && w->next_pub < w->npubs;
}

/* Write every connection's queued output. Flushing may queue more (a kicked interval
 * publisher), so entries added meanwhile are carried over to the next round. */
static void flush_dirty(bench_worker *w)
{
    for (int round = 0; round < 4 && w->ndirty; round++) {
        uint32_t n = w->ndirty;
        for (uint32_t i = 0; i < n; i++) {
            bench_conn *c = w->dirty[i];
            c->dirty = 0;
            if (c->fd >= 0 && c->state != BC_TCP && !c->wait_out && c->out_len > c->out_off)
                bench_conn_flush(w, c);
        }
        memmove(w->dirty, w->dirty + n, sizeof(bench_conn *) * (w->ndirty - n));
        w->ndirty -= n;
    }
}

static void tick(bench_worker *w)
{
    w->next_tick_ns = w->now + TICK_NS;
    for (uint32_t i = 0; i < w->nsubs + w->npubs; i++)
        if (w->conns[i].fd >= 0) bench_conn_tick(w, &w->conns[i]);
}

/* How long epoll may sleep, in ns: publishers are due at exact times, so the wait is not
 * rounded to milliseconds (that would send each millisecond's publishes as one burst and
 * measure the burst's queueing instead of the broker). */
static int64_t wait_ns(const bench_worker *w)
{
    if (w->nready || w->ndirty) return 0;
    if (connects_pending(w) && !w->conn_interval_ns) return 0;
    int64_t until = w->now + MAX_WAIT_NS;
    if (w->nheap && w->heap[0]->next_due < until) until = w->heap[0]->next_due;
    if (connects_pending(w) && w->next_conn_ns < until) until = w->next_conn_ns;
    if (w->next_tick_ns < until) until = w->next_tick_ns;
    int64_t d = until - w->now;
    return d <= 0 ? 0 : d;
}

static void loop(bench_worker *w)
{
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        w->now = bench_now_ns();
        int phase = atomic_load_explicit(&w->sh->ctl->phase, memory_order_acquire);
        if (phase != w->phase) on_phase(w, phase);
        if (phase == BENCH_PH_STOP) return;
        start_connects(w);
        if (phase == BENCH_PH_RUN) {
            run_due(w);
            run_ready(w);
        }
        flush_dirty(w);
        if (w->now >= w->next_tick_ns) tick(w);
        int64_t ns = wait_ns(w);
        struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
        int n = epoll_pwait2(w->epfd, evs, MAX_EVENTS, &ts, NULL);
        w->now = bench_now_ns();
        for (int i = 0; i < n; i++) {
            bench_conn_event(w, evs[i].data.ptr, evs[i].events);
            after_event(w, evs[i].data.ptr);
        }
    }
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static uint32_t slice(uint32_t n, uint32_t s, uint32_t nslots)
{
    return (uint32_t)((uint64_t)n * s / nslots);
}

static int worker_init(bench_worker *w)
{
    const bench_cfg *cfg = w->cfg;
    uint32_t s = w->slot_id, ns = w->sh->nslots;
    w->slot = &w->sh->slots[s];
    w->lat = &w->sh->lat[s], w->connh = &w->sh->conn[s], w->ackh = &w->sh->ack[s];
    w->sub_base = slice(cfg->subs, s, ns);
    w->nsubs = slice(cfg->subs, s + 1, ns) - w->sub_base;
    w->pub_base = slice(cfg->pubs, s, ns);
    w->npubs = slice(cfg->pubs, s + 1, ns) - w->pub_base;
    uint32_t n = w->nsubs + w->npubs;
    w->max_connecting = cfg->conn_inflight / ns ? cfg->conn_inflight / ns : 1;
    w->conn_interval_ns = cfg->conn_rate > 0 ? (int64_t)(1e9 * ns / cfg->conn_rate) : 0;
    w->conns = calloc(n ? n : 1, sizeof *w->conns);
    w->dirty = malloc(sizeof(bench_conn *) * (2 * n + 1));
    w->ready = malloc(sizeof(bench_conn *) * (w->npubs + 1));
    w->heap = malloc(sizeof(bench_conn *) * (w->npubs + 1));
    w->scratch = malloc(SCRATCH_BYTES);
    w->scratch_cap = SCRATCH_BYTES;
    w->payload = calloc(1, cfg->payload);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    char err[256];
    if (cfg->tls && !(w->tls = st_tls_client_ctx_new(err, sizeof err))) return ST_ENOMEM;
    if (cfg->tls_resume) st_tls_ctx_resume(w->tls);
    if (!w->conns || !w->dirty || !w->ready || !w->heap || !w->scratch || !w->payload ||
        w->epfd < 0)
        return ST_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        bench_conn *c = &w->conns[i];
        int pub = i >= w->nsubs;
        c->fd = -1;
        c->role = pub ? BENCH_ROLE_PUB : BENCH_ROLE_SUB;
        c->idx = pub ? w->pub_base + (i - w->nsubs) : w->sub_base + i;
        if (!pub && w->plan->tracked) {
            c->pair_first = w->plan->sub_first[c->idx];
            c->pair_count = w->plan->sub_first[c->idx + 1] - c->pair_first;
        }
    }
    return 0;
}

/* A worker that could not start still accounts for its clients, so the run ends. */
static void give_up(bench_worker *w)
{
    BENCH_ADD(w->slot, conn_fail, w->nsubs + w->npubs);
    BENCH_ADD(w->slot, subs_resolved, w->nsubs);
    BENCH_ADD(w->slot, pubs_resolved, w->npubs);
    BENCH_ADD(w->slot, pubs_done, w->npubs);
}

static void worker_free(bench_worker *w)
{
    for (uint32_t i = 0; w->conns && i < w->nsubs + w->npubs; i++) {
        bench_conn *c = &w->conns[i];
        if (c->fd >= 0) bench_conn_close(w, c, 1);
        bench_conn_release(c);
    }
    if (w->epfd >= 0) close(w->epfd);
    free(w->conns);
    free(w->dirty);
    free(w->ready);
    free(w->heap);
    free(w->scratch);
    free(w->payload);
    st_tls_ctx_free(w->tls);
}

int bench_worker_run(const bench_cfg *cfg, const bench_plan *plan, bench_shared *sh,
                     uint32_t slot_id)
{
    bench_worker w = {.cfg = cfg, .plan = plan, .sh = sh, .slot_id = slot_id, .epfd = -1};
    int rc = worker_init(&w);
    if (rc < 0)
        give_up(&w);
    else
        loop(&w);
    worker_free(&w);
    return rc;
}
