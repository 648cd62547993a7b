/* web.c — runs etcd and k8s discovery (web.h). One round at a time goes to libuv's thread
 * pool (uv_queue_work): it may block on the network for up to its timeout, the cluster thread
 * never does. The after-work callback, on the cluster thread, hands what came back to
 * discovery's callback and schedules the next round: every second while the node decides
 * whether to form or join a cluster, then every 5 s (and, for etcd, whenever the lease is due
 * a keepalive, a third of cluster.etcd.node_ttl). Problems are logged as warnings, the same one
 * at most once a minute. At stop etcd's key is deleted before the loop ends (the loop runs
 * until the pool work is done). */
#include "cluster/discovery/web.h"
#include "core/err.h"

#include <ctype.h>
#include <stdint.h>
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERY_MS 5000
#define DECIDING_EVERY_MS 1000
#define WARN_AGAIN_MS 60000

struct st_dw {
    uv_loop_t *loop;
    const st_log *log;
    const st_disc_cfg *cfg; /* discovery's, which outlives us */
    st_disc_found_fn found;
    void *ctx;
    int eager;
    st_dw_job job; /* the round in the pool (busy), or the last one */
    int etcd;      /* else k8s */
    const char *what;
    int busy, closing;
    int64_t next;    /* the next round */
    int64_t refresh; /* etcd: when the lease is due a keepalive */
    int64_t lease;   /* etcd: ours, 0 for none */
    unsigned server; /* etcd: the one that answered last */
    int64_t warned;  /* the last warning (once a minute for the same one) */
    char last_err[ST_DW_ERR_MAX];
};

static void on_work(uv_work_t *w)
{
    st_dw_job *j = (st_dw_job *)((char *)w - offsetof(st_dw_job, work));
    if (j->cfg->strategy == ST_DISC_ETCD)
        st_etcd_round(j);
    else
        st_k8s_round(j);
}

static void after_work(uv_work_t *w, int status);

static void launch(st_dw *dw, int bye)
{
    st_dw_job *j = &dw->job;
    memset(j, 0, sizeof *j);
    j->work.data = dw;
    j->cfg = dw->cfg;
    j->bye = bye;
    j->lease = dw->lease;
    j->server = dw->server;
    j->keepalive = dw->lease && (int64_t)uv_now(dw->loop) >= dw->refresh;
    if (uv_queue_work(dw->loop, &j->work, on_work, after_work) == 0)
        dw->busy = 1;
    else
        dw->next = (int64_t)uv_now(dw->loop) + EVERY_MS;
}

/* The same problem, whatever the figures in it ("after 1 ms", a lease ID)? */
static int same_problem(const char *a, const char *b)
{
    for (;; a++, b++) {
        while (isdigit((unsigned char)*a))
            a++;
        while (isdigit((unsigned char)*b))
            b++;
        if (*a != *b) return 0;
        if (!*a) return 1;
    }
}

/* A warning for a new problem, or for the same one a minute later; a note when it is over. */
static void report(st_dw *dw, int64_t now)
{
    const char *e = dw->job.err;
    if (*e && (!same_problem(e, dw->last_err) || now - dw->warned >= WARN_AGAIN_MS)) {
        LOG_WARN(dw->log, "cluster: %s discovery: %s", dw->what, e);
        dw->warned = now;
        snprintf(dw->last_err, sizeof dw->last_err, "%s", e);
    } else if (!*e && *dw->last_err) {
        LOG_INFO(dw->log, "cluster: %s discovery works again", dw->what);
        dw->last_err[0] = '\0';
    }
}

static void apply(st_dw *dw)
{
    int64_t now = (int64_t)uv_now(dw->loop);
    const st_dw_job *j = &dw->job;
    if (dw->etcd && j->refreshed) {
        if (j->lease != dw->lease) /* a new lease: the key was put with it */
            LOG_INFO(dw->log, "cluster: registered in etcd as %s/%s/nodes/%s (lease %lld)",
                     dw->cfg->etcd_prefix, dw->cfg->cluster_name, dw->cfg->node_name,
                     (long long)j->lease);
        dw->refresh = now + dw->cfg->etcd_ttl_ms / 3;
    }
    if (dw->etcd) {
        dw->lease = j->lease;
        dw->server = j->server;
    }
    report(dw, now);
    if (j->listed) dw->found(dw->ctx, (const char(*)[256])j->names, j->n, dw->what);
    dw->next = now + (dw->eager ? DECIDING_EVERY_MS : EVERY_MS);
    if (dw->lease && dw->refresh < dw->next) dw->next = dw->refresh;
}

static void finish(st_dw *dw)
{
    free(dw);
}

/* Closing: etcd's key goes first (one more round in the pool), then our state. */
static void wind_down(st_dw *dw)
{
    if (dw->etcd && dw->lease) {
        launch(dw, 1);
        if (dw->busy) return;
    }
    finish(dw);
}

static void after_work(uv_work_t *w, int status)
{
    st_dw *dw = w->data;
    dw->busy = 0;
    (void)status; /* never cancelled */
    if (dw->job.bye) {
        if (dw->job.ok)
            LOG_INFO(dw->log, "cluster: removed %s from etcd", dw->cfg->node_name);
        else
            LOG_WARN(dw->log,
                     "cluster: could not remove %s from etcd (it goes when its lease "
                     "expires): %s",
                     dw->cfg->node_name, dw->job.err);
        finish(dw);
    } else if (dw->closing) {
        if (dw->etcd) dw->lease = dw->job.lease;
        wind_down(dw);
    } else {
        apply(dw);
    }
}

st_dw *st_dw_new(uv_loop_t *loop, const st_log *log, const st_disc_cfg *cfg, st_disc_found_fn found,
                 void *ctx, char *err, size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cluster: cannot initialize libcurl");
        return NULL;
    }
    st_dw *dw = calloc(1, sizeof *dw);
    if (!dw) {
        snprintf(err, errlen, "cluster: out of memory");
        return NULL;
    }
    dw->loop = loop;
    dw->log = log;
    dw->cfg = cfg;
    dw->found = found;
    dw->ctx = ctx;
    dw->etcd = cfg->strategy == ST_DISC_ETCD;
    dw->what = dw->etcd ? "etcd" : "k8s";
    return dw; /* the first round goes at the first tick, on the cluster thread */
}

void st_dw_tick(st_dw *dw, int64_t now, int eager)
{
    dw->eager = eager;
    if (dw->busy || dw->closing || now < dw->next) return;
    launch(dw, 0);
}

void st_dw_close(st_dw *dw)
{
    if (dw->closing) return;
    dw->closing = 1;
    if (!dw->busy) wind_down(dw);
}
