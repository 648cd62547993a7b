/* store.c — the store thread, its rounds and the checks at open (store.h). */
#include "store/store.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/mpsc.h"
#include "core/alarm.h"
#include "store/engine.h"
#include "store/internal.h"
#include "store/pending.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- batches ---------------------------------------------------------------------------- */

st_store_batch *st_store_batch_new(void)
{
    return calloc(1, sizeof(st_store_batch));
}

void st_store_batch_free(st_store_batch *b)
{
    if (!b) return;
    free(b->p);
    free(b);
}

int st_store_batch_empty(const st_store_batch *b)
{
    return b->len == 0;
}

int st_store_record(st_store_batch *b, int cf, int op, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    size_t need = 8 + klen + vlen;
    if (b->oom || klen > 0xffff || vlen > 0xffffffffu) return b->oom = 1, ST_ENOMEM;
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + need)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) return b->oom = 1, ST_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    uint8_t *w = b->p + b->len;
    w[0] = (uint8_t)cf;
    w[1] = (uint8_t)op;
    w[2] = (uint8_t)(klen >> 8), w[3] = (uint8_t)klen;
    for (int i = 0; i < 4; i++)
        w[4 + i] = (uint8_t)(vlen >> (24 - 8 * i));
    memcpy(w + 8, key, klen);
    if (vlen) memcpy(w + 8 + klen, val, vlen);
    b->len += need;
    return 0;
}

int st_store_put(st_store_batch *b, int cf, const void *key, size_t klen, const void *val,
                 size_t vlen, int fresh)
{
    return st_store_record(b, cf, fresh ? ST_W_NEW : ST_W_PUT, key, klen, val, vlen);
}

int st_store_del(st_store_batch *b, int cf, const void *key, size_t klen)
{
    return st_store_record(b, cf, ST_W_DEL, key, klen, NULL, 0);
}

/* Each record of b to fn. */
static int each_record(const st_store_batch *b,
                       int (*fn)(void *ctx, int cf, int op, const uint8_t *k, size_t kl,
                                 const uint8_t *v, size_t vl),
                       void *ctx)
{
    size_t off = 0;
    while (off + 8 <= b->len) {
        const uint8_t *r = b->p + off;
        size_t kl = (size_t)r[2] << 8 | r[3];
        size_t vl = (size_t)r[4] << 24 | (size_t)r[5] << 16 | (size_t)r[6] << 8 | r[7];
        int rc = fn(ctx, r[0], r[1], r + 8, kl, r + 8 + kl, vl);
        if (rc < 0) return rc;
        off += 8 + kl + vl;
    }
    return 0;
}

void st_store_wake(st_store *s)
{
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof one) < 0) { /* the counter is full: it is awake anyway */
    }
}

uint64_t st_store_submit(st_store *s, st_store_batch **b)
{
    st_store_batch *h = *b;
    uint64_t t = atomic_fetch_add(&s->next_ticket, 1) + 1;
    h->ticket = t;
    *b = st_store_batch_new();
    st_mpsc_push(&s->inbox, &h->node);
    st_store_wake(s);
    return t;
}

uint64_t st_store_submit_replace(st_store *s, st_store_batch **b)
{
    (*b)->replace = 1;
    s->fresh = 0; /* the commit clears every record but the own meta, "fresh" too */
    return st_store_submit(s, b);
}

int st_store_fresh(const st_store *s)
{
    return s->fresh;
}

int st_store_settle_fresh(st_store *s)
{
    if (!s->fresh) return 0;
    st_store_batch *b = st_store_batch_new();
    int rc = b ? st_store_del(b, ST_CF_META, "fresh", 5) : ST_ENOMEM;
    if (rc == 0 && s->started)
        st_store_submit(s, &b);
    else if (rc == 0)
        rc = st_store_write_now(s, b);
    if (rc == 0) s->fresh = 0;
    st_store_batch_free(b);
    return rc;
}

uint64_t st_store_durable(const st_store *s)
{
    return atomic_load(&s->durable);
}

uint64_t st_store_failed(const st_store *s)
{
    return atomic_load(&s->failed);
}

int st_store_ok(const st_store *s)
{
    return atomic_load(&s->ok);
}

int st_store_on_settled(st_store *s, void (*fn)(void *ctx), void *ctx)
{
    if (s->nwakers == ST_STORE_MAX_WAKERS) return ST_EFULL;
    s->wakers[s->nwakers].fn = fn;
    s->wakers[s->nwakers++].ctx = ctx;
    return 0;
}

void st_store_stats_get(st_store *s, st_store_stats *out)
{
    pthread_mutex_lock(&s->stats_mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->stats_mu);
    out->disk_bytes = st_engine_disk_bytes(s->eng);
}

/* ---- rounds (the store thread) ---------------------------------------------------------- */

static int to_pending(void *ctx, int cf, int op, const uint8_t *k, size_t kl, const uint8_t *v,
                      size_t vl)
{
    return st_pending_add(ctx, (uint8_t)cf, k, kl, op, v, vl);
}

/* Take what was submitted into the pending set: 1 if anything came. */
static int take(st_store *s)
{
    int any = 0;
    st_mpsc_node *n;
    while ((n = st_mpsc_pop(&s->inbox)) != NULL) {
        st_store_batch *b = (st_store_batch *)n;
        s->taken = b->ticket > s->taken ? b->ticket : s->taken;
        any = 1;
        if (b->replace && !b->oom) { /* what came before it is replaced too */
            st_pending_clear(s->pend);
            st_store_batch_free(s->replace);
            s->replace = b;
            continue;
        }
        if (b->oom || each_record(b, to_pending, s->pend) < 0) /* its writer answers for it */
            LOG_ERROR(s->log, "durable store: out of memory: a batch of writes is dropped");
        st_store_batch_free(b);
    }
    return any;
}

typedef struct commit_ctx {
    st_engine *eng;
    int rc;
    char *err;
    size_t errlen;
    uint64_t n;
} commit_ctx;

static void to_engine(void *ctx, uint8_t cf, const uint8_t *k, size_t kl, const uint8_t *v,
                      size_t vl)
{
    commit_ctx *c = ctx;
    if (c->rc < 0) return;
    c->rc = v ? st_engine_put(c->eng, cf, k, kl, v, vl, c->err, c->errlen)
              : st_engine_del(c->eng, cf, k, kl, c->err, c->errlen);
    c->n++;
}

static void wake_all(st_store *s)
{
    for (int i = 0; i < s->nwakers; i++)
        s->wakers[i].fn(s->wakers[i].ctx);
}

/* A round this large (writes made) leaves the allocator holding what its pending set and
 * its batches took (glibc keeps freed memory in the heaps of the threads that used it):
 * after it, and after the round that follows it (what the large round's writers freed
 * late), that memory is handed back to the system, once the workers have been woken
 * (docs/durability.md §9, bench/offline-memory.py). */
#define TRIM_AFTER_WRITES 65536

static void trim(st_store *s)
{
    int big = s->round_writes >= TRIM_AFTER_WRITES;
    s->round_writes = 0;
#ifdef __GLIBC__
    if (big || s->was_big) malloc_trim(0);
#endif
    s->was_big = big;
}

/* src as the body of a JSON string in dst (cut to fit). */
static void json_body(char *dst, size_t cap, const char *src)
{
    size_t k = 0;
    for (const char *p = src; *p && k + 3 < cap; p++) {
        if (*p == '"' || *p == '\\') dst[k++] = '\\';
        dst[k++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    dst[k] = 0;
}

/* The alarm of a failed commit: the disk (or persistence.max_size) is full, or another error. */
static void raise_alarm(st_store *s, int rc, const char *err)
{
    char msg[256], details[512], path[200], why[250];
    json_body(path, sizeof path, s->cfg.dir);
    json_body(why, sizeof why, err);
    snprintf(msg, sizeof msg, "durable store %.180s: %s: durable writes are refused", s->cfg.dir,
             rc == ST_EFULL ? "full" : "a commit failed");
    snprintf(details, sizeof details, "{\"path\":\"%s\",\"error\":\"%s\"}", path, why);
    st_alarm_raise(s->cfg.alarms, rc == ST_EFULL ? "durable_storage_full" : "durable_storage_error",
                   msg, details);
}

/* Commit what is pending; a failure keeps it pending, to be tried again. */
static int commit(st_store *s)
{
    uint64_t upto = s->taken;
    char err[160] = "";
    commit_ctx c = {s->eng, 0, err, sizeof err, 0};
    if (st_pending_count(s->pend) == 0 && !s->replace) {
        st_repl_publish(s, upto);
        return 0;
    }
    c.rc = st_engine_begin(s->eng, err, sizeof err);
    if (c.rc == 0 && s->replace) c.rc = st_repl_replace(s, err, sizeof err);
    if (c.rc == 0) st_pending_each(s->pend, to_engine, &c);
    if (c.rc == 0)
        c.rc = st_engine_commit(s->eng, err, sizeof err);
    else
        st_engine_abort(s->eng);
    if (c.rc == 0) {
        st_repl_round(s);
        st_pending_clear(s->pend);
        st_store_batch_free(s->replace);
        s->replace = NULL;
    }
    pthread_mutex_lock(&s->stats_mu);
    if (c.rc == 0) {
        s->stats.rounds++;
        s->stats.writes += c.n;
        s->stats.last_sync_ms = st_wall_ms();
        s->stats.error[0] = 0;
    } else {
        s->stats.failed_rounds++;
        snprintf(s->stats.error, sizeof s->stats.error, "%s", err);
    }
    s->stats.cancelled = st_pending_cancelled(s->pend);
    pthread_mutex_unlock(&s->stats_mu);
    if (c.rc == 0) {
        if (!atomic_exchange(&s->ok, 1)) {
            LOG_NOTICE(s->log, "durable store: writes succeed again");
            st_alarm_clear(s->cfg.alarms, "durable_storage_full");
            st_alarm_clear(s->cfg.alarms, "durable_storage_error");
        }
        st_repl_publish(s, upto);
        s->round_writes = c.n;
    } else {
        if (atomic_exchange(&s->ok, 0)) {
            LOG_ERROR(s->log,
                      "durable store: a commit failed (%s): durable writes are refused until "
                      "one succeeds (tried again every %.1f s)",
                      err, (double)s->cfg.retry_ms / 1000);
            raise_alarm(s, c.rc, err);
        }
        atomic_store(&s->failed, upto);
    }
    return c.rc;
}

/* How long to wait for more: until the retry, the next sync, or (interval 0) for ever. */
static int wait_ms(const st_store *s, int64_t now, int64_t next_sync, int64_t next_retry)
{
    int64_t until = !atomic_load(&s->ok)          ? next_retry
                    : s->cfg.sync_interval_ms > 0 ? next_sync
                                                  : -1;
    if (until < 0) return -1;
    return until > now ? (int)(until - now) : 0;
}

static void *run(void *arg)
{
    st_store *s = arg;
    int64_t interval = s->cfg.sync_interval_ms;
    int64_t next_sync = st_now_ms() + interval, next_retry = 0;
    while (!atomic_load(&s->stopping)) {
        int wait = wait_ms(s, st_now_ms(), next_sync, next_retry);
        struct pollfd p = {s->efd, POLLIN, 0};
        if (wait != 0 && poll(&p, 1, wait) > 0) {
            uint64_t v;
            if (read(s->efd, &v, sizeof v) < 0) {
            }
        }
        int came = take(s);
        if (st_repl_release(s)) wake_all(s); /* the replicas have a gated round */
        int64_t now = st_now_ms();
        int snap = atomic_load(&s->want_snap);
        int due = !atomic_load(&s->ok) ? now >= next_retry
                  : interval <= 0      ? came || snap
                                       : snap || now >= next_sync ||
                                        st_pending_bytes(s->pend) >= ST_STORE_ROUND_BYTES;
        if (!due) continue;
        int rc = commit(s);
        if (rc < 0) next_retry = now + s->cfg.retry_ms;
        if (rc == 0 && snap) st_repl_snapshot(s);
        if (interval > 0) next_sync = now + interval;
        wake_all(s);
        trim(s);
    }
    take(s);
    if (commit(s) < 0) LOG_ERROR(s->log, "durable store: the last writes are lost at stop");
    wake_all(s);
    return NULL;
}

/* ---- open and close ------------------------------------------------------------------- */

static int mkdirs(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s", dir);
    for (char *c = p + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
            *c = '/';
        }
    return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

typedef struct meta {
    char format[16], node[256];
    uint8_t id[ST_STORE_ID_LEN];
    int n, has_id, fresh;
} meta;

static int read_meta(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    meta *m = ctx;
    if (kl == 2 && memcmp(k, "id", 2) == 0 && vl == ST_STORE_ID_LEN) {
        memcpy(m->id, v, vl);
        m->has_id = 1;
        return 0;
    }
    if (kl == 5 && memcmp(k, "fresh", 5) == 0) {
        m->fresh = 1;
        return 0;
    }
    char *dst = kl == 6 && memcmp(k, "format", 6) == 0 ? m->format
                : kl == 4 && memcmp(k, "node", 4) == 0 ? m->node
                                                       : NULL;
    size_t cap = dst == m->format ? sizeof m->format : sizeof m->node;
    if (!dst) return 0;
    snprintf(dst, cap, "%.*s", (int)(vl < cap ? vl : cap - 1), (const char *)v);
    m->n++;
    return 0;
}

int st_store_put_meta(st_store *s, int with_id, char *err, size_t errlen)
{
    char fmt[16];
    int n = snprintf(fmt, sizeof fmt, "%d", ST_STORE_FORMAT);
    int rc = st_engine_put(s->eng, ST_CF_META, "format", 6, fmt, (size_t)n, err, errlen);
    if (rc == 0)
        rc = st_engine_put(s->eng, ST_CF_META, "node", 4, s->cfg.node, strlen(s->cfg.node), err,
                           errlen);
    if (rc == 0 && with_id)
        rc = st_engine_put(s->eng, ST_CF_META, "id", 2, s->id, ST_STORE_ID_LEN, err, errlen);
    return rc;
}

/* A new store gets its meta records (and a store made before stores had an id, its id);
 * an existing one must be this node's, in a format this build reads. */
static int check_meta(st_store *s, char *err, size_t errlen)
{
    meta m = {0};
    st_engine_scan(s->eng, ST_CF_META, read_meta, &m);
    const char *how = "stop the node, move it aside (mv %s %s.old) and start again";
    char fix[1200];
    snprintf(fix, sizeof fix, how, s->cfg.dir, s->cfg.dir);
    if (m.has_id) memcpy(s->id, m.id, sizeof s->id);
    if (m.n == 0 || !m.has_id) {
        char e[160] = "no randomness for its id";
        int rc =
            m.has_id || getrandom(s->id, sizeof s->id, 0) == (ssize_t)sizeof s->id ? 0 : ST_ESYS;
        if (rc == 0) rc = st_engine_begin(s->eng, e, sizeof e);
        if (rc == 0 && m.n == 0) rc = st_store_put_meta(s, 1, e, sizeof e);
        if (rc == 0 && m.n == 0) /* until a copy of an earlier store was looked for */
            rc = st_engine_put(s->eng, ST_CF_META, "fresh", 5, "1", 1, e, sizeof e);
        if (rc == 0 && m.n > 0)
            rc = st_engine_put(s->eng, ST_CF_META, "id", 2, s->id, ST_STORE_ID_LEN, e, sizeof e);
        if (rc == 0) rc = st_engine_commit(s->eng, e, sizeof e);
        if (rc < 0) {
            st_engine_abort(s->eng);
            snprintf(err, errlen, "durable store %s: cannot write: %s", s->cfg.dir, e);
            return rc;
        }
        s->fresh = m.n == 0;
        if (m.n == 0) return 0;
    }
    s->fresh = m.fresh;
    if (strcmp(m.node, s->cfg.node) != 0) {
        snprintf(err, errlen, "durable store %s belongs to node %s, not %s: %s", s->cfg.dir,
                 m.node[0] ? m.node : "(unnamed)", s->cfg.node, fix);
        return ST_ECONFIG;
    }
    char *end;
    long f = strtol(m.format, &end, 10);
    if (*end || f < 1 || f > ST_STORE_FORMAT) {
        snprintf(err, errlen,
                 "durable store %s has format %s, this build reads format %d: run the build "
                 "that wrote it, or %s",
                 s->cfg.dir, m.format[0] ? m.format : "(none)", ST_STORE_FORMAT, fix);
        return ST_ECONFIG;
    }
    return 0;
}

st_store *st_store_open(const st_store_cfg *cfg, const st_log *log, char *err, size_t errlen)
{
    st_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.retry_ms <= 0) s->cfg.retry_ms = ST_STORE_RETRY_MS;
    s->log = log;
    s->efd = -1;
    atomic_store(&s->ok, 1);
    pthread_mutex_init(&s->stats_mu, NULL);
    st_mpsc_init(&s->inbox);
    char why[400];
    int rc = ST_ESYS;
    if (mkdirs(cfg->dir) < 0) {
        snprintf(err, errlen, "durable store %s: cannot create: %s", cfg->dir, strerror(errno));
    } else if (!(s->eng = st_engine_open(cfg->dir, cfg->max_bytes, why, sizeof why))) {
        snprintf(err, errlen,
                 "durable store %s cannot be read (%s): if it is damaged or not a store, stop "
                 "the node, move it aside (mv %s %s.old) and start again",
                 cfg->dir, why, cfg->dir, cfg->dir);
    } else if ((rc = check_meta(s, err, errlen)) == 0) {
        s->pend = st_pending_new();
        s->scratch = st_store_batch_new();
        s->efd = eventfd(0, EFD_CLOEXEC);
        if (s->pend && s->scratch && s->efd >= 0) return s;
        snprintf(err, errlen, "durable store: out of memory");
    }
    st_store_close(s);
    return NULL;
}

int st_store_start(st_store *s)
{
    if (pthread_create(&s->th, NULL, run, s) != 0) return ST_ESYS;
    s->started = 1;
    return 0;
}

void st_store_close(st_store *s)
{
    if (!s) return;
    if (s->started) {
        atomic_store(&s->stopping, 1);
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0) {
        }
        pthread_join(s->th, NULL);
    }
    if (s->pend) take(s); /* batches submitted after the thread ended are dropped */
    st_pending_free(s->pend);
    st_store_batch_free(s->scratch);
    st_store_batch_free(s->replace);
    st_engine_close(s->eng);
    if (s->efd >= 0) close(s->efd);
    pthread_mutex_destroy(&s->stats_mu);
    free(s);
}

const uint8_t *st_store_id(const st_store *s)
{
    return s->id;
}

const char *st_store_dir(const st_store *s)
{
    return s->cfg.dir;
}

int64_t st_store_written_ms(st_store *s)
{
    return st_engine_mtime_ms(s->eng);
}

int st_store_scan(st_store *s, int cf, st_store_scan_fn fn, void *ctx)
{
    return st_engine_scan(s->eng, cf, fn, ctx);
}

int st_store_write_now(st_store *s, st_store_batch *b)
{
    if (b->oom) return ST_ENOMEM;
    int rc = each_record(b, to_pending, s->pend);
    b->len = 0;
    return rc < 0 ? rc : commit(s);
}
