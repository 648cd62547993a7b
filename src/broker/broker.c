/* broker.c — creates the shared tables and the workers, opens one SO_REUSEPORT socket per
 * listener per worker, starts the threads, and shuts them down gracefully. */
#include "broker/broker.h"
#include "broker/trace.h"
#include "broker/sys.h"
#include "auth/auth.h"
#include "broker/worker.h"
#include "core/err.h"
#include "net/listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Zeroed memory on a cache-line boundary (st_broker and st_worker align their shared
 * counters to cache lines); freed with free(). */
static void *aligned_calloc(size_t size)
{
    size = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, size);
    if (p) memset(p, 0, size);
    return p;
}

st_broker *st_broker_new(const st_settings *cfg, const st_log *log)
{
    st_broker *b = aligned_calloc(sizeof *b);
    if (!b) return NULL;
    b->cfg = *cfg;
    b->log = log;
    pthread_mutex_init(&b->reload_lock, NULL);
    b->nw = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (b->nw < 1) b->nw = 1;
    if (b->nw > 64) b->nw = 64;
    atomic_init(&b->next_sid, 1);
    b->subs = st_subs_new(cfg->share_strategy);
    b->retain = st_retain_new(cfg->max_retained_messages);
    b->w = aligned_calloc((size_t)b->nw * sizeof *b->w);
    if (!b->subs || !b->retain || !b->w) {
        st_broker_free(b);
        return NULL;
    }
    for (int i = 0; i < b->nw; i++) {
        if (st_worker_init(&b->w[i], b, (uint16_t)i) < 0) {
            b->nw = i + 1;
            st_broker_free(b);
            return NULL;
        }
    }
    return b;
}

/* A TLS listener's context from its ssl_options (a bad file stops the node here). */
static int tls_context(st_broker *b, int li, char *err, size_t errlen)
{
    const st_listener_conf *l = &b->cfg.listeners[li];
    if (l->bad_version[0]) {
        snprintf(err, errlen,
                 "listeners.%s.%s.ssl_options.versions: \"%s\" is not offered (tlsv1.3, tlsv1.2)",
                 st_listener_type(l), l->name, l->bad_version);
        return ST_ECONFIG;
    }
    char why[512];
    b->tls[li] = st_tls_ctx_new(&l->tls_opts, why, sizeof why);
    if (!b->tls[li]) {
        snprintf(err, errlen, "listeners.%s.%s.%s", st_listener_type(l), l->name, why);
        return ST_ECONFIG;
    }
    return 0;
}

void st_broker_set_auth(st_broker *b, st_auth *a)
{
    b->auth = a;
}

void st_broker_hold_accept(st_broker *b)
{
    atomic_store(&b->accept_held, 1);
}

void st_broker_open_accept(st_broker *b)
{
    if (!atomic_exchange(&b->accept_held, 0)) return;
    for (int i = 0; i < b->nw; i++) { /* each opens its listeners at once */
        uint64_t one = 1;
        if (write(b->w[i].wake.fd, &one, sizeof one) < 0) { /* saturated: awake anyway */
        }
    }
}

st_auth *st_broker_auth(st_broker *b)
{
    return b->auth;
}

int st_broker_reload_tls(st_broker *b, char *err, size_t errlen)
{
    st_tls_ctx *fresh[ST_MAX_LISTENERS] = {0};
    int n = 0, rc = 0;
    pthread_mutex_lock(&b->reload_lock);
    for (int li = 0; li < b->cfg.n_listeners && rc == 0; li++) {
        const st_listener_conf *l = &b->cfg.listeners[li];
        if (!l->tls) continue;
        char why[512];
        fresh[li] = st_tls_ctx_new(&l->tls_opts, why, sizeof why);
        if (!fresh[li]) {
            snprintf(err, errlen, "listeners.%s.%s.%s", st_listener_type(l), l->name, why);
            rc = ST_ECONFIG;
        }
        n++;
    }
    st_tls_ctx **r = rc || !n ? NULL : realloc(b->retired, (b->nretired + (size_t)n) * sizeof *r);
    if (!rc && n && !r) {
        snprintf(err, errlen, "out of memory");
        rc = ST_ECONFIG;
    }
    for (int li = 0; li < b->cfg.n_listeners; li++) {
        if (!fresh[li]) continue;
        if (rc) {
            st_tls_ctx_free(fresh[li]);
            continue;
        }
        b->retired = r;
        b->retired[b->nretired++] = __atomic_exchange_n(&b->tls[li], fresh[li], __ATOMIC_ACQ_REL);
        LOG_INFO(b->log, "listener %s:%s: certificates reloaded",
                 st_listener_type(&b->cfg.listeners[li]), b->cfg.listeners[li].name);
    }
    pthread_mutex_unlock(&b->reload_lock);
    return rc ? rc : n;
}

static int open_listeners(st_broker *b, char *err, size_t errlen)
{
    for (int li = 0; li < b->cfg.n_listeners; li++) {
        const st_listener_conf *l = &b->cfg.listeners[li];
        if (l->bad_rate[0]) {
            snprintf(err, errlen,
                     "listeners.%s.%s.%s: \"%s\": expected infinity or a rate such "
                     "as \"1000/s\", \"100/10s\", \"60/m\"%s",
                     st_listener_type(l), l->name, l->bad_rate_key, l->bad_rate,
                     strcmp(l->bad_rate_key, "bytes_rate") ? "" : ", \"1MB/s\"");
            return ST_ECONFIG;
        }
        if (!l->bad_rule[0]) continue;
        snprintf(err, errlen,
                 "listeners.%s.%s.access_rules: \"%s\": expected \"allow <address[/prefix]>\", "
                 "\"deny <address[/prefix]>\", or all in place of the address (at most %d rules)",
                 st_listener_type(l), l->name, l->bad_rule, ST_MAX_RULES);
        return ST_ECONFIG;
    }
    for (int li = 0; li < b->cfg.n_listeners; li++) /* the slow part, and what may fail */
        if (b->cfg.listeners[li].tls && tls_context(b, li, err, errlen) < 0) return ST_ECONFIG;
    for (int li = 0; li < b->cfg.n_listeners; li++) {
        int rc = st_listen_probe(b->cfg.listeners[li].bind, err, errlen);
        if (rc < 0) return rc;
        for (int i = 0; i < b->nw; i++) {
            int fd = st_listen_tcp(b->cfg.listeners[li].bind, 1, 4096, err, errlen);
            if (fd < 0) return fd;
            if (st_worker_listen(&b->w[i], li, fd) < 0) {
                close(fd);
                snprintf(err, errlen, "cannot register listener %s", b->cfg.listeners[li].name);
                return ST_ESYS;
            }
        }
        LOG_INFO(b->log, "listener %s:%s on %s started", st_listener_type(&b->cfg.listeners[li]),
                 b->cfg.listeners[li].name, b->cfg.listeners[li].bind);
    }
    return 0;
}

int st_broker_start(st_broker *b, char *err, size_t errlen)
{
    int rc = open_listeners(b, err, errlen);
    if (rc < 0) return rc;
    for (int i = 0; i < b->nw; i++) {
        if (pthread_create(&b->w[i].th, NULL, st_worker_main, &b->w[i]) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", i);
            b->nw = i; /* only the started ones are joined */
            st_broker_stop(b);
            return ST_ESYS;
        }
        b->running++;
    }
    LOG_NOTICE(b->log, "broker started with %d worker threads", b->nw);
    return 0;
}

void st_broker_stop(st_broker *b)
{
    if (!b->running) return;
    for (int i = 0; i < b->running; i++) {
        st_imsg *m = calloc(1, sizeof *m);
        if (!m) continue;
        m->kind = ST_IM_STOP;
        st_worker_post_now(&b->w[i], m);
    }
    for (int i = 0; i < b->running; i++)
        pthread_join(b->w[i].th, NULL);
    b->running = 0;
    LOG_NOTICE(b->log, "broker stopped");
}

void st_broker_free(st_broker *b)
{
    if (!b) return;
    st_broker_stop(b);
    if (b->w)
        for (int i = 0; i < b->nw; i++)
            st_worker_destroy(&b->w[i]);
    free(b->w);
    st_subs_free(b->subs);
    st_retain_free(b->retain);
    st_sys_free(b);
    for (int li = 0; li < ST_MAX_LISTENERS; li++)
        st_tls_ctx_free(b->tls[li]);
    for (size_t i = 0; i < b->nretired; i++)
        st_tls_ctx_free(b->retired[i]);
    free(b->retired);
    st_broker_tuned_free(b);
    st_broker_traces_free(b);
    pthread_mutex_destroy(&b->reload_lock);
    free(b);
}
