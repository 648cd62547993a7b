/* subsapi.c — the sessions' subscriptions for the API (subsapi.h). */
#include "broker/subsapi.h"
#include "broker/call.h"
#include "broker/client.h"
#include "broker/durable.h"
#include "core/err.h"
#include "route/trie.h"

#include <stdlib.h>
#include <string.h>

typedef struct subs_found {
    st_sub_info *v;
    size_t n, cap;
    int here; /* st_client_subs: the session is on this worker */
} subs_found;

void st_sub_infos_free(st_sub_info *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].clientid);
        free(v[i].topic);
    }
    free(v);
}

static void found_free(void *p)
{
    subs_found *f = p;
    if (!f) return;
    st_sub_infos_free(f->v, f->n);
    free(f);
}

/* Does filter sr (as subscribed) pass f? */
static int passes(const st_sub_filter *f, const st_session *s, const st_subrec *sr)
{
    const char *g = NULL, *real = sr->filter;
    size_t glen = 0, rlen = sr->len;
    int shared = st_share_parse(sr->filter, sr->len, &g, &glen, &real, &rlen) == 1;
    if (f->clientid[0] &&
        (strlen(f->clientid) != s->cid_len || memcmp(f->clientid, s->cid, s->cid_len) != 0))
        return 0;
    if (f->topic[0] && (strlen(f->topic) != sr->len || memcmp(f->topic, sr->filter, sr->len)))
        return 0;
    if (f->qos >= 0 && f->qos != sr->qos) return 0;
    if (f->share_group[0] &&
        (!shared || strlen(f->share_group) != glen || memcmp(f->share_group, g, glen) != 0))
        return 0;
    return !f->match_topic[0] ||
           st_topic_match(real, rlen, f->match_topic, strlen(f->match_topic)) == 1;
}

static int add(subs_found *r, const st_session *s, const st_subrec *sr)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        st_sub_info *v = realloc(r->v, cap * sizeof *v);
        if (!v) return -1;
        r->v = v;
        r->cap = cap;
    }
    st_sub_info *o = &r->v[r->n];
    *o = (st_sub_info){strndup(s->cid, s->cid_len), strndup(sr->filter, sr->len), sr->qos,
                       !!(sr->flags & ST_SUB_NL),   !!(sr->flags & ST_SUB_RAP),   s->stored};
    if (!o->clientid || !o->topic) {
        free(o->clientid);
        free(o->topic);
        return -1;
    }
    r->n++;
    return 0;
}

static void *list_on(st_worker *w, const void *arg)
{
    const st_sub_filter *f = arg;
    subs_found *r = calloc(1, sizeof *r);
    size_t it = 0;
    void *v;
    while (r && st_strmap_next(w->by_cid, &it, NULL, NULL, &v)) {
        st_session *s = v;
        if (s->arriving || s->leaving) continue;
        for (uint32_t i = 0; i < s->nsubs; i++)
            if (passes(f, s, &s->subs[i]) && add(r, s, &s->subs[i]) < 0) return r; /* what fits */
    }
    return r;
}

static int by_client_topic(const void *x, const void *y)
{
    const st_sub_info *a = x, *b = y;
    int c = strcmp(a->clientid, b->clientid);
    return c ? c : strcmp(a->topic, b->topic);
}

/* Every worker's (only: one worker's) answers joined, sorted. */
static int gather(st_broker *b, int only, st_call_fn fn, const void *arg, size_t len,
                  int64_t timeout_ms, st_sub_info **out, size_t *n, int *here)
{
    *out = NULL;
    *n = 0;
    st_call *c = st_call_post(b, only, fn, arg, len, found_free, NULL);
    if (!c) return ST_ENOMEM;
    int all = st_call_wait(c, timeout_ms), rc = all ? 0 : ST_EAGAIN;
    for (int i = 0; all && i < b->nw; i++) {
        subs_found *p = st_call_take(c, i);
        if (!p) continue;
        *here |= p->here;
        st_sub_info *v = p->n ? realloc(*out, (*n + p->n) * sizeof *v) : *out;
        if (p->n && !v) {
            rc = ST_ENOMEM;
            found_free(p);
            continue;
        }
        if (p->n) memcpy(v + *n, p->v, p->n * sizeof *v);
        *out = v;
        *n += p->n;
        free(p->v);
        free(p);
    }
    st_call_release(c);
    if (*n > 1) qsort(*out, *n, sizeof **out, by_client_topic);
    return rc;
}

int st_subs_list_api(st_broker *b, const st_sub_filter *f, int64_t timeout_ms, st_sub_info **out,
                     size_t *n)
{
    int here = 0;
    return gather(b, -1, list_on, f, sizeof *f, timeout_ms, out, n, &here);
}

static void *client_on(st_worker *w, const void *arg)
{
    const char *cid = arg;
    subs_found *r = calloc(1, sizeof *r);
    st_session *s = st_strmap_get(w->by_cid, cid, strlen(cid));
    if (!r || !s || s->arriving || s->leaving) return r;
    r->here = 1;
    for (uint32_t i = 0; i < s->nsubs; i++)
        if (add(r, s, &s->subs[i]) < 0) break;
    return r;
}

int st_client_subs(st_broker *b, const char *cid, int64_t timeout_ms, st_sub_info **out, size_t *n)
{
    int here = 0;
    int rc = gather(b, st_worker_for(b, cid, strlen(cid)), client_on, cid, strlen(cid) + 1,
                    timeout_ms, out, n, &here);
    return rc < 0 ? rc : here;
}

/* ---- changes -------------------------------------------------------------------------- */

typedef struct change {
    int qos, nl, rap, rh, unsub;
    char f[1024];
    char cid[];
} change;

static void *change_on(st_worker *w, const void *arg)
{
    const change *ch = arg;
    int *rc = malloc(sizeof *rc);
    st_session *s = st_strmap_get(w->by_cid, ch->cid, strlen(ch->cid));
    if (!rc) return NULL;
    size_t len = strlen(ch->f);
    if (!s || s->arriving || s->leaving) {
        *rc = ST_ENOENT;
    } else if (ch->unsub) {
        *rc = st_session_unsubscribe(w, s, ch->f, len) ? 0 : MQTT_RC_NO_SUBSCRIPTION_EXISTED;
    } else {
        mqtt_subopts o = {(uint8_t)ch->qos, (uint8_t)ch->nl, (uint8_t)ch->rap, (uint8_t)ch->rh};
        int created = 0;
        *rc = st_session_subscribe(w, s, ch->f, len, &o, 0, &created);
        if (*rc < 0x80 && (ch->rh == 0 || (ch->rh == 1 && created)))
            st_session_send_retained(w, s, ch->f, len, (uint8_t)*rc, 0);
    }
    if (s && *rc != ST_ENOENT) st_durable_session(w, s, !s->client);
    return rc;
}

int st_client_subscribe(st_broker *b, const char *cid, const char *f, int qos, int nl, int rap,
                        int rh, int unsub, int64_t timeout_ms)
{
    const char *g, *real = f;
    size_t glen, rlen = strlen(f), clen = strlen(cid);
    int shared = st_share_parse(f, rlen, &g, &glen, &real, &rlen);
    if (strlen(f) >= sizeof((change *)0)->f ||
        mqtt_topic_filter_check((const uint8_t *)f, strlen(f)) != 0 || shared < 0 ||
        (shared && !b->cfg.shared_subscription) || (shared && nl))
        return MQTT_RC_TOPIC_FILTER_INVALID;
    change *ch = calloc(1, sizeof *ch + clen + 1);
    if (!ch) return ST_ENOMEM;
    *ch = (change){.qos = qos, .nl = nl, .rap = rap, .rh = rh, .unsub = unsub};
    memcpy(ch->f, f, strlen(f) + 1);
    memcpy(ch->cid, cid, clen + 1);
    int rc;
    int *r = st_call_one(b, st_worker_for(b, cid, clen), change_on, ch, sizeof *ch + clen + 1, free,
                         NULL, timeout_ms, &rc);
    free(ch);
    if (r)
        rc = *r;
    else if (rc == 0)
        rc = ST_ENOMEM;
    free(r);
    return rc;
}
