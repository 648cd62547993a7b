/* test_store.c — the durable store (store.h) on a real engine in a temporary directory:
 * group commit advances the durable ticket and wakes the writers, records come back after a
 * reopen in key order, a write cancelled before its commit is never written, the interval
 * mode commits on its own, a full map fails the round and refuses writes until a retry
 * succeeds (nothing pending is lost), and a data dir of another node, of a newer format or
 * that is not a store is refused with a way out. */
#include "test.h"
#include "core/err.h"
#include "store/store.h"
#include "store_test.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char store_test_root[256];

static atomic_int wakes;
static void on_settled(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&wakes, 1);
}

typedef struct rows {
    int n;
    char keys[64][32];
} rows;

static int collect(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rows *r = ctx;
    (void)v;
    (void)vl;
    if (r->n < 64) snprintf(r->keys[r->n], sizeof r->keys[0], "%.*s", (int)kl, (const char *)k);
    r->n++;
    return 0;
}

static void test_group_commit_and_reopen(void)
{
    char err[600];
    st_store_cfg c = cfg_of("a", 0);
    st_store *s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK(s != NULL);
    if (!s) {
        return;
    }
    CHECK_EQ(st_store_on_settled(s, on_settled, NULL), 0);
    CHECK_EQ(st_store_start(s), 0);
    st_store_batch *b = st_store_batch_new();
    CHECK(st_store_batch_empty(b));
    CHECK_EQ(st_store_put(b, ST_CF_MSGS, "m2", 2, "two", 3, 1), 0);
    CHECK_EQ(st_store_put(b, ST_CF_MSGS, "m1", 2, "one", 3, 1), 0);
    CHECK_EQ(st_store_put(b, ST_CF_MSGS, "m3", 2, "three", 5, 1), 0);
    CHECK_EQ(st_store_put(b, ST_CF_SESSIONS, "c1", 2, "s", 1, 0), 0);
    uint64_t t1 = st_store_submit(s, &b);
    CHECK(b != NULL && st_store_batch_empty(b));
    CHECK_EQ(st_store_del(b, ST_CF_MSGS, "m3", 2), 0); /* after its commit, or cancelled */
    uint64_t t2 = st_store_submit(s, &b);
    CHECK(t2 == t1 + 1);
    CHECK_EQ(settle(s, t2), 1);
    CHECK(atomic_load(&wakes) > 0);
    CHECK(st_store_ok(s));
    st_store_stats st;
    st_store_stats_get(s, &st);
    CHECK(st.rounds >= 1 && st.rounds <= 2);
    CHECK(st.disk_bytes > 0);
    CHECK(st.last_sync_ms > 0);
    CHECK_STR(st.error, "");
    st_store_batch_free(b);
    st_store_close(s);

    s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK(s != NULL);
    rows r = {0};
    CHECK_EQ(st_store_scan(s, ST_CF_MSGS, collect, &r), 0);
    CHECK_EQ(r.n, 2);
    CHECK_STR(r.keys[0], "m1");
    CHECK_STR(r.keys[1], "m2");
    memset(&r, 0, sizeof r);
    st_store_scan(s, ST_CF_SESSIONS, collect, &r);
    CHECK_EQ(r.n, 1);
    /* recovery's clean-up, before the thread */
    b = st_store_batch_new();
    st_store_del(b, ST_CF_MSGS, "m1", 2);
    CHECK_EQ(st_store_write_now(s, b), 0);
    memset(&r, 0, sizeof r);
    st_store_scan(s, ST_CF_MSGS, collect, &r);
    CHECK_EQ(r.n, 1);
    st_store_batch_free(b);
    st_store_close(s);
}

static void test_cancelled_writes_never_reach_the_engine(void)
{
    char err[600];
    st_store_cfg c = cfg_of("b", 1000000); /* one round at close */
    st_store *s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK_EQ(st_store_start(s), 0);
    st_store_batch *b = st_store_batch_new();
    char k[16];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof k, "q%04d", i);
        st_store_put(b, ST_CF_QUEUE, k, (size_t)n, "entry", 5, 1);
        st_store_submit(s, &b);
        if (i % 100) { /* acknowledged within the round */
            st_store_del(b, ST_CF_QUEUE, k, (size_t)n);
            st_store_submit(s, &b);
        }
    }
    st_store_batch_free(b);
    st_store_close(s);
    s = st_store_open(&c, quiet(), err, sizeof err);
    rows r = {0};
    st_store_scan(s, ST_CF_QUEUE, collect, &r);
    CHECK_EQ(r.n, 10);
    CHECK_STR(r.keys[0], "q0000");
    CHECK_STR(r.keys[1], "q0100");
    st_store_close(s);
}

static void test_interval_commits_on_its_own(void)
{
    char err[600];
    st_store_cfg c = cfg_of("c", 20);
    st_store *s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK_EQ(st_store_start(s), 0);
    st_store_batch *b = st_store_batch_new();
    st_store_put(b, ST_CF_RETAINED, "t/1", 3, "r", 1, 0);
    uint64_t t = st_store_submit(s, &b);
    CHECK_EQ(settle(s, t), 1);
    st_store_stats st;
    st_store_stats_get(s, &st);
    CHECK_EQ(st.rounds, 1);
    st_store_batch_free(b);
    st_store_close(s);
}

static void test_a_full_map_fails_then_recovers(void)
{
    char err[600];
    st_store_cfg c = cfg_of("d", 0);
    c.max_bytes = 1u << 20; /* 1 MiB */
    st_store *s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK(s != NULL);
    CHECK_EQ(st_store_start(s), 0);
    st_store_batch *b = st_store_batch_new();
    static char big[4000];
    memset(big, 'x', sizeof big);
    char k[16];
    for (int i = 0; i < 400; i++) { /* 1.6 MB: more than the map holds */
        int n = snprintf(k, sizeof k, "m%04d", i);
        st_store_put(b, ST_CF_MSGS, k, (size_t)n, big, sizeof big, 1);
    }
    uint64_t t = st_store_submit(s, &b);
    CHECK_EQ(settle(s, t), -1);
    CHECK(!st_store_ok(s));
    st_store_stats st;
    st_store_stats_get(s, &st);
    CHECK(st.failed_rounds >= 1);
    CHECK(strstr(st.error, "MDB_MAP_FULL") != NULL);
    /* space comes back: the acknowledgements of the queue free it */
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, sizeof k, "m%04d", i);
        st_store_del(b, ST_CF_MSGS, k, (size_t)n);
    }
    uint64_t t2 = st_store_submit(s, &b);
    CHECK_EQ(settle(s, t2), 1);
    CHECK(st_store_ok(s));
    st_store_batch_free(b);
    st_store_close(s);
    s = st_store_open(&c, quiet(), err, sizeof err);
    rows r = {0};
    st_store_scan(s, ST_CF_MSGS, collect, &r);
    CHECK_EQ(r.n, 100); /* the failed round's writes were kept and made it */
    CHECK_STR(r.keys[0], "m0300");
    st_store_close(s);
}

static void test_foreign_newer_and_damaged_dirs_are_refused(void)
{
    char err[600];
    st_store_cfg c = cfg_of("e", 0);
    st_store *s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK(s != NULL);
    st_store_close(s);
    st_store_cfg other = c;
    snprintf(other.node, sizeof other.node, "starling@127.0.0.9");
    CHECK(st_store_open(&other, quiet(), err, sizeof err) == NULL);
    CHECK(strstr(err, "belongs to node starling@127.0.0.1, not starling@127.0.0.9") != NULL);
    CHECK(strstr(err, "mv ") != NULL);
    /* a newer format */
    s = st_store_open(&c, quiet(), err, sizeof err);
    st_store_batch *b = st_store_batch_new();
    st_store_put(b, ST_CF_META, "format", 6, "99", 2, 0);
    CHECK_EQ(st_store_write_now(s, b), 0);
    st_store_batch_free(b);
    st_store_close(s);
    CHECK(st_store_open(&c, quiet(), err, sizeof err) == NULL);
    CHECK(strstr(err, "has format 99, this build reads format 1") != NULL);
    /* not a store at all */
    st_store_cfg junk = cfg_of("f", 0);
    st_store_close(st_store_open(&junk, quiet(), err, sizeof err)); /* makes the dir */
    char path[700];
    snprintf(path, sizeof path, "%s/data.mdb", junk.dir);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "this is not a database, it is a text file\n", 42) == 42);
    close(fd);
    CHECK(st_store_open(&junk, quiet(), err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot be read") != NULL && strstr(err, "mv ") != NULL);
}

int main(void)
{
    snprintf(store_test_root, sizeof store_test_root, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(store_test_root)) return 1;
    RUN(test_group_commit_and_reopen);
    RUN(test_cancelled_writes_never_reach_the_engine);
    RUN(test_interval_commits_on_its_own);
    RUN(test_a_full_map_fails_then_recovers);
    RUN(test_foreign_newer_and_damaged_dirs_are_refused);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", store_test_root);
    if (system(cmd) != 0) return 1;
    return TEST_END();
}
