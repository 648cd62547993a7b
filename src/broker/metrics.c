/* metrics.c — the counters' names (metrics.h). */
#include "broker/metrics.h"
#include "broker/call.h"
#include "broker/retain.h"
#include "broker/subs.h"
#include "broker/worker.h"
#include "core/err.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *st_metric_name(int id)
{
    static const char *const names[] = {
#define ST_M_NAME(id, name) name,
        ST_METRICS(ST_M_NAME)
#undef ST_M_NAME
    };
    return id >= 0 && (size_t)id < sizeof names / sizeof names[0] ? names[id] : NULL;
}

void st_metrics_sum(const struct st_broker *b, uint64_t *out, uint64_t *drop)
{
    memset(out, 0, ST_M_N * sizeof *out);
    memset(drop, 0, ST_DROP_REASONS * sizeof *drop);
    for (int i = 0; i < b->nw; i++) {
        const st_worker *w = &b->w[i];
        for (int k = 0; k < ST_M_N; k++)
            out[k] += atomic_load_explicit(&w->metrics.v[k], memory_order_relaxed);
        for (int k = 0; k < ST_DROP_REASONS; k++)
            drop[k] += atomic_load_explicit(&w->dropped[k], memory_order_relaxed);
    }
}

static void *sessions_on(st_worker *w, const void *arg)
{
    (void)arg;
    long *n = malloc(sizeof *n);
    if (n) *n = (long)st_strmap_count(w->by_cid);
    return n;
}

int st_stats_get(struct st_broker *b, st_stats *out, int64_t timeout_ms)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < b->cfg.n_listeners; i++)
        out->connections += atomic_load(&b->conns[i]);
    out->subscriptions = (long)st_subs_count(b->subs);
    out->retained = (long)st_retain_count(b->retain);
    st_call *c = st_call_post(b, -1, sessions_on, NULL, 0, free);
    int all = c && st_call_wait(c, timeout_ms);
    for (int i = 0; all && i < b->nw; i++) {
        long *n = st_call_take(c, i);
        out->sessions += n ? *n : 0;
        free(n);
    }
    st_call_release(c);
    if (!all) out->sessions = -1;
    return all ? 0 : ST_EAGAIN;
}
