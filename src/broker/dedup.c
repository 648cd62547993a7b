/* dedup.c — recently moved sessions drop second copies (dedup.h). */
#include "broker/dedup.h"
#include "broker/worker.h"
#include "core/u64map.h"

#include <stdlib.h>

typedef struct dset {
    st_mid *ids;
    size_t n;
    int64_t until;
} dset;

int st_mid_cmp(const void *x, const void *y)
{
    const st_mid *a = x, *b = y;
    if (a->origin != b->origin) return a->origin < b->origin ? -1 : 1;
    return a->oid < b->oid ? -1 : a->oid > b->oid;
}

static void dset_free(dset *d)
{
    if (!d) return;
    free(d->ids);
    free(d);
}

void st_dedup_put(st_worker *w, uint64_t sid, st_mid *ids, size_t n, int64_t until)
{
    dset *d = n ? malloc(sizeof *d) : NULL;
    if (!w->dedup && d) w->dedup = st_u64map_new();
    if (!d || !w->dedup) {
        free(d);
        free(ids);
        return;
    }
    *d = (dset){ids, n, until};
    dset_free(st_u64map_del(w->dedup, sid));
    if (st_u64map_put(w->dedup, sid, d) < 0) dset_free(d);
}

int st_dedup_seen(st_worker *w, uint64_t sid, const st_msg *msg)
{
    dset *d = msg->origin ? st_u64map_get(w->dedup, sid) : NULL;
    st_mid k = {msg->origin, msg->oid};
    return d && bsearch(&k, d->ids, d->n, sizeof k, st_mid_cmp) != NULL;
}

void st_dedup_drop(st_worker *w, uint64_t sid)
{
    if (w->dedup) dset_free(st_u64map_del(w->dedup, sid));
}

void st_dedup_tick(st_worker *w, int64_t now)
{
    if (!w->dedup) return;
    size_t it = 0;
    uint64_t sid;
    void *v;
    while (st_u64map_next(w->dedup, &it, &sid, &v))
        if (now >= ((dset *)v)->until) dset_free(st_u64map_del(w->dedup, sid));
    if (st_u64map_count(w->dedup)) return;
    st_u64map_free(w->dedup);
    w->dedup = NULL;
}

void st_dedup_free(st_worker *w)
{
    st_dedup_tick(w, INT64_MAX);
}
