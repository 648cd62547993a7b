/* call.c — functions run on the workers for other threads (call.h). */
#include "broker/call.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct st_call {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;    /* the caller and each worker that has not run it yet */
    int pending; /* workers that have not run it yet */
    int nw;
    st_call_fn fn;
    void (*free_result)(void *);
    void (*free_arg)(void *);
    void **result; /* per worker */
    uint8_t *done; /* per worker */
    size_t len;
    uint8_t arg[];
};

static void call_free(st_call *c)
{
    if (c->free_arg) c->free_arg(c->arg);
    for (int i = 0; i < c->nw; i++)
        if (c->result[i] && c->free_result) c->free_result(c->result[i]);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->result);
    free(c->done);
    free(c);
}

/* One reference less (under mu): the last one frees. */
static void unref(st_call *c)
{
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) call_free(c);
}

st_call *st_call_post(st_broker *b, int only, st_call_fn fn, const void *arg, size_t len,
                      void (*free_result)(void *), void (*free_arg)(void *))
{
    st_call *c = calloc(1, sizeof *c + len);
    int n = only < 0 ? b->nw : 1;
    if (!c) return NULL;
    c->nw = b->nw;
    c->result = calloc((size_t)b->nw, sizeof *c->result);
    c->done = calloc((size_t)b->nw, 1);
    st_imsg **m = calloc((size_t)n, sizeof *m);
    int ok = c->result && c->done && m;
    for (int i = 0; ok && i < n; i++)
        ok = (m[i] = calloc(1, sizeof **m)) != NULL;
    if (!ok) {
        for (int i = 0; m && i < n; i++)
            free(m[i]);
        free(m);
        free(c->result);
        free(c->done);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    st_cond_init_mono(&c->cv);
    c->fn = fn;
    c->free_result = free_result;
    c->free_arg = free_arg;
    c->len = len;
    if (len) memcpy(c->arg, arg, len);
    c->refs = n + 1;
    c->pending = n;
    for (int i = 0; i < n; i++) {
        m[i]->kind = ST_IM_CALL;
        m[i]->data = c;
        st_worker_post_now(&b->w[only < 0 ? i : only], m[i]);
    }
    free(m);
    return c;
}

static void ran(st_worker *w, st_call *c, void *r)
{
    pthread_mutex_lock(&c->mu);
    c->result[w->id] = r;
    c->done[w->id] = 1;
    if (--c->pending == 0) pthread_cond_broadcast(&c->cv);
    unref(c);
}

const char st_call_again = 1;

void **st_call_state(st_worker *w)
{
    return w->call_state;
}

int st_call_run(st_worker *w, void *call)
{
    st_call *c = call;
    w->call_state = &c->result[w->id]; /* nobody else reads it before done[w->id] */
    void *r = c->fn(w, c->arg);
    w->call_state = NULL;
    if (r == ST_CALL_AGAIN) return 1;
    ran(w, c, r);
    return 0;
}

void st_call_drop(st_worker *w, void *call)
{
    st_call *c = call;
    void *state = c->result[w->id]; /* a sliced call's work so far */
    c->result[w->id] = NULL;
    if (state && c->free_result) c->free_result(state);
    ran(w, c, NULL);
}

int st_call_wait(st_call *c, int64_t timeout_ms)
{
    struct timespec until = st_clock_deadline(timeout_ms);
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (c->pending && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    int all = c->pending == 0;
    pthread_mutex_unlock(&c->mu);
    return all;
}

void *st_call_take(st_call *c, int i)
{
    pthread_mutex_lock(&c->mu);
    void *r = i >= 0 && i < c->nw && c->done[i] ? c->result[i] : NULL;
    if (r) c->result[i] = NULL;
    pthread_mutex_unlock(&c->mu);
    return r;
}

void st_call_release(st_call *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    unref(c);
}

void *st_call_one(st_broker *b, int w, st_call_fn fn, const void *arg, size_t len,
                  void (*free_result)(void *), void (*free_arg)(void *), int64_t timeout_ms,
                  int *rc)
{
    st_call *c = st_call_post(b, w, fn, arg, len, free_result, free_arg);
    *rc = c ? 0 : ST_ENOMEM;
    if (!c) return NULL;
    int all = st_call_wait(c, timeout_ms);
    void *r = all ? st_call_take(c, w) : NULL;
    st_call_release(c);
    if (!all) *rc = ST_EAGAIN;
    return r;
}
