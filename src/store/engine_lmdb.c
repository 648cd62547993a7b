/* engine_lmdb.c — the store's engine on LMDB (engine.h; docs/durability.md §3): one
 * environment, a named database per column family. Commits use LMDB's default durability
 * (data pages synced before the meta page): a commit is whole or absent after any crash. */
#include "store/engine.h"
#include "store/lmdb_check.h"
#include "core/err.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *const CF_NAMES[ST_CF_N] = {"meta", "sessions", "msgs", "queue", "retained"};

struct st_engine {
    MDB_env *env;
    MDB_dbi dbi[ST_CF_N];
    MDB_txn *txn;
    char path[600];
};

static int fail(int rc, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) return ST_EFULL;
    if (rc == ENOMEM) return ST_ENOMEM;
    return ST_EIO;
}

/* A file cut short is refused before any read (lmdb_check.h). Shorter than the last page the
 * meta page counts is common and harmless (pages LMDB freed unwritten); then the trees are
 * walked to see whether a page they need is missing. */
static int whole(st_engine *e, char *err, size_t errlen)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if (mdb_env_info(e->env, &info) != 0 || mdb_env_stat(e->env, &st) != 0 ||
        stat(e->path, &fs) != 0)
        return 0;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fs.st_size >= need) return 0;
    return st_lmdb_check_pages(e->path, st.ms_psize, err, errlen);
}

st_engine *st_engine_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    st_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(e->path, sizeof e->path, "%s/data.mdb", dir);
    MDB_txn *t = NULL;
    int rc = mdb_env_create(&e->env);
    if (rc == 0) rc = mdb_env_set_maxdbs(e->env, ST_CF_N);
    if (rc == 0) rc = mdb_env_set_mapsize(e->env, (size_t)max_bytes);
    if (rc == 0) rc = mdb_env_open(e->env, dir, MDB_NOTLS, 0600);
    if (rc == 0 && whole(e, err, errlen) < 0) {
        mdb_env_close(e->env);
        free(e);
        return NULL;
    }
    if (rc == 0) rc = mdb_txn_begin(e->env, NULL, 0, &t);
    for (int i = 0; rc == 0 && i < ST_CF_N; i++)
        rc = mdb_dbi_open(t, CF_NAMES[i], MDB_CREATE, &e->dbi[i]);
    if (rc == 0) {
        rc = mdb_txn_commit(t);
        t = NULL;
    }
    if (rc != 0) {
        if (t) mdb_txn_abort(t);
        snprintf(err, errlen, "%s: %s", e->path, mdb_strerror(rc));
        if (e->env) mdb_env_close(e->env);
        free(e);
        return NULL;
    }
    return e;
}

void st_engine_close(st_engine *e)
{
    if (!e) return;
    st_engine_abort(e);
    mdb_env_close(e->env);
    free(e);
}

int st_engine_begin(st_engine *e, char *err, size_t errlen)
{
    int rc = e->txn ? 0 : mdb_txn_begin(e->env, NULL, 0, &e->txn);
    if (rc != 0) {
        e->txn = NULL;
        return fail(rc, "begin", err, errlen);
    }
    return 0;
}

int st_engine_put(st_engine *e, int cf, const void *key, size_t klen, const void *val, size_t vlen,
                  char *err, size_t errlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(e->txn, e->dbi[cf], &k, &v, 0);
    return rc ? fail(rc, "put", err, errlen) : 0;
}

int st_engine_del(st_engine *e, int cf, const void *key, size_t klen, char *err, size_t errlen)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(e->txn, e->dbi[cf], &k, NULL);
    return rc && rc != MDB_NOTFOUND ? fail(rc, "delete", err, errlen) : 0;
}

int st_engine_clear(st_engine *e, int cf, char *err, size_t errlen)
{
    int rc = mdb_drop(e->txn, e->dbi[cf], 0);
    return rc ? fail(rc, "clear", err, errlen) : 0;
}

int st_engine_commit(st_engine *e, char *err, size_t errlen)
{
    if (!e->txn) return 0;
    int rc = mdb_txn_commit(e->txn); /* freed whatever the outcome */
    e->txn = NULL;
    return rc ? fail(rc, "commit", err, errlen) : 0;
}

void st_engine_abort(st_engine *e)
{
    if (e->txn) mdb_txn_abort(e->txn);
    e->txn = NULL;
}

int st_engine_scan(st_engine *e, int cf, st_store_scan_fn fn, void *ctx)
{
    MDB_txn *t;
    MDB_cursor *c;
    if (mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t) != 0) return ST_EIO;
    if (mdb_cursor_open(t, e->dbi[cf], &c) != 0) {
        mdb_txn_abort(t);
        return ST_EIO;
    }
    MDB_val k, v;
    int rc = 0, op = MDB_FIRST;
    while (rc == 0 && mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op) == 0) {
        rc = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        op = MDB_NEXT;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    return rc;
}

int64_t st_engine_mtime_ms(st_engine *e)
{
    struct stat st;
    if (stat(e->path, &st) != 0) return 0;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

uint64_t st_engine_disk_bytes(st_engine *e)
{
    struct stat st;
    return stat(e->path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}
