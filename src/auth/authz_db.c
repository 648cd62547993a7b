/* authz_db.c — the built_in_database source's rows (authz_db.h). */
#include "auth/authz_db.h"
#include "core/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    char *json;
    st_acl *acl;
} row;

struct st_authz_db {
    pthread_mutex_t mu;
    st_strmap *rows; /* key (kind letter + name) -> row */
};

st_authz_db *st_authz_db_new(void)
{
    st_authz_db *d = calloc(1, sizeof *d);
    if (!d || !(d->rows = st_strmap_new())) {
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

static void row_free(row *r)
{
    if (!r) return;
    free(r->json);
    st_acl_free(r->acl);
    free(r);
}

void st_authz_db_free(st_authz_db *d)
{
    if (!d) return;
    size_t it = 0;
    void *v;
    while (st_strmap_next(d->rows, &it, NULL, NULL, &v))
        row_free(v);
    st_strmap_free(d->rows);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

size_t st_authz_db_key(int kind, const char *name, size_t len, uint8_t *out)
{
    if (kind == ST_AUTHZ_ALL || len > ST_AUTHZ_NAME_MAX) len = 0;
    out[0] = (uint8_t)kind;
    memcpy(out + 1, name, len);
    return len + 1;
}

int st_authz_db_row(st_authz_db *d, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t vlen)
{
    row *r = NULL;
    if (val) { /* rows were checked by the API that wrote them; one that fails is dropped */
        char err[200];
        r = calloc(1, sizeof *r);
        if (r &&
            !(r->acl = st_acl_from_json((const char *)val, vlen, 1 << 20, NULL, err, sizeof err))) {
            free(r);
            r = NULL;
        }
        if (r && !(r->json = strndup((const char *)val, vlen))) {
            row_free(r);
            r = NULL;
        }
    }
    pthread_mutex_lock(&d->mu);
    row *old = st_strmap_del(d->rows, (const char *)key, klen);
    if (r && st_strmap_put(d->rows, (const char *)key, klen, r) < 0) {
        row_free(r);
        r = NULL;
    }
    pthread_mutex_unlock(&d->mu);
    row_free(old);
    return old || r;
}

static row *find(st_authz_db *d, int kind, const char *name, size_t len)
{
    uint8_t key[ST_AUTHZ_NAME_MAX + 1];
    if (len > ST_AUTHZ_NAME_MAX) return NULL;
    size_t kl = st_authz_db_key(kind, name, len, key);
    return st_strmap_get(d->rows, (const char *)key, kl);
}

st_acl *st_authz_db_acl(st_authz_db *d, int kind, const char *name, size_t len)
{
    pthread_mutex_lock(&d->mu);
    row *r = find(d, kind, name, len);
    st_acl *a = r ? st_acl_ref(r->acl) : NULL;
    pthread_mutex_unlock(&d->mu);
    return a;
}

char *st_authz_db_json(st_authz_db *d, int kind, const char *name, size_t len)
{
    pthread_mutex_lock(&d->mu);
    row *r = find(d, kind, name, len);
    char *j = r ? strdup(r->json) : NULL;
    pthread_mutex_unlock(&d->mu);
    return j;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

size_t st_authz_db_list(st_authz_db *d, int kind, const char *like, size_t from, size_t max,
                        char (*names)[ST_AUTHZ_NAME_MAX + 1], size_t *total)
{
    pthread_mutex_lock(&d->mu);
    size_t n = 0, cap = st_strmap_count(d->rows), it = 0, klen;
    char(*all)[ST_AUTHZ_NAME_MAX + 1] = calloc(cap ? cap : 1, sizeof *all);
    const char *k;
    while (all && st_strmap_next(d->rows, &it, &k, &klen, NULL))
        if (k[0] == kind && klen - 1 <= ST_AUTHZ_NAME_MAX) {
            memcpy(all[n], k + 1, klen - 1);
            all[n][klen - 1] = 0;
            if (!*like || strstr(all[n], like)) n++;
        }
    pthread_mutex_unlock(&d->mu);
    if (all) qsort(all, n, sizeof *all, by_name);
    size_t got = 0;
    for (size_t i = from; all && i < n && got < max; i++)
        memcpy(names[got++], all[i], sizeof *all);
    free(all);
    *total = n;
    return got;
}
