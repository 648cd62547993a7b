/* test_pending.c — the store's coalesced writes: a new key deleted before its commit is
 * never written, a replaced key keeps its last value, a key that may be on disk is deleted
 * for real, and a clear empties the set. */
#include "test.h"
#include "store/pending.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    int n, dels;
    char last[64];
} seen;

static void count(void *ctx, uint8_t cf, const uint8_t *key, size_t klen, const uint8_t *val,
                  size_t vlen)
{
    seen *s = ctx;
    s->n++;
    if (!val) {
        s->dels++;
        return;
    }
    snprintf(s->last, sizeof s->last, "%u:%.*s=%.*s", cf, (int)klen, (const char *)key, (int)vlen,
             (const char *)val);
}

static void test_new_then_del_is_nothing(void)
{
    st_pending *p = st_pending_new();
    CHECK_EQ(st_pending_add(p, 2, "m1", 2, ST_W_NEW, "hello", 5), 0);
    CHECK_EQ(st_pending_add(p, 3, "q1", 2, ST_W_NEW, "x", 1), 0);
    CHECK_EQ(st_pending_add(p, 3, "q1", 2, ST_W_PUT, "inflight", 8), 0); /* still new */
    CHECK_EQ(st_pending_count(p), 2);
    CHECK_EQ(st_pending_add(p, 3, "q1", 2, ST_W_DEL, NULL, 0), 0);
    CHECK_EQ(st_pending_add(p, 2, "m1", 2, ST_W_DEL, NULL, 0), 0);
    CHECK_EQ(st_pending_count(p), 0);
    CHECK_EQ(st_pending_bytes(p), 0);
    CHECK_EQ(st_pending_cancelled(p), 2);
    seen s = {0};
    st_pending_each(p, count, &s);
    st_pending_clear(p);
    CHECK_EQ(s.n, 0);
    st_pending_free(p);
}

static void test_put_then_del_is_a_delete(void)
{
    st_pending *p = st_pending_new();
    CHECK_EQ(st_pending_add(p, 1, "sess", 4, ST_W_PUT, "v1", 2), 0);
    CHECK_EQ(st_pending_add(p, 1, "sess", 4, ST_W_DEL, NULL, 0), 0);
    seen s = {0};
    st_pending_each(p, count, &s);
    st_pending_clear(p);
    CHECK_EQ(s.n, 1);
    CHECK_EQ(s.dels, 1);
    /* a NEW committed in an earlier round, deleted now: a real delete */
    CHECK_EQ(st_pending_add(p, 2, "m2", 2, ST_W_NEW, "a", 1), 0);
    memset(&s, 0, sizeof s);
    st_pending_each(p, count, &s);
    st_pending_clear(p);
    CHECK_EQ(s.n, 1);
    CHECK_STR(s.last, "2:m2=a");
    CHECK_EQ(st_pending_add(p, 2, "m2", 2, ST_W_DEL, NULL, 0), 0);
    memset(&s, 0, sizeof s);
    st_pending_each(p, count, &s);
    st_pending_clear(p);
    CHECK_EQ(s.dels, 1);
    st_pending_free(p);
}

static void test_last_value_wins_and_cfs_differ(void)
{
    st_pending *p = st_pending_new();
    CHECK_EQ(st_pending_add(p, 1, "k", 1, ST_W_PUT, "one", 3), 0);
    CHECK_EQ(st_pending_add(p, 1, "k", 1, ST_W_PUT, "three", 5), 0);
    CHECK_EQ(st_pending_add(p, 4, "k", 1, ST_W_DEL, NULL, 0), 0); /* another cf */
    CHECK_EQ(st_pending_count(p), 2);
    CHECK_EQ(st_pending_bytes(p), 2 + 5 + 2);
    seen s = {0};
    st_pending_each(p, count, &s);
    st_pending_clear(p);
    CHECK_EQ(s.n, 2);
    CHECK_EQ(s.dels, 1);
    CHECK_STR(s.last, "1:k=three");
    CHECK_EQ(st_pending_count(p), 0);
    char big[2000] = {0};
    CHECK(st_pending_add(p, 1, big, sizeof big, ST_W_PUT, "x", 1) < 0);
    st_pending_free(p);
}

static void test_many(void)
{
    st_pending *p = st_pending_new();
    char k[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(k, sizeof k, "%d", i);
        CHECK_EQ(st_pending_add(p, 2, k, (size_t)n, ST_W_NEW, "v", 1), 0);
        if (i % 10) CHECK_EQ(st_pending_add(p, 2, k, (size_t)n, ST_W_DEL, NULL, 0), 0);
    }
    CHECK_EQ(st_pending_count(p), 10000);
    seen s = {0};
    st_pending_each(p, count, &s);
    st_pending_clear(p);
    CHECK_EQ(s.n, 10000);
    st_pending_free(p);
}

/* A set as large as a round that filled many offline queues is made anew at its clear (its
 * table would keep that size): it is empty and takes writes and cancels as before. */
static void test_large_set_cleared_works_on(void)
{
    st_pending *p = st_pending_new();
    char k[32];
    for (int i = 0; i < 70000; i++) {
        int n = snprintf(k, sizeof k, "%d", i);
        CHECK_EQ(st_pending_add(p, 3, k, (size_t)n, ST_W_NEW, "e", 1), 0);
    }
    CHECK_EQ(st_pending_count(p), 70000);
    st_pending_clear(p);
    CHECK_EQ(st_pending_count(p), 0);
    CHECK_EQ(st_pending_bytes(p), 0);
    seen s = {0};
    st_pending_each(p, count, &s);
    CHECK_EQ(s.n, 0);
    CHECK_EQ(st_pending_add(p, 3, "7", 1, ST_W_NEW, "e", 1), 0);
    CHECK_EQ(st_pending_add(p, 3, "8", 1, ST_W_PUT, "f", 1), 0);
    CHECK_EQ(st_pending_add(p, 3, "7", 1, ST_W_DEL, NULL, 0), 0); /* cancelled */
    st_pending_each(p, count, &s);
    CHECK_EQ(s.n, 1);
    CHECK(strcmp(s.last, "3:8=f") == 0);
    CHECK_EQ(st_pending_bytes(p), 3);
    st_pending_free(p);
}

int main(void)
{
    RUN(test_new_then_del_is_nothing);
    RUN(test_put_then_del_is_a_delete);
    RUN(test_last_value_wins_and_cfs_differ);
    RUN(test_many);
    RUN(test_large_set_cleared_works_on);
    return TEST_END();
}
