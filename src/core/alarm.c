/* alarm.c — this node's alarms (alarm.h): the active ones and the history, each an array
 * under one mutex (alarms are few and rare). */
#include "core/alarm.h"
#include "core/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct list {
    st_alarm *v;
    size_t n, cap;
} list;

struct st_alarms {
    const st_log *log;
    pthread_mutex_t mu;
    list active, history;
    st_alarm_sink sink; /* called under mu */
    void *sink_ctx;
};

void st_alarms_sink(st_alarms *a, st_alarm_sink fn, void *ctx)
{
    pthread_mutex_lock(&a->mu);
    a->sink = fn;
    a->sink_ctx = ctx;
    pthread_mutex_unlock(&a->mu);
}

st_alarms *st_alarms_new(const st_log *log)
{
    st_alarms *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->log = log;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void st_alarms_free(st_alarms *a)
{
    if (!a) return;
    free(a->active.v);
    free(a->history.v);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static st_alarm *find(list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return &l->v[i];
    return NULL;
}

/* Room for one more at the end of l (the oldest goes when l holds max). */
static st_alarm *append(list *l, size_t max)
{
    if (l->n == max && max) {
        memmove(l->v, l->v + 1, (l->n - 1) * sizeof *l->v);
        l->n--;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        st_alarm *v = realloc(l->v, cap * sizeof *v);
        if (!v) return NULL;
        l->v = v;
        l->cap = cap;
    }
    return &l->v[l->n++];
}

void st_alarm_raise(st_alarms *a, const char *name, const char *message, const char *details)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    st_alarm *x = find(&a->active, name);
    int fresh = x == NULL;
    if (fresh && (x = append(&a->active, 0)) != NULL) {
        memset(x, 0, sizeof *x);
        snprintf(x->name, sizeof x->name, "%s", name);
        x->activate_at_ms = st_wall_ms();
    }
    if (x) {
        snprintf(x->message, sizeof x->message, "%s", message);
        snprintf(x->details, sizeof x->details, "%s", details ? details : "{}");
    }
    if (fresh && x && a->sink) a->sink(a->sink_ctx, x, 1);
    pthread_mutex_unlock(&a->mu);
    if (fresh) LOG_WARN(a->log, "alarm %s raised: %s", name, message);
}

int st_alarm_clear(st_alarms *a, const char *name)
{
    if (!a) return -1;
    pthread_mutex_lock(&a->mu);
    st_alarm *x = find(&a->active, name), *h = NULL;
    if (x) {
        st_alarm done = *x;
        size_t i = (size_t)(x - a->active.v);
        memmove(x, x + 1, (a->active.n - i - 1) * sizeof *x);
        a->active.n--;
        done.deactivate_at_ms = st_wall_ms();
        if ((h = append(&a->history, ST_ALARM_HISTORY)) != NULL) *h = done;
        if (a->sink) a->sink(a->sink_ctx, &done, 0);
    }
    pthread_mutex_unlock(&a->mu);
    if (x) LOG_NOTICE(a->log, "alarm %s cleared", name);
    return x ? 0 : -1;
}

size_t st_alarms_list(st_alarms *a, int activated, st_alarm *out, size_t max)
{
    if (!a) return 0;
    pthread_mutex_lock(&a->mu);
    const list *l = activated ? &a->active : &a->history;
    size_t n = l->n;
    if (max) memcpy(out, l->v, (n < max ? n : max) * sizeof *out);
    pthread_mutex_unlock(&a->mu);
    return n;
}

void st_alarms_forget_history(st_alarms *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->history.n = 0;
    pthread_mutex_unlock(&a->mu);
}
