/* test_engine_lmdb.c — the engine opens again what LMDB wrote, even when LMDB left the file
 * shorter than the last page its meta page counts (pages a transaction took and freed again
 * are never written); a file really cut short is refused with what is missing, not read. */
#include "test.h"
#include "store/engine.h"

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

/* Rounds of 2000 puts of which the newest half (or all) are deleted in the same transaction:
 * the pages they took at the end of the file are freed before the commit and not written. */
static int churn(st_engine *e, int round)
{
    char err[256], key[32], val[300];
    memset(val, 'x', sizeof val);
    if (st_engine_begin(e, err, sizeof err) != 0) return -1;
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(key, sizeof key, "%d-%08d", round, i);
        if (st_engine_put(e, ST_CF_MSGS, key, (size_t)n, val, sizeof val, err, sizeof err) != 0)
            return -1;
    }
    for (int i = round % 2 == 0 ? 1000 : 0; i < 2000; i++) {
        int n = snprintf(key, sizeof key, "%d-%08d", round, i);
        if (st_engine_del(e, ST_CF_MSGS, key, (size_t)n, err, sizeof err) != 0) return -1;
    }
    return st_engine_commit(e, err, sizeof err);
}

/* Bytes the meta page counts (last page + 1) against the file's size. */
static void sizes(const char *dir, uint64_t *counted, uint64_t *file)
{
    MDB_env *env;
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    char path[512];
    *counted = *file = 0;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (mdb_env_create(&env) != 0) return;
    mdb_env_set_maxdbs(env, ST_CF_N);
    if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 && mdb_env_info(env, &info) == 0 &&
        mdb_env_stat(env, &st) == 0 && stat(path, &fs) == 0) {
        *counted = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
        *file = (uint64_t)fs.st_size;
    }
    mdb_env_close(env);
}

static int count_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    ++*(int *)ctx;
    return 0;
}

static void test_a_file_lmdb_left_short_opens_and_a_cut_one_is_refused(void)
{
    char dir[300], path[320], err[512];
    snprintf(dir, sizeof dir, "%s/short", root);
    mkdir(dir, 0700);
    st_engine *e = st_engine_open(dir, 64u << 20, err, sizeof err);
    CHECK(e != NULL);
    if (!e) return;
    uint64_t counted = 0, file = 0;
    int round = 0;
    for (; round < 40 && file >= counted; round++) {
        CHECK_EQ(churn(e, round), 0);
        st_engine_close(e);
        sizes(dir, &counted, &file);
        e = st_engine_open(dir, 64u << 20, err, sizeof err); /* was refused: "truncated" */
        if (!e) fprintf(stderr, "round %d: %s\n", round, err);
        CHECK(e != NULL);
        if (!e) return;
    }
    /* The case under test happened: LMDB left the file shorter than its meta page counts. */
    CHECK(file < counted);
    int n = 0;
    CHECK_EQ(st_engine_scan(e, ST_CF_MSGS, count_one, &n), 0);
    CHECK_EQ(n, 1000 * ((round + 1) / 2)); /* the even rounds kept 1000 each */
    st_engine_close(e);

    snprintf(path, sizeof path, "%s/data.mdb", dir);
    CHECK_EQ(truncate(path, (off_t)(file / 2)), 0);
    e = st_engine_open(dir, 64u << 20, err, sizeof err);
    CHECK(e == NULL);
    CHECK(strstr(err, "is truncated") != NULL);
    CHECK(strstr(err, "data.mdb") != NULL);
    if (e) st_engine_close(e);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/test_engine_lmdb.XXXXXX");
    if (!mkdtemp(root)) return 1;
    RUN(test_a_file_lmdb_left_short_opens_and_a_cut_one_is_refused);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) return 1;
    return TEST_END();
}
