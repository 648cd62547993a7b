/* session.c — session data operations. Arrays are allocated on first use and small
 * (a typical session has one subscription and an empty queue), so an idle session
 * costs its struct, its client id and its subscription records. */
#include "broker/session.h"
#include "core/err.h"
#include "broker/settings.h"

#include <stdlib.h>
#include <string.h>

st_session *st_session_new(uint64_t sid, const char *cid, size_t len)
{
    st_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cid = malloc(len + 1);
    if (!s->cid) {
        free(s);
        return NULL;
    }
    memcpy(s->cid, cid, len);
    s->cid[len] = 0;
    s->cid_len = (uint16_t)len;
    s->sid = sid;
    s->next_pid = 1;
    return s;
}

void st_qitem_release(st_qitem *it)
{
    st_msg_unref(it->msg);
    st_sharekey_unref(it->share);
    it->msg = NULL;
    it->share = NULL;
}

void st_session_free(st_session *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->nsubs; i++)
        free(s->subs[i].filter);
    free(s->subs);
    st_qitem it;
    while (st_session_dequeue(s, &it))
        st_qitem_release(&it);
    free(s->q);
    for (uint32_t i = 0; i < s->ninf; i++)
        st_qitem_release(&s->inf[i].it);
    free(s->inf);
    free(s->rel);
    st_msg_unref(s->will);
    free(s->cid);
    free(s);
}

st_subrec *st_session_sub_find(st_session *s, const char *filter, size_t len)
{
    for (uint32_t i = 0; i < s->nsubs; i++)
        if (s->subs[i].len == len && memcmp(s->subs[i].filter, filter, len) == 0)
            return &s->subs[i];
    return NULL;
}

st_subrec *st_session_sub_put(st_session *s, const char *filter, size_t len, int *created)
{
    st_subrec *r = st_session_sub_find(s, filter, len);
    *created = 0;
    if (r) return r;
    if (s->nsubs == s->capsubs) {
        uint32_t nc = s->capsubs ? s->capsubs * 2 : 1;
        st_subrec *v = realloc(s->subs, nc * sizeof *v);
        if (!v) return NULL;
        s->subs = v;
        s->capsubs = nc;
    }
    r = &s->subs[s->nsubs];
    memset(r, 0, sizeof *r);
    r->filter = malloc(len + 1);
    if (!r->filter) return NULL;
    memcpy(r->filter, filter, len);
    r->filter[len] = 0;
    r->len = (uint16_t)len;
    s->nsubs++;
    *created = 1;
    return r;
}

int st_session_sub_del(st_session *s, const char *filter, size_t len)
{
    st_subrec *r = st_session_sub_find(s, filter, len);
    if (!r) return 0;
    free(r->filter);
    *r = s->subs[--s->nsubs];
    if (s->nsubs == 0) {
        free(s->subs);
        s->subs = NULL;
        s->capsubs = 0;
    }
    return 1;
}

static int queue_grow(st_session *s)
{
    uint32_t nc = s->qcap ? s->qcap * 2 : 8;
    st_qitem *v = malloc(nc * sizeof *v);
    if (!v) return ST_ENOMEM;
    for (uint32_t i = 0; i < s->qlen; i++)
        v[i] = s->q[(s->qhead + i) % s->qcap];
    free(s->q);
    s->q = v;
    s->qcap = nc;
    s->qhead = 0;
    return 0;
}

int st_session_enqueue(st_session *s, const st_qitem *it, int64_t max_len, st_qitem *dropped)
{
    dropped->msg = NULL;
    dropped->share = NULL;
    if (max_len != ST_UNLIMITED && max_len > 0 && s->qlen >= (uint64_t)max_len)
        st_session_drop_oldest(s, dropped);
    if (s->qlen == s->qcap && queue_grow(s) < 0) return ST_ENOMEM;
    s->q[(s->qhead + s->qlen) % s->qcap] = *it;
    s->qlen++;
    return 0;
}

void st_session_drop_oldest(st_session *s, st_qitem *out)
{
    st_session_dequeue(s, out);
    s->dropped++;
}

int st_session_dequeue(st_session *s, st_qitem *out)
{
    if (!s->qlen) return 0;
    *out = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    if (!s->qlen) {
        free(s->q);
        s->q = NULL;
        s->qcap = 0;
        s->qhead = 0;
    }
    return 1;
}

uint16_t st_session_next_pid(st_session *s)
{
    for (;;) {
        uint16_t pid = s->next_pid++;
        if (s->next_pid == 0) s->next_pid = 1;
        if (pid && !st_session_inflight_find(s, pid)) return pid;
    }
}

st_inflight *st_session_inflight_add(st_session *s)
{
    if (s->ninf == s->capinf) {
        uint32_t nc = s->capinf ? s->capinf * 2 : 4;
        st_inflight *v = realloc(s->inf, nc * sizeof *v);
        if (!v) return NULL;
        s->inf = v;
        s->capinf = nc;
    }
    st_inflight *f = &s->inf[s->ninf++];
    memset(f, 0, sizeof *f);
    return f;
}

st_inflight *st_session_inflight_find(st_session *s, uint16_t pid)
{
    for (uint32_t i = 0; i < s->ninf; i++)
        if (s->inf[i].pid == pid) return &s->inf[i];
    return NULL;
}

void st_session_inflight_del(st_session *s, st_inflight *f)
{
    size_t i = (size_t)(f - s->inf);
    memmove(&s->inf[i], &s->inf[i + 1], (s->ninf - i - 1) * sizeof *f);
    s->ninf--;
    if (!s->ninf) {
        free(s->inf);
        s->inf = NULL;
        s->capinf = 0;
    }
}

int st_session_rel_find(const st_session *s, uint16_t pid)
{
    for (uint32_t i = 0; i < s->nrel; i++)
        if (s->rel[i].pid == pid) return (int)i;
    return -1;
}

int st_session_rel_add(st_session *s, uint16_t pid, int64_t now)
{
    if (s->nrel == s->caprel) {
        uint32_t nc = s->caprel ? s->caprel * 2 : 4;
        st_relwait *v = realloc(s->rel, nc * sizeof *v);
        if (!v) return ST_ENOMEM;
        s->rel = v;
        s->caprel = nc;
    }
    s->rel[s->nrel++] = (st_relwait){pid, now};
    return 0;
}

int st_session_rel_del(st_session *s, uint16_t pid)
{
    int i = st_session_rel_find(s, pid);
    if (i < 0) return 0;
    s->rel[i] = s->rel[--s->nrel];
    if (!s->nrel) {
        free(s->rel);
        s->rel = NULL;
        s->caprel = 0;
    }
    return 1;
}

void st_session_set_will(st_session *s, st_msg *will, uint32_t delay_s)
{
    st_session_clear_will(s);
    s->will = will;
    s->will_delay_s = delay_s;
}

void st_session_clear_will(st_session *s)
{
    st_msg_unref(s->will);
    s->will = NULL;
    s->will_at = 0;
}
