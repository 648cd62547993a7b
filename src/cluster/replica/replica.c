/* replica.c — the face of the replica part (replica.h): its frames, its wake-up and tick,
 * the links' events, what the API reads. */
#include "cluster/replica/internal.h"

#include <stdlib.h>
#include <string.h>

static void on_repl(void *owner, st_link *l, const cw_frame *f)
{
    cw_repl p;
    if (cw_decode_repl(f->body, &p) != 0) return;
    if (p.kind == CW_REPL_RESTORE)
        rp_restore_piece(owner, st_link_peer_name(l), &p);
    else
        rp_mirror_piece(owner, st_link_peer_name(l), &p);
}

static void on_restore(void *owner, st_link *l, const cw_frame *f)
{
    cw_restore m;
    if (cw_decode_restore(f->body, &m) == 0) rp_restore_frame(owner, st_link_peer_name(l), &m);
}

static void on_repl_ack(void *owner, st_link *l, const cw_frame *f)
{
    cw_repl_ack a;
    if (cw_decode_repl_ack(f->body, &a) == 0) rp_owner_ack(owner, st_link_peer_name(l), &a);
}

st_replica *st_replica_new(const st_replica_env *env)
{
    st_replica *r = calloc(1, sizeof *r);
    if (r && !(r->names = malloc(ST_LINKS_MAX_PEERS * sizeof *r->names))) {
        free(r);
        r = NULL;
    }
    if (!r) return NULL;
    r->env = *env;
    if (r->env.copies > ST_REPLICA_MAX) r->env.copies = ST_REPLICA_MAX;
    st_mpsc_init(&r->inbox);
    pthread_mutex_init(&r->mu, NULL);
    st_links_on_frame(env->links, CW_REPL, on_repl, r);
    st_links_on_frame(env->links, CW_REPL_ACK, on_repl_ack, r);
    st_links_on_frame(env->links, CW_RESTORE, on_restore, r);
    return r;
}

void st_replica_free(st_replica *r)
{
    if (!r) return;
    rp_mirrors_close(r);
    rp_owner_free(r);
    rp_restore_free(r);
    pthread_mutex_destroy(&r->mu);
    free(r->names);
    free(r);
}

static void on_async(uv_async_t *a)
{
    st_replica *r = a->data;
    r->now = (int64_t)uv_now(r->loop);
    rp_owner_drain(r);
    rp_mirror_settle(r);
}

void st_replica_start(st_replica *r, uv_loop_t *loop)
{
    r->loop = loop;
    r->async.data = r;
    uv_async_init(loop, &r->async, on_async);
    atomic_store(&r->started, 1);
    uv_async_send(&r->async); /* rounds made before the cluster started */
}

void st_replica_tick(st_replica *r, int64_t now)
{
    r->now = now;
    rp_restore_tick(r);
    rp_owner_tick(r);
    rp_owner_drain(r);
    rp_mirror_settle(r);
}

void st_replica_peer_up(st_replica *r, st_peer *p)
{
    r->now = (int64_t)uv_now(r->loop);
    rp_owner_link(r, p->name, 1);
}

void st_replica_peer_down(st_replica *r, st_peer *p)
{
    rp_owner_link(r, p->name, 0);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

void st_replica_stop(st_replica *r)
{
    if (!atomic_exchange(&r->started, 0)) return;
    uv_close((uv_handle_t *)&r->async, closed);
    rp_mirrors_close(r);
}

void st_replica_info_get(st_replica *r, st_replica_info *info, st_replica_holder *h, size_t maxh,
                         st_replica_mirror *m, size_t maxm)
{
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&r->mu);
    info->on = r->store != NULL;
    info->restoring = st_replica_restoring(r);
    info->round = r->round;
    info->candidates = r->candidates;
    info->nholders = (size_t)r->nholders;
    for (size_t i = 0; i < info->nholders && i < maxh; i++) {
        memcpy(h[i].node, r->holders[i].name, sizeof h[i].node);
        h[i].state = r->holders[i].state;
        h[i].acked = r->holders[i].acked;
    }
    rp_mirror_info(r, m, maxm, &info->nmirrors);
    pthread_mutex_unlock(&r->mu);
}

const char *st_replica_state_name(int state)
{
    static const char *const names[] = {"unlinked", "waiting", "in_step", "lagging"};
    return state >= 0 && state < 4 ? names[state] : "unknown";
}
