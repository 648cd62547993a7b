/* ask.c — the API's questions to every node (ask.h). A question is shared by the asker and
 * the cluster thread (a reference each, under its mutex); the answers go straight into the
 * asker's array as they arrive, until the asker stops waiting. */
#include "cluster/ask.h"
#include "cluster/links/links.h"
#include "core/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASK_MAX_ARG 4096

struct st_ask {
    uint64_t id;
    uint8_t what;
    char arg[ASK_MAX_ARG];
    size_t arglen;
    int64_t timeout_ms, deadline; /* deadline: the cluster thread's clock */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int sent, pending, over; /* over: the asker stopped waiting, or the time is up */
    st_answer *out;
    size_t n, max;
    st_ask *next; /* the cluster thread's open questions */
};

struct st_asks {
    st_asks_env env;
    pthread_mutex_t amu; /* the answerer may change (the API stops before the cluster) */
    st_answer_fn answer;
    void *actx;
    st_answer_fn own; /* what >= ST_ASK_OWN */
    void *octx;
    uint64_t next_id;
    st_ask *open; /* the cluster thread's */
};

static void unref(st_ask *q)
{
    pthread_mutex_lock(&q->mu);
    int last = --q->refs == 0;
    pthread_mutex_unlock(&q->mu);
    if (!last) return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}

/* The cluster thread lets go of q: no more answers will come. */
static void finish(st_asks *a, st_ask *q)
{
    for (st_ask **pp = &a->open; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    pthread_mutex_lock(&q->mu);
    q->over = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    unref(q);
}

static void add_answer(st_ask *q, const char *node, const uint8_t *body, size_t len)
{
    if (q->n >= q->max) return;
    st_answer *ans = &q->out[q->n];
    ans->body = malloc(len + 1);
    if (!ans->body) return;
    memcpy(ans->body, body, len);
    ans->body[len] = 0;
    ans->len = len;
    snprintf(ans->node, sizeof ans->node, "%s", node);
    q->n++;
}

static char *answer(st_asks *a, uint8_t what, const char *arg, size_t arglen, size_t *len)
{
    if (what >= ST_ASK_OWN) return a->own ? a->own(a->octx, what, arg, arglen, len) : NULL;
    pthread_mutex_lock(&a->amu);
    char *body = a->answer ? a->answer(a->actx, what, arg, arglen, len) : NULL;
    pthread_mutex_unlock(&a->amu);
    return body;
}

/* ASK from a peer: the answerer's words, or status 1 for a question it does not know. */
static void on_ask(void *owner, st_link *l, const cw_frame *f)
{
    st_asks *a = owner;
    cw_ask q;
    if (cw_decode_ask(CW_ASK, f->body, &q) < 0) return;
    size_t len = 0;
    char *body = answer(a, q.what, (const char *)q.body.p, q.body.len, &len);
    cw_ask r = {q.id, q.what, body ? 0 : 1, {(const uint8_t *)(body ? body : ""), (uint32_t)len}};
    size_t n = cw_encode_ask(CW_ANSWER, &r, NULL, 0);
    uint8_t *frame = malloc(n);
    if (frame) {
        cw_encode_ask(CW_ANSWER, &r, frame, n);
        st_link_send(l, frame, n);
    }
    free(frame);
    free(body);
}

static void on_answer(void *owner, st_link *l, const cw_frame *f)
{
    st_asks *a = owner;
    cw_ask r;
    if (cw_decode_ask(CW_ANSWER, f->body, &r) < 0) return;
    for (st_ask *q = a->open; q; q = q->next) {
        if (q->id != r.id) continue;
        pthread_mutex_lock(&q->mu);
        if (r.status == 0 && !q->over) add_answer(q, st_link_peer_name(l), r.body.p, r.body.len);
        int done = --q->pending <= 0;
        pthread_mutex_unlock(&q->mu);
        if (done) finish(a, q);
        return;
    }
}

st_asks *st_asks_new(const st_asks_env *env)
{
    st_asks *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->env = *env;
    pthread_mutex_init(&a->amu, NULL);
    st_links_on_frame(env->links, CW_ASK, on_ask, a);
    st_links_on_frame(env->links, CW_ANSWER, on_answer, a);
    return a;
}

void st_asks_free(st_asks *a)
{
    if (!a) return;
    pthread_mutex_destroy(&a->amu);
    free(a);
}

void st_asks_answerer(st_asks *a, st_answer_fn fn, void *ctx)
{
    pthread_mutex_lock(&a->amu);
    a->answer = fn;
    a->actx = ctx;
    pthread_mutex_unlock(&a->amu);
}

void st_asks_own(st_asks *a, st_answer_fn fn, void *ctx)
{
    a->own = fn;
    a->octx = ctx;
}

st_ask *st_ask_new(st_asks *a, uint8_t what, const char *arg, size_t arglen, st_answer *out,
                   size_t max, int64_t timeout_ms)
{
    (void)a;
    if (arglen > ASK_MAX_ARG || !max) return NULL;
    st_ask *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->what = what;
    memcpy(q->arg, arg, arglen);
    q->arglen = arglen;
    q->timeout_ms = timeout_ms;
    q->out = out;
    q->max = max;
    q->refs = 2;
    pthread_mutex_init(&q->mu, NULL);
    st_cond_init_mono(&q->cv);
    return q;
}

void st_asks_send(st_asks *a, st_ask *q, int64_t now)
{
    cw_ask m = {++a->next_id, q->what, 0, {(const uint8_t *)q->arg, (uint32_t)q->arglen}};
    size_t n = cw_encode_ask(CW_ASK, &m, NULL, 0);
    uint8_t *frame = malloc(n);
    int asked = 0;
    if (frame) cw_encode_ask(CW_ASK, &m, frame, n);
    for (int i = 0; frame && i < st_links_npeers(a->env.links); i++) {
        st_peer *p = st_links_peer_at(a->env.links, i);
        st_link *l = st_peer_link(p);
        if (!l || !a->env.is_member(a->env.ctx, p->name)) continue;
        st_link_send(l, frame, n);
        asked++;
    }
    free(frame);
    q->id = m.id;
    q->deadline = now + q->timeout_ms;
    q->next = a->open;
    a->open = q;
    pthread_mutex_lock(&q->mu);
    q->sent = 1;
    q->pending = asked;
    pthread_mutex_unlock(&q->mu);
    if (!asked) finish(a, q);
}

void st_asks_tick(st_asks *a, int64_t now)
{
    for (st_ask *q = a->open, *next; q; q = next) {
        next = q->next;
        if (now >= q->deadline) {
            LOG_DEBUG(a->env.log, "cluster: question %llu: %d nodes did not answer in time",
                      (unsigned long long)q->id, q->pending);
            finish(a, q);
        }
    }
}

void st_asks_stop(st_asks *a)
{
    while (a->open)
        finish(a, a->open);
}

int st_ask_over(st_ask *q, size_t *n)
{
    pthread_mutex_lock(&q->mu);
    int over = q->over;
    *n = q->n;
    pthread_mutex_unlock(&q->mu);
    return over;
}

void st_ask_release(st_ask *q)
{
    pthread_mutex_lock(&q->mu);
    q->over = 1;
    pthread_mutex_unlock(&q->mu);
    unref(q);
}

void st_ask_unsent(st_ask *q)
{
    st_ask_release(q); /* the cluster thread's reference: never taken up */
}

size_t st_ask_wait(st_asks *a, st_ask *q, const char *self)
{
    size_t len = 0;
    char *mine = answer(a, q->what, q->arg, q->arglen, &len);
    pthread_mutex_lock(&q->mu);
    if (mine) add_answer(q, self, (const uint8_t *)mine, len);
    /* the cluster thread's deadline comes first */
    struct timespec until = st_clock_deadline(q->timeout_ms / 1000 * 1000 + 1000);
    while (!q->over)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) != 0) break;
    q->over = 1; /* no answer is added after this */
    size_t n = q->n;
    pthread_mutex_unlock(&q->mu);
    free(mine);
    unref(q);
    return n;
}

void st_answers_free(st_answer *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(out[i].body);
}
