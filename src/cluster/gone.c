/* gone.c — the sessions of a member that left, taken over from its copy (gone.h). */
#include "cluster/gone.h"
#include "broker/remote.h"
#include "cluster/data/adopt.h"
#include "cluster/data/leftover.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERY_MS 1000
#define ASK_MS 5000  /* a member that does not answer in time: its leftovers are not waited for */
#define ASK_TRIES 10 /* answers that say a worker has not packed its lane yet: asked again */

/* This node is an up member of a cluster whose member table it has: 1. */
static int member_up(const st_cluster_member *m, size_t n, const char *self)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, self) == 0) return strcmp(m[i].state, "up") == 0;
    return 0;
}

/* The sessions of owner's copy, with the members' leftovers (n answers) and this node's. */
static void adopt(st_gone *g, st_replica *r, st_data *d, const char *owner, size_t n)
{
    st_bytes *extra = calloc(n + 1, sizeof *extra);
    size_t mlen = 0;
    char *mine = st_data_leftovers(d, owner, &mlen);
    size_t nx = 0;
    for (size_t i = 0; extra && i < n; i++)
        if (g->ans[i].body)
            extra[nx++] = (st_bytes){(const uint8_t *)g->ans[i].body, (uint32_t)g->ans[i].len};
    if (extra && mine) extra[nx++] = (st_bytes){(const uint8_t *)mine, (uint32_t)mlen};
    st_store_batch *b = st_store_batch_new();
    int64_t written = 0;
    int rc = b && extra ? st_replica_take(r, owner, b, &written) : ST_ENOMEM;
    size_t len = 0;
    const uint8_t *w = rc > 0 ? st_store_batch_bytes(b, &len) : NULL;
    long k = w ? st_data_adopt(d, owner, w, len, written, extra, nx) : rc;
    if (k >= 0) snprintf(g->owner, sizeof g->owner, "%s", owner);
    st_store_batch_free(b);
    free(mine);
    free(extra);
}

/* Every answer says its lanes are packed (a malformed one counts as ready: nothing in it). */
static int all_ready(const st_answer *ans, size_t n, st_data *d, const char *owner)
{
    for (size_t i = 0; i < n; i++) {
        int ready;
        uint64_t node, boot;
        size_t off;
        if (ans[i].body &&
            st_leftover_head((const uint8_t *)ans[i].body, ans[i].len, &ready, &node, &boot,
                             &off) == 0 &&
            !ready)
            return 0;
    }
    return st_data_leftovers_ready(d, owner);
}

/* Every member: what its lanes held for owner (answered on a later tick: answered()). */
static void ask_leftovers(st_gone *g, st_asks *asks, const char *owner, int64_t now)
{
    st_answer *out = calloc(ST_MAX_NODES, sizeof *out);
    st_ask *q =
        out ? st_ask_new(asks, ST_ASK_LEFTOVER, owner, strlen(owner), out, ST_MAX_NODES, ASK_MS)
            : NULL;
    if (!q) {
        free(out);
        return;
    }
    st_asks_send(asks, q, now);
    g->q = q;
    g->ans = out;
}

/* Every member: owner's sessions are taken, let what was kept for it go (no answer waited
 * for: the question is let go at once, its answers never read). */
static void tell_taken(st_asks *asks, const char *owner, int64_t now)
{
    st_answer unread;
    st_ask *q = st_ask_new(asks, ST_ASK_LEFTOVER_DROP, owner, strlen(owner), &unread, 1, ASK_MS);
    if (!q) return;
    st_asks_send(asks, q, now);
    st_ask_release(q);
}

static void ask_done(st_gone *g, size_t n)
{
    st_ask_release(g->q);
    st_answers_free(g->ans, n);
    free(g->ans);
    g->q = NULL;
    g->ans = NULL;
}

void st_gone_stop(st_gone *g)
{
    size_t n = 0;
    if (g->q) {
        st_ask_over(g->q, &n);
        ask_done(g, n);
    }
}

/* The answers to the question about g->asking are in: adopt, or ask again. */
static void answered(st_gone *g, st_replica *r, st_data *d, st_asks *asks, int64_t now)
{
    size_t n = 0;
    if (!st_ask_over(g->q, &n)) return;
    if (!all_ready(g->ans, n, d, g->asking) && ++g->tries < ASK_TRIES) {
        ask_done(g, n);
        ask_leftovers(g, asks, g->asking, now);
        return;
    }
    adopt(g, r, d, g->asking, n);
    ask_done(g, n);
    g->asking[0] = 0;
}

char *st_gone_answer(st_data *d, uint8_t what, const char *arg, size_t arglen, size_t *len)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(arglen < sizeof name ? arglen : sizeof name - 1),
             arg);
    if (what == ST_ASK_LEFTOVER) return st_data_leftovers(d, name, len);
    if (what != ST_ASK_LEFTOVER_DROP) return NULL;
    st_data_leftovers_drop(d, name);
    *len = 0;
    return calloc(1, 1);
}

void st_gone_tick(st_gone *g, st_plane *pl, st_replica *r, st_data *d, st_asks *asks,
                  const char *self, int64_t now)
{
    if (!r || now < g->next) return;
    g->next = now + EVERY_MS;
    if (g->q) {
        answered(g, r, d, asks, now);
        return;
    }
    if (g->owner[0]) {
        if (st_data_adopting(d, now)) return;
        st_replica_adopted(r, g->owner);
        st_data_leftovers_drop(d, g->owner);
        tell_taken(asks, g->owner, now);
        g->owner[0] = 0;
    }
    st_cluster_info info;
    st_cluster_member *m = calloc(ST_MAX_NODES, sizeof *m);
    if (!m) return;
    st_plane_info(pl, &info, m, ST_MAX_NODES);
    size_t n = info.nmembers < ST_MAX_NODES ? info.nmembers : ST_MAX_NODES;
    for (size_t i = 0; info.uuid[0] && member_up(m, n, self) && i < n; i++) {
        if (strcmp(m[i].state, "left") != 0 || strcmp(m[i].name, self) == 0) continue;
        if (!st_replica_has_copy(r, m[i].name) || !st_replica_adopter(r, m[i].name)) continue;
        snprintf(g->asking, sizeof g->asking, "%s", m[i].name);
        g->tries = 0;
        ask_leftovers(g, asks, m[i].name, now); /* adopted once they answer */
        break;                                  /* one at a time */
    }
    free(m);
}
