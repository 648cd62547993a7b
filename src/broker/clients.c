/* clients.c — this node's clients for the API (clients.h). */
#include "broker/clients.h"
#include "broker/call.h"
#include "broker/client.h"
#include "broker/settings.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A worker's answer: the `want` matches first in client id order (a max-heap while it is
 * built: v[0] the greatest), and how many matched in all. */
typedef struct found {
    st_client_info *v;
    size_t n, cap, total;
    size_t it; /* where the next slice starts in the worker's table */
} found;

#define SLICE 256 /* sessions looked at between two of the worker's events */

typedef struct list_arg {
    st_client_filter f;
    size_t want;
    int by_id_only; /* f looks at the client id only (what the table's key holds) */
} list_arg;

static void found_free(void *p)
{
    found *f = p;
    if (!f) return;
    st_client_infos_free(f->v, f->n);
    free(f);
}

void st_client_infos_free(st_client_info *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].clientid);
        free(v[i].username);
    }
    free(v);
}

static int match_str(const char *want, const char *have, size_t hlen, int like)
{
    if (!want[0]) return 1;
    if (!have) return 0;
    size_t wl = strlen(want);
    return like ? memmem(have, hlen, want, wl) != NULL : wl == hlen && memcmp(want, have, wl) == 0;
}

/* c's fields (its username borrowed) against f; the client id is cid, len bytes. */
static int matches(const st_client_filter *f, const st_client_info *c, const char *cid, size_t len)
{
    size_t ul = c->username ? strlen(c->username) : 0;
    return match_str(f->clientid, cid, len, 0) && match_str(f->username, c->username, ul, 0) &&
           match_str(f->like_clientid, cid, len, 1) &&
           match_str(f->like_username, c->username, ul, 1) &&
           (!f->ip_address[0] || (c->connected && strcmp(f->ip_address, c->ip_address) == 0)) &&
           (f->connected < 0 || f->connected == c->connected) &&
           (f->proto_ver < 0 || f->proto_ver == c->proto_ver) &&
           (f->clean_start < 0 || (c->connected && f->clean_start == c->clean_start)) &&
           (!f->gte_connected_at || (c->connected && c->connected_at >= f->gte_connected_at)) &&
           (!f->lte_connected_at || (c->connected && c->connected_at <= f->lte_connected_at));
}

/* Session s's fields into o, without allocating (o->username borrows the client's); its
 * address only with peer (a filter on it, or a session kept). */
static void info_of(st_session *s, int64_t mono, int64_t wall, int peer, st_client_info *o)
{
    st_client *c = s->client;
    memset(o, 0, sizeof *o);
    o->listener = -1;
    o->connected = c != NULL;
    o->durable = s->stored;
    o->expiry_interval_s = s->expiry_ms == ST_UNLIMITED ? -1 : s->expiry_ms / 1000;
    o->subscriptions = s->nsubs;
    o->mqueue_len = s->qlen;
    o->inflight = s->ninf;
    o->awaiting_rel = s->nrel;
    o->mqueue_dropped = s->dropped;
    if (c) {
        if (peer) st_client_peer_split(c->peer, o->ip_address, sizeof o->ip_address, &o->port);
        o->proto_ver = c->version;
        o->clean_start = c->clean_start;
        o->keepalive = c->keepalive_s;
        o->listener = c->listener;
        o->connected_at = wall - (mono - c->created);
        o->username = c->x->username;
    } else if (s->expire_at && s->expiry_ms != ST_UNLIMITED) { /* its expiry runs since */
        o->disconnected_at = wall - (s->expiry_ms - (s->expire_at - mono));
    }
}

/* (cid, len) before the NUL-terminated b in client id order? */
static int before(const char *cid, size_t len, const char *b)
{
    size_t bl = strlen(b);
    int c = memcmp(cid, b, len < bl ? len : bl);
    return c < 0 || (c == 0 && len < bl);
}

static void sift_down(st_client_info *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < n && strcmp(v[l].clientid, v[top].clientid) > 0) top = l;
        if (r < n && strcmp(v[r].clientid, v[top].clientid) > 0) top = r;
        if (top == i) return;
        st_client_info t = v[i];
        v[i] = v[top];
        v[top] = t;
        i = top;
    }
}

static void sift_up(st_client_info *v, size_t i)
{
    while (i > 0 && strcmp(v[(i - 1) / 2].clientid, v[i].clientid) < 0) {
        st_client_info t = v[i];
        v[i] = v[(i - 1) / 2];
        v[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* o (its strings borrowed) kept among the `want` first of r: 0, or -1 out of memory. */
static int keep(found *r, size_t want, st_client_info *o, const char *cid, size_t len)
{
    if (r->n == want) { /* full: it takes the greatest one's place, if it comes before it */
        if (!before(cid, len, r->v[0].clientid)) return 0;
        free(r->v[0].clientid);
        free(r->v[0].username);
        r->v[0] = r->v[--r->n];
        sift_down(r->v, r->n, 0);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        st_client_info *nv = realloc(r->v, cap * sizeof *nv);
        if (!nv) return -1;
        r->v = nv;
        r->cap = cap;
    }
    o->clientid = strndup(cid, len);
    o->username = o->username ? strdup(o->username) : NULL;
    if (!o->clientid) {
        free(o->username);
        return -1;
    }
    r->v[r->n] = *o;
    sift_up(r->v, r->n++);
    return 0;
}

/* A worker's part, in slices of SLICE sessions between which it handles its other events
 * (call.h ST_CALL_AGAIN): a listing holds up its deliveries for one slice at a time. Only the
 * sessions kept are copied (docs/operations.md, "Clients"). A session added or removed
 * between two slices may be seen or not. */
static void *list_on(st_worker *w, const void *arg)
{
    const list_arg *a = arg;
    void **state = st_call_state(w);
    found *r = *state;
    if (!r && !(r = *state = calloc(1, sizeof *r))) return NULL;
    int64_t mono = st_loop_now(w->loop), wall = st_wall_ms();
    const char *key;
    size_t klen;
    void *v;
    st_client_info o;
    for (int k = 0; k < SLICE; k++) {
        if (!st_strmap_next(w->by_cid, &r->it, &key, &klen, &v)) return r; /* the whole table */
        if (a->by_id_only) { /* decided on the table's key: the session is not read at all */
            if (!match_str(a->f.clientid, key, klen, 0) ||
                !match_str(a->f.like_clientid, key, klen, 1))
                continue;
            if (!a->want || (r->n == a->want && !before(key, klen, r->v[0].clientid))) {
                r->total++; /* a match, not among the first: counted, not read */
                continue;
            }
        }
        st_session *s = v;
        if (s->arriving || s->leaving) continue;
        info_of(s, mono, wall, a->f.ip_address[0] != 0, &o);
        if (!matches(&a->f, &o, s->cid, s->cid_len)) continue;
        r->total++;
        if (!a->want || (r->n == a->want && !before(s->cid, s->cid_len, r->v[0].clientid)))
            continue; /* not among the first */
        if (!a->f.ip_address[0] && s->client)
            st_client_peer_split(s->client->peer, o.ip_address, sizeof o.ip_address, &o.port);
        if (keep(r, a->want, &o, s->cid, s->cid_len) < 0) return r; /* what fits */
    }
    return ST_CALL_AGAIN;
}

static int by_cid(const void *a, const void *b)
{
    return strcmp(((const st_client_info *)a)->clientid, ((const st_client_info *)b)->clientid);
}

int st_clients_list(st_broker *b, const st_client_filter *f, size_t want, int64_t timeout_ms,
                    st_client_info **out, size_t *n, size_t *total)
{
    *out = NULL;
    *n = *total = 0;
    list_arg *a = malloc(sizeof *a);
    if (!a) return ST_ENOMEM;
    a->f = *f;
    a->want = want;
    a->by_id_only = !f->username[0] && !f->like_username[0] && !f->ip_address[0] &&
                    f->connected < 0 && f->proto_ver < 0 && f->clean_start < 0 &&
                    !f->gte_connected_at && !f->lte_connected_at;
    st_call *c = st_call_post(b, -1, list_on, a, sizeof *a, found_free, NULL);
    free(a);
    if (!c) return ST_ENOMEM;
    int all = st_call_wait(c, timeout_ms);
    size_t kept = 0, k = 0;
    found **part = calloc((size_t)b->nw, sizeof *part);
    if (!part) {
        st_call_release(c);
        return ST_ENOMEM;
    }
    for (int i = 0; i < b->nw; i++) {
        part[i] = all ? st_call_take(c, i) : NULL;
        kept += part[i] ? part[i]->n : 0;
        *total += part[i] ? part[i]->total : 0;
    }
    st_call_release(c);
    st_client_info *v = kept ? malloc(kept * sizeof *v) : NULL;
    for (int i = 0; i < b->nw; i++) {
        if (part[i] && v && part[i]->n) {
            memcpy(v + k, part[i]->v, part[i]->n * sizeof *v);
            k += part[i]->n;
            free(part[i]->v);
            free(part[i]);
        } else {
            found_free(part[i]);
        }
    }
    free(part);
    if (!all) return ST_EAGAIN;
    if (kept && !v) return ST_ENOMEM;
    if (k > 1) qsort(v, k, sizeof *v, by_cid);
    size_t u = 0; /* a session met twice (its table changed between two slices): once */
    for (size_t i = 0; i < k; i++) {
        if (u && strcmp(v[u - 1].clientid, v[i].clientid) == 0) {
            free(v[i].clientid);
            free(v[i].username);
            continue;
        }
        v[u++] = v[i];
    }
    k = u;
    for (size_t i = want; i < k; i++) { /* each worker kept `want`: the first `want` of all */
        free(v[i].clientid);
        free(v[i].username);
    }
    *out = v;
    *n = k < want ? k : want;
    return 0;
}

static void *kick_on(st_worker *w, const void *arg)
{
    const char *cid = arg;
    st_session *s = st_strmap_get(w->by_cid, cid, strlen(cid));
    if (!s || s->arriving || s->leaving) return NULL;
    LOG_NOTICE(w->log, "client %s: kicked out by an operator: its session ends", s->cid);
    if (s->client) st_session_take_over(w, s, MQTT_RC_ADMIN_ACTION);
    st_worker_session_end(w, s); /* its will goes (the client did not end it) */
    return (void *)1;
}

int st_clients_kick(st_broker *b, const char *cid, size_t len, int64_t timeout_ms)
{
    char *arg = strndup(cid, len);
    if (!arg) return ST_ENOMEM;
    int rc;
    int done = st_call_one(b, st_worker_for(b, cid, len), kick_on, arg, len + 1, NULL, NULL,
                           timeout_ms, &rc) != NULL;
    free(arg);
    return rc < 0 ? rc : done;
}

/* ---- a session's messages ---------------------------------------------------------------- */

typedef struct msgs_arg {
    int inflight;
    size_t from, limit;
    char cid[];
} msgs_arg;

typedef struct msgs_found {
    int here;
    size_t n, total;
    st_client_msg v[];
} msgs_found;

void st_client_msgs_free(st_client_msg *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].msg) st_msg_unref(v[i].msg);
    free(v);
}

static void msgs_found_free(void *p)
{
    msgs_found *f = p;
    for (size_t i = 0; f && i < f->n; i++)
        if (f->v[i].msg) st_msg_unref(f->v[i].msg);
    free(f);
}

static void *msgs_on(st_worker *w, const void *arg)
{
    const msgs_arg *a = arg;
    st_session *s = st_strmap_get(w->by_cid, a->cid, strlen(a->cid));
    size_t total = !s ? 0 : a->inflight ? s->ninf : s->qlen;
    size_t n = a->from < total ? total - a->from : 0;
    n = n < a->limit ? n : a->limit;
    msgs_found *f = calloc(1, sizeof *f + n * sizeof f->v[0]);
    if (!f) return NULL;
    f->here = s && !s->arriving && !s->leaving;
    f->total = f->here ? total : 0;
    for (size_t i = 0; f->here && i < n; i++) {
        size_t k = a->from + i;
        const st_qitem *it = a->inflight ? &s->inf[k].it : &s->q[(s->qhead + k) % s->qcap];
        f->v[i] = (st_client_msg){it->msg ? st_msg_ref(it->msg) : NULL, it->qos,
                                  a->inflight ? s->inf[k].pid : 0};
        f->n++;
    }
    return f;
}

int st_client_msgs(st_broker *b, const char *cid, int inflight, size_t from, size_t limit,
                   int64_t timeout_ms, st_client_msg **out, size_t *n, size_t *total)
{
    size_t len = strlen(cid);
    msgs_arg *a = calloc(1, sizeof *a + len + 1);
    *out = NULL;
    *n = *total = 0;
    if (!a) return ST_ENOMEM;
    a->inflight = inflight;
    a->from = from;
    a->limit = limit;
    memcpy(a->cid, cid, len + 1);
    int rc;
    msgs_found *f = st_call_one(b, st_worker_for(b, cid, len), msgs_on, a, sizeof *a + len + 1,
                                msgs_found_free, NULL, timeout_ms, &rc);
    free(a);
    if (!f) return rc < 0 ? rc : ST_ENOMEM;
    int here = f->here;
    *total = f->total;
    if (f->n && (*out = malloc(f->n * sizeof **out)) != NULL) {
        memcpy(*out, f->v, f->n * sizeof **out);
        *n = f->n;
        f->n = 0; /* the references moved */
    }
    msgs_found_free(f);
    return here;
}
