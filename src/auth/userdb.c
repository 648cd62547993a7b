/* userdb.c — a built-in database's users (userdb.h): a string map under a read-write lock. */
#include "auth/userdb.h"
#include "core/err.h"
#include "core/strmap.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_userdb {
    pthread_rwlock_t lock;
    st_strmap *users; /* id → st_user (owned) */
};

st_userdb *st_userdb_new(void)
{
    st_userdb *db = calloc(1, sizeof *db);
    if (!db || !(db->users = st_strmap_new())) {
        free(db);
        return NULL;
    }
    pthread_rwlock_init(&db->lock, NULL);
    return db;
}

static void user_free(void *u)
{
    if (!u) return;
    OPENSSL_cleanse(u, sizeof(st_user));
    free(u);
}

static void map_free(st_strmap *m)
{
    size_t it = 0;
    void *v;
    while (m && st_strmap_next(m, &it, NULL, NULL, &v))
        user_free(v);
    st_strmap_free(m);
}

void st_userdb_free(st_userdb *db)
{
    if (!db) return;
    map_free(db->users);
    pthread_rwlock_destroy(&db->lock);
    free(db);
}

static int store(st_userdb *db, const char *id, size_t len, const st_user *u, int replace)
{
    if (len == 0 || len >= ST_USER_ID_MAX) return ST_EINVAL;
    st_user *copy = malloc(sizeof *copy);
    if (!copy) return ST_ENOMEM;
    *copy = *u;
    pthread_rwlock_wrlock(&db->lock);
    void *old = st_strmap_get(db->users, id, len);
    int rc = old && !replace ? 0 : st_strmap_put(db->users, id, len, copy);
    pthread_rwlock_unlock(&db->lock);
    if (old && !replace) {
        user_free(copy);
        return 0;
    }
    if (rc < 0) {
        user_free(copy);
        return rc;
    }
    user_free(old);
    return 1;
}

int st_userdb_put(st_userdb *db, const char *id, size_t len, const st_user *u)
{
    int rc = store(db, id, len, u, 1);
    return rc < 0 ? rc : 0;
}

int st_userdb_add(st_userdb *db, const char *id, size_t len, const st_user *u)
{
    return store(db, id, len, u, 0);
}

int st_userdb_del(st_userdb *db, const char *id, size_t len)
{
    pthread_rwlock_wrlock(&db->lock);
    void *old = st_strmap_del(db->users, id, len);
    pthread_rwlock_unlock(&db->lock);
    user_free(old);
    return old != NULL;
}

int st_userdb_get(st_userdb *db, const char *id, size_t len, st_user *out)
{
    pthread_rwlock_rdlock(&db->lock);
    const st_user *u = st_strmap_get(db->users, id, len);
    if (u) *out = *u;
    pthread_rwlock_unlock(&db->lock);
    return u != NULL;
}

void st_userdb_clear(st_userdb *db)
{
    st_userdb_reset(db, NULL);
}

int st_userdb_reset(st_userdb *db, st_userdb *from)
{
    st_strmap *fresh = st_strmap_new();
    int rc = fresh ? 0 : ST_ENOMEM;
    if (from && fresh) {
        pthread_rwlock_rdlock(&from->lock);
        size_t it = 0;
        const char *k;
        size_t kl;
        void *v;
        while (rc == 0 && st_strmap_next(from->users, &it, &k, &kl, &v)) {
            st_user *copy = malloc(sizeof *copy);
            if (copy) *copy = *(const st_user *)v;
            if (!copy || st_strmap_put(fresh, k, kl, copy) < 0) {
                user_free(copy);
                rc = ST_ENOMEM;
            }
        }
        pthread_rwlock_unlock(&from->lock);
    }
    if (rc < 0) { /* what it holds stays */
        map_free(fresh);
        return rc;
    }
    pthread_rwlock_wrlock(&db->lock); /* readers see the old users or the new, never none */
    st_strmap *old = db->users;
    db->users = fresh;
    pthread_rwlock_unlock(&db->lock);
    map_free(old);
    return 0;
}

void st_userdb_each(st_userdb *db,
                    void (*fn)(void *ctx, const char *id, size_t len, const st_user *u), void *ctx)
{
    pthread_rwlock_rdlock(&db->lock);
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    while (db->users && st_strmap_next(db->users, &it, &k, &kl, &v))
        fn(ctx, k, kl, v);
    pthread_rwlock_unlock(&db->lock);
}

size_t st_userdb_page(st_userdb *db, size_t from, size_t max, char (*ids)[ST_USER_ID_MAX],
                      int *superuser)
{
    pthread_rwlock_rdlock(&db->lock);
    size_t it = 0, i = 0, n = 0;
    const char *k;
    size_t kl;
    void *v;
    while (db->users && n < max && st_strmap_next(db->users, &it, &k, &kl, &v)) {
        if (i++ < from) continue;
        snprintf(ids[n], ST_USER_ID_MAX, "%.*s", (int)kl, k);
        superuser[n++] = ((const st_user *)v)->superuser;
    }
    pthread_rwlock_unlock(&db->lock);
    return n;
}

size_t st_userdb_count(st_userdb *db)
{
    pthread_rwlock_rdlock(&db->lock);
    size_t n = st_strmap_count(db->users);
    pthread_rwlock_unlock(&db->lock);
    return n;
}
