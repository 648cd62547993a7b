/* inject.c — messages published by the API (inject.h). */
#include "broker/inject.h"
#include "broker/call.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static void *inject_on(st_worker *w, const void *arg)
{
    st_msg *m;
    memcpy(&m, arg, sizeof m);
    st_inject_result *r = calloc(1, sizeof *r);
    st_worker_stamp(w, m); /* not shared yet: only this call refers to it */
    if (m->retain) st_worker_store_retained(w, m);
    size_t n = st_worker_dispatch(w, m, "", 0, NULL);
    if (r) *r = (st_inject_result){n, m->origin, m->oid};
    return r;
}

static void unref_arg(void *arg)
{
    st_msg *m;
    memcpy(&m, arg, sizeof m);
    st_msg_unref(m);
}

int st_inject(st_broker *b, st_msg *m, int64_t timeout_ms, st_inject_result *out)
{
    memset(out, 0, sizeof *out);
    st_msg *ref = st_msg_ref(m);
    int w = st_worker_for(b, m->topic, m->topic_len);
    st_call *c = st_call_post(b, w, inject_on, &ref, sizeof ref, free, unref_arg);
    if (!c) {
        st_msg_unref(ref);
        return ST_ENOMEM;
    }
    int all = st_call_wait(c, timeout_ms);
    st_inject_result *r = all ? st_call_take(c, w) : NULL;
    if (r) *out = *r;
    free(r);
    st_call_release(c);
    return !all ? ST_EAGAIN : r ? 0 : ST_ENOMEM;
}
