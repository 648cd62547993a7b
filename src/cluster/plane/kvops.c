/* kvops.c — writing the replicated key-value table and reading its changes (plane.h, kv.h). */
#include "cluster/plane/internal.h"
#include "cluster/plane/kv.h"
#include "core/err.h"

#include <stdlib.h>

typedef struct kv_wait {
    st_plane *c;
    uint64_t origin, seq; /* of the op (one op only: its status is looked up) */
    uint32_t n;
    st_plane_kv_done done;
    void *arg;
} kv_wait;

static void kv_done(void *arg, int status)
{
    kv_wait *w = arg;
    int rc = status;
    int s = rc == 0 && w->n == 1 ? st_fsm_op_status(w->c->fsm, w->origin, w->seq) : -1;
    if (s == ST_OP_CONFLICT) rc = ST_EEXIST;
    if (s == ST_OP_NOTFOUND) rc = ST_ENOENT;
    if (w->done) w->done(w->arg, rc);
    free(w);
}

int st_plane_kv_write(st_plane *c, uint16_t verb, uint8_t ns, const st_kv_item *items, uint32_t n,
                      st_plane_kv_done done, void *arg)
{
    if (!c->fsm || n == 0) return ST_EINVAL;
    ce_op *ops = calloc(n, sizeof *ops);
    st_buf *bodies = calloc(n, sizeof *bodies);
    kv_wait *w = malloc(sizeof *w);
    int rc = ops && bodies && w ? 0 : ST_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        st_op_kv(&bodies[i], ns, items[i].key, items[i].klen, items[i].val, items[i].vlen);
        ops[i] =
            (ce_op){c->node_id, c->op_seq++, ST_T_KV, verb, {bodies[i].p, (uint32_t)bodies[i].len}};
        if (bodies[i].oom) rc = ST_ENOMEM;
    }
    if (rc == 0) {
        *w = (kv_wait){c, c->node_id, ops[0].seq, n, done, arg};
        rc = st_cl_submit(c, ops, n, 0, kv_done, w);
    }
    if (rc < 0) free(w);
    for (uint32_t i = 0; bodies && i < n; i++)
        st_buf_free(&bodies[i]);
    free(bodies);
    free(ops);
    return rc;
}

void st_plane_kv_changes(st_plane *c, st_kv_visit visit, void *ctx)
{
    if (!c->fsm) return;
    pthread_mutex_lock(c->view_lock);
    st_kv_changes(st_fsm_table(c->fsm, ST_T_KV), visit, ctx);
    pthread_mutex_unlock(c->view_lock);
}
