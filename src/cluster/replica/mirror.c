/* mirror.c — the other nodes' stores kept here (replica.h): a store per owner in
 * node.data_dir/replicas/<owner>, replaced by each snapshot and written by each round that
 * follows the last one it has; REPL_ACK once a round is on disk. The cluster thread, but
 * for the stores' wakes (their threads). */
#include "cluster/replica/internal.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_settled(void *ctx)
{
    st_replica *r = ctx;
    if (atomic_load(&r->started)) uv_async_send(&r->async);
}

typedef struct owner_id {
    uint8_t *id;
    int found;
} owner_id;

static int read_owner_id(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    owner_id *o = ctx;
    if (kl == 8 && memcmp(k, "owner_id", 8) == 0 && vl == CW_STORE_ID) {
        memcpy(o->id, v, CW_STORE_ID);
        o->found = 1;
    }
    return 0;
}

int rp_owner_id(st_store *s, uint8_t id[CW_STORE_ID])
{
    owner_id o = {id, 0};
    st_store_scan(s, ST_CF_META, read_owner_id, &o);
    return o.found;
}

rp_mirror *rp_mirror_find(st_replica *r, const char *owner)
{
    for (rp_mirror *m = r->mirrors; m; m = m->next)
        if (strcmp(m->owner, owner) == 0) return m;
    return NULL;
}

static rp_mirror *open_mirror(st_replica *r, const char *owner)
{
    rp_mirror *found = rp_mirror_find(r, owner);
    if (found) return found;
    st_store_cfg cfg = {0};
    char err[1200] = "cannot start its store", dir[1024];
    int len = snprintf(dir, sizeof dir, "%s/replicas/%s", r->env.data_dir, owner);
    if (len < 0 || (size_t)len >= sizeof cfg.dir) {
        LOG_ERROR(r->env.log, "replicas: cannot keep %s's copy: %s is too long a path", owner, dir);
        return NULL;
    }
    memcpy(cfg.dir, dir, (size_t)len + 1);
    rp_mirror *m = calloc(1, sizeof *m);
    snprintf(cfg.node, sizeof cfg.node, "%s", owner);
    cfg.max_bytes = r->env.max_bytes;
    if (!m || !(m->part = st_store_batch_new()) ||
        !(m->store = st_store_open(&cfg, r->env.log, err, sizeof err)) ||
        st_store_on_settled(m->store, on_settled, r) < 0 || st_store_start(m->store) < 0) {
        LOG_ERROR(r->env.log, "replicas: cannot keep %s's copy: %s", owner,
                  m && m->part ? err : "out of memory");
        if (m) st_store_close(m->store), st_store_batch_free(m->part);
        free(m);
        return NULL;
    }
    snprintf(m->owner, sizeof m->owner, "%s", owner);
    memcpy(m->dir, cfg.dir, sizeof m->dir);
    m->has_owner_store = rp_owner_id(m->store, m->owner_store);
    pthread_mutex_lock(&r->mu);
    m->next = r->mirrors;
    r->mirrors = m;
    pthread_mutex_unlock(&r->mu);
    LOG_INFO(r->env.log, "replicas: keeping a copy of %s's durable store in %s", owner, cfg.dir);
    return m;
}

static void send_ack(st_replica *r, const char *owner, uint64_t boot, uint64_t round, int status)
{
    st_peer *p = st_links_peer(r->env.links, owner, 0);
    st_link *l = p ? st_peer_link(p) : NULL;
    uint8_t frame[64];
    cw_repl_ack a = {boot, round, (uint8_t)status};
    size_t n = cw_encode_repl_ack(&a, frame, sizeof frame);
    if (l && n <= sizeof frame) st_link_send(l, frame, n);
}

static void owe(st_replica *r, rp_mirror *m, uint64_t ticket)
{
    if (m->nowed == m->capowed) {
        size_t cap = m->capowed ? 2 * m->capowed : 8;
        rp_owed *o = realloc(m->owed, cap * sizeof *o);
        if (!o) return; /* no ack for it: a later one covers it */
        m->owed = o;
        m->capowed = cap;
    }
    m->owed[m->nowed++] = (rp_owed){ticket, m->boot, m->round};
    (void)r;
}

static void reset_part(rp_mirror *m, int kind, uint64_t boot, uint64_t round)
{
    st_store_batch_free(m->part);
    m->part = st_store_batch_new();
    m->part_kind = kind;
    m->part_boot = boot;
    m->part_round = round;
}

static int any_record(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    *(int *)ctx = 1;
    return 1; /* one is enough */
}

static void unlink_mirror(st_replica *r, rp_mirror *m)
{
    pthread_mutex_lock(&r->mu);
    for (rp_mirror **pp = &r->mirrors; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    pthread_mutex_unlock(&r->mu);
    st_store_close(m->store);
    st_store_batch_free(m->part);
    free(m->owed);
    free(m);
}

/* A snapshot of another store of the owner (its data dir was made anew) would replace a
 * copy that may be the only one left of its sessions: that copy is kept aside, in
 * <dir>.<its store id>, and a new one begins. */
static rp_mirror *keep_aside(st_replica *r, rp_mirror *m, const cw_repl *p)
{
    int data = 0;
    if (!m->has_owner_store || memcmp(m->owner_store, p->store, CW_STORE_ID) == 0) return m;
    st_store_scan(m->store, ST_CF_SESSIONS, any_record, &data);
    if (!data) return m;
    char owner[256], to[600];
    int n = snprintf(to, sizeof to, "%s.", m->dir);
    for (int i = 0; i < CW_STORE_ID && n > 0 && (size_t)n + 2 < sizeof to; i++)
        n += snprintf(to + n, sizeof to - (size_t)n, "%02x", m->owner_store[i]);
    memcpy(owner, m->owner, sizeof owner);
    char from[512];
    memcpy(from, m->dir, sizeof from);
    unlink_mirror(r, m); /* its store is closed: the files can move */
    if (rename(from, to) < 0) {
        LOG_ERROR(r->env.log,
                  "replicas: %s's data dir was made anew, and its old copy could not be kept "
                  "aside (%s -> %s: %s): it is replaced",
                  owner, from, to, strerror(errno));
    } else {
        LOG_WARN(r->env.log,
                 "replicas: %s's data dir was made anew (another store id): the copy of its old "
                 "store, with its sessions, is kept in %s",
                 owner, to);
    }
    return open_mirror(r, owner);
}

void rp_mirror_piece(st_replica *r, const char *owner, const cw_repl *p)
{
    rp_mirror *m = open_mirror(r, owner);
    if (m && p->kind == CW_REPL_SNAP) m = keep_aside(r, m, p);
    if (!m) return;
    if (m->part_kind != p->kind || m->part_boot != p->boot || m->part_round != p->round)
        reset_part(m, p->kind, p->boot, p->round);
    if (!m->part || st_store_put_records(m->part, p->body.p, p->body.len) < 0) {
        reset_part(m, 0, 0, 0);
        send_ack(r, owner, p->boot, p->round, 1);
        return;
    }
    if (!(p->flags & CW_REPL_END)) return;
    int snap = p->kind == CW_REPL_SNAP;
    if (!snap && !(m->have && p->boot == m->boot && p->round == m->round + 1)) {
        reset_part(m, 0, 0, 0); /* not the round after the last it has */
        send_ack(r, owner, p->boot, p->round, 1);
        return;
    }
    if (snap && st_store_put(m->part, ST_CF_META, "owner_id", 8, p->store, CW_STORE_ID, 0) < 0) {
        reset_part(m, 0, 0, 0);
        return; /* no memory: the owner's holder lags, and tries again */
    }
    pthread_mutex_lock(&r->mu);
    m->boot = p->boot;
    m->round = p->round;
    m->have = 1;
    if (snap) memcpy(m->owner_store, p->store, CW_STORE_ID), m->has_owner_store = 1;
    pthread_mutex_unlock(&r->mu);
    uint64_t t = snap ? st_store_submit_replace(m->store, &m->part)
                      : st_store_submit(m->store, &m->part); /* m->part: a new empty batch */
    owe(r, m, t);
    m->part_kind = 0;
    m->part_boot = m->part_round = 0;
}

/* ---- a gone owner's copy, for its adoption ------------------------------------------------ */

/* Its mirror, opened from node.data_dir/replicas/<owner> if it is on disk only (a copy kept
 * before this process started); NULL: none here. */
static rp_mirror *mirror_of(st_replica *r, const char *owner)
{
    rp_mirror *m = rp_mirror_find(r, owner);
    char path[1024];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/replicas/%s/data.mdb", r->env.data_dir, owner);
    if (m || n < 0 || (size_t)n >= sizeof path || stat(path, &st) < 0) return m;
    return open_mirror(r, owner);
}

int st_replica_has_copy(st_replica *r, const char *owner)
{
    rp_mirror *m = mirror_of(r, owner);
    return m && rp_count_sessions(m->store) > 0;
}

int st_replica_take(st_replica *r, const char *owner, st_store_batch *b, int64_t *written)
{
    rp_mirror *m = mirror_of(r, owner);
    if (!m) return 0;
    *written = st_store_written_ms(m->store);
    int rc = st_store_dump(m->store, b);
    return rc < 0 ? rc : 1;
}

void st_replica_adopted(st_replica *r, const char *owner)
{
    rp_mirror *m = rp_mirror_find(r, owner);
    if (!m) return;
    char from[512], to[600];
    memcpy(from, m->dir, sizeof from);
    snprintf(to, sizeof to, "%s.adopted-%lld", from, (long long)st_wall_ms());
    unlink_mirror(r, m); /* its store is closed: the files can move */
    if (rename(from, to) < 0)
        LOG_ERROR(r->env.log, "replicas: the copy of %s's store (taken over) stays in %s: %s",
                  owner, from, strerror(errno));
    else
        LOG_NOTICE(r->env.log, "replicas: the copy of %s's store (taken over) is kept in %s", owner,
                   to);
}

void rp_mirror_settle(st_replica *r)
{
    for (rp_mirror *m = r->mirrors; m; m = m->next) {
        uint64_t durable = st_store_durable(m->store);
        size_t k = 0;
        while (k < m->nowed && m->owed[k].ticket <= durable)
            k++;
        if (k == 0) continue;
        const rp_owed *last = &m->owed[k - 1];
        send_ack(r, m->owner, last->boot, last->round, 0);
        memmove(m->owed, m->owed + k, (m->nowed - k) * sizeof *m->owed);
        m->nowed -= k;
    }
}

void rp_mirrors_close(st_replica *r)
{
    while (r->mirrors)
        unlink_mirror(r, r->mirrors);
}

static int count_sessions(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)v, (void)vl;
    long *n = ctx;
    if (!memchr(k, 0, kl)) (*n)++; /* a session, not one of its QoS 2 ids */
    return 0;
}

static int count_all(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(long *)ctx)++;
    return 0;
}

long rp_count_sessions(st_store *s)
{
    long n = 0;
    st_store_scan(s, ST_CF_SESSIONS, count_sessions, &n);
    return n;
}

/* Under r->mu (the API's thread): LMDB's read transactions run beside the store's writes. */
void rp_mirror_info(st_replica *r, st_replica_mirror *out, size_t maxm, size_t *n)
{
    *n = 0;
    for (rp_mirror *m = r->mirrors; m; m = m->next, (*n)++) {
        if (*n >= maxm) continue;
        st_replica_mirror *o = &out[*n];
        memset(o, 0, sizeof *o);
        snprintf(o->owner, sizeof o->owner, "%s", m->owner);
        o->round = m->round;
        o->sessions = rp_count_sessions(m->store);
        st_store_scan(m->store, ST_CF_MSGS, count_all, &o->messages);
        st_store_stats st;
        st_store_stats_get(m->store, &st);
        o->disk_bytes = st.disk_bytes;
    }
}
