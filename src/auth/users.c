/* users.c — users as rows of the replicated table (users.h). */
#include "auth/users.h"
#include "core/buf.h"

#include <openssl/crypto.h>
#include <string.h>

size_t st_user_key(const char *authn_id, const char *id, size_t idlen, uint8_t *out)
{
    size_t a = strlen(authn_id);
    memcpy(out, authn_id, a);
    out[a] = 0;
    memcpy(out + a + 1, id, idlen);
    return a + 1 + idlen;
}

size_t st_user_value(const st_user *u, uint8_t *out)
{
    size_t n = st_put_str16(out, u->hash);
    n += st_put_str16(out + n, u->salt);
    out[n++] = (uint8_t)(u->superuser ? 1 : 0);
    out[n++] = (uint8_t)(u->peppered ? 1 : 0);
    return n;
}

static int decode(const uint8_t *p, size_t n, st_user *u)
{
    memset(u, 0, sizeof *u);
    size_t a = st_get_str16(p, n, u->hash, sizeof u->hash);
    size_t b = a ? st_get_str16(p + a, n - a, u->salt, sizeof u->salt) : 0;
    if (!a || !b || a + b + 2 != n) return -1;
    u->superuser = p[a + b] == 1;
    u->peppered = p[a + b + 1] == 1;
    return 0;
}

int st_auth_find(const st_auth *a, const char *id)
{
    const st_auth_cfg *cfg = st_auth_config(a);
    for (int i = 0; i < cfg->n; i++)
        if (strcmp(cfg->chain[i].key, id) == 0) return i;
    return -1;
}

void st_auth_row(st_auth *a, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                 int replaced)
{
    const uint8_t *nul = memchr(key, 0, klen);
    char authn[sizeof(((st_authn_cfg *)0)->key)];
    size_t al = nul ? (size_t)(nul - key) : klen;
    if (!nul || al >= sizeof authn) return;
    memcpy(authn, key, al);
    authn[al] = 0;
    st_userdb *db = st_auth_userdb(a, st_auth_find(a, authn));
    if (!db) return;
    const char *id = (const char *)nul + 1;
    size_t idlen = klen - al - 1;
    st_user u;
    st_userdb *boot = st_auth_boot_users(a, st_auth_find(a, authn));
    if (!val && replaced && boot && st_userdb_get(boot, id, idlen, &u)) /* 1: found */
        st_userdb_put(db, id, idlen, &u);
    else if (!val)
        st_userdb_del(db, id, idlen);
    else if (decode(val, vlen, &u) == 0)
        st_userdb_put(db, id, idlen, &u);
    OPENSSL_cleanse(&u, sizeof u);
}

void st_auth_users_each(st_auth *a, int i,
                        void (*fn)(void *ctx, const char *id, size_t len, const st_user *u),
                        void *ctx)
{
    st_userdb *db = st_auth_boot_users(a, i);
    if (db) st_userdb_each(db, fn, ctx);
}
