/* gone.c — the sessions of a member that left, taken over from its copy (gone.h). */
#include "cluster/gone.h"
#include "broker/remote.h"
#include "cluster/data/adopt.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERY_MS 1000

/* This node is an up member of a cluster whose member table it has: 1. */
static int member_up(const st_cluster_member *m, size_t n, const char *self)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, self) == 0) return strcmp(m[i].state, "up") == 0;
    return 0;
}

static void adopt(st_gone *g, st_replica *r, st_data *d, const char *owner)
{
    st_store_batch *b = st_store_batch_new();
    int64_t written = 0;
    int rc = b ? st_replica_take(r, owner, b, &written) : ST_ENOMEM;
    size_t len = 0;
    const uint8_t *w = rc > 0 ? st_store_batch_bytes(b, &len) : NULL;
    long n = w ? st_data_adopt(d, owner, w, len, written) : rc;
    if (n >= 0) snprintf(g->owner, sizeof g->owner, "%s", owner);
    st_store_batch_free(b);
}

void st_gone_tick(st_gone *g, st_plane *pl, st_replica *r, st_data *d, const char *self,
                  int64_t now)
{
    if (!r || now < g->next) return;
    g->next = now + EVERY_MS;
    if (g->owner[0]) {
        if (st_data_adopting(d, now)) return;
        st_replica_adopted(r, g->owner);
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
        adopt(g, r, d, m[i].name);
        break; /* one at a time */
    }
    free(m);
}
