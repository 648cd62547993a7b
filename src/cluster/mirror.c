/* mirror.c — the table's rows to their mirrors (mirror.h). The keys last handed over are
 * remembered, so that a replaced table is told as writes and deletes, never as "start
 * afresh". */
#include "cluster/mirror.h"
#include "auth/bans.h"
#include "auth/users.h"
#include "cluster/plane/kv.h"
#include "core/err.h"
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

struct st_mirrors {
    struct {
        uint8_t ns;
        st_cluster_rows_fn fn;
        void *ctx;
    } to[ST_KV_NS_MAX];
    int n;
    st_auth *auth; /* NULL: none */
    st_data *data;
    st_strmap *held; /* ns ‖ key of every row the mirrors hold */
    st_strmap *pass; /* a replaced table's keys, while it is handed over (else NULL) */
};

st_mirrors *st_mirrors_new(void)
{
    st_mirrors *m = calloc(1, sizeof *m);
    if (m && !(m->held = st_strmap_new())) {
        free(m);
        return NULL;
    }
    return m;
}

void st_mirrors_free(st_mirrors *m)
{
    if (!m) return;
    st_strmap_free(m->held);
    st_strmap_free(m->pass);
    free(m);
}

int st_mirrors_add(st_mirrors *m, uint8_t ns, st_cluster_rows_fn fn, void *ctx)
{
    if (m->n == ST_KV_NS_MAX) return ST_EFULL;
    m->to[m->n].ns = ns;
    m->to[m->n].fn = fn;
    m->to[m->n++].ctx = ctx;
    return 0;
}

void st_mirrors_auth(st_mirrors *m, st_auth *a, st_data *d)
{
    m->auth = a;
    m->data = d;
}

/* A ban of the bootstrap file (banned.bootstrap_file) with this key, or NULL. */
static const st_ban *boot_ban(st_mirrors *m, const st_ban *ban)
{
    size_t n;
    const st_ban *all = st_auth_boot_bans(m->auth, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i].as == ban->as && strcmp(all[i].who, ban->who) == 0) return &all[i];
    return NULL;
}

static void to_auth(st_mirrors *m, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t vlen, int replaced)
{
    if (ns == ST_KV_USERS) st_auth_row(m->auth, key, klen, val, vlen, replaced);
    if (ns == ST_KV_ACL) st_authz_on_rows(st_auth_authz(m->auth), key, klen, val, vlen);
    st_ban ban;
    if (ns != ST_KV_BANS || st_ban_decode(key, klen, val, vlen, &ban) != 0) return;
    const st_ban *boot = !val && replaced ? boot_ban(m, &ban) : NULL;
    if (boot) {
        st_bans_put(st_auth_bans(m->auth), boot);
        return;
    }
    if (!val) {
        st_bans_del(st_auth_bans(m->auth), ban.as, ban.who);
        return;
    }
    st_bans_put(st_auth_bans(m->auth), &ban);
    if (ban.as == ST_BAN_CLIENTID) /* its live session goes, wherever it is */
        st_data_kick(m->data, ban.who, strlen(ban.who), ST_KICK_ADMIN);
}

static void hand(st_mirrors *m, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                 size_t vlen, int replaced)
{
    for (int i = 0; i < m->n; i++)
        if (m->to[i].ns == ns) m->to[i].fn(m->to[i].ctx, ns, key, klen, val, vlen, replaced);
    if (m->auth) to_auth(m, ns, key, klen, val, vlen, replaced);
}

/* kv.h's visit: ns 0 opens a replaced table's pass. */
static void visit(void *ctx, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                  size_t vlen)
{
    st_mirrors *m = ctx;
    if (ns == 0) {
        st_strmap_free(m->pass);
        m->pass = st_strmap_new(); /* NULL (out of memory): no row is deleted at the end */
        return;
    }
    char k[ST_KV_MAX_KEY + 1];
    if (klen > ST_KV_MAX_KEY) return;
    k[0] = (char)ns;
    memcpy(k + 1, key, klen);
    hand(m, ns, key, klen, val, vlen, 0);
    if (val && m->pass) st_strmap_put(m->pass, k, klen + 1, (void *)1);
    if (val)
        st_strmap_put(m->held, k, klen + 1, (void *)1);
    else
        st_strmap_del(m->held, k, klen + 1);
}

/* The end of a replaced table's pass: what the mirrors hold and the table lacks goes (or
 * falls back to the bootstrap file's row). */
static void sweep(st_mirrors *m)
{
    size_t it = 0;
    const char *k;
    size_t kl;
    while (st_strmap_next(m->held, &it, &k, &kl, NULL)) {
        if (st_strmap_get(m->pass, k, kl)) continue;
        hand(m, (uint8_t)k[0], (const uint8_t *)k + 1, kl - 1, NULL, 0, 1);
        st_strmap_del(m->held, k, kl);
    }
    st_strmap_free(m->pass);
    m->pass = NULL;
}

void st_mirrors_sync(st_mirrors *m, st_plane *p)
{
    st_plane_kv_changes(p, visit, m);
    if (m->pass) sweep(m);
}
