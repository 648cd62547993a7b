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
    int rc;
    st_inject_result *r = st_call_one(b, st_worker_for(b, m->topic, m->topic_len), inject_on, &ref,
                                      sizeof ref, free, unref_arg, timeout_ms, &rc);
    if (rc == ST_ENOMEM) st_msg_unref(ref); /* not posted: unref_arg is not called */
    if (r) *out = *r;
    free(r);
    return rc < 0 ? rc : r ? 0 : ST_ENOMEM;
}
