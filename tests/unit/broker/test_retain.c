/* test_retain.c — the retained store's versions (docs/cluster.md §9.2): the last writer
 * wins by version, whatever order the writes arrive in; a deletion is a tombstone that
 * subscribers never see and that keeps an older write from coming back; ties are broken
 * the same way on every node; unversioned (standalone) writes always win. */
#include "test.h"
#include "broker/retain.h"

#include <stdlib.h>
#include <string.h>

static st_msg *M(const char *topic, const char *payload, uint64_t rv)
{
    st_msg *m = st_msg_new(topic, (uint32_t)strlen(topic), (const uint8_t *)payload,
                           (uint32_t)strlen(payload), NULL, 0, 1, 0, 0);
    m->rv = rv;
    return m;
}

static int put(st_retain *r, const char *topic, const char *payload, uint64_t rv)
{
    st_msg *m = M(topic, payload, rv);
    int rc = st_retain_put(r, m);
    st_msg_unref(m);
    return rc;
}

typedef struct got {
    char payload[32];
    int n;
} got;

static void cb(st_msg *m, void *ctx)
{
    got *g = ctx;
    snprintf(g->payload, sizeof g->payload, "%.*s", (int)m->payload_len, m->payload);
    g->n++;
    st_msg_unref(m);
}

static const char *read1(st_retain *r, const char *topic)
{
    static got g;
    memset(&g, 0, sizeof g);
    st_retain_match(r, topic, strlen(topic), 0, cb, &g);
    return g.n ? g.payload : "(none)";
}

static void count_cb(st_msg *m, void *ctx)
{
    (*(int *)ctx)++;
    st_msg_unref(m);
}

static void test_last_writer_wins(void)
{
    st_retain *r = st_retain_new(0);
    CHECK_EQ(put(r, "t", "v20", 20), 1);
    CHECK_EQ(put(r, "t", "v10", 10), 0); /* older, arriving late: refused */
    CHECK_STR(read1(r, "t"), "v20");
    CHECK_EQ(put(r, "t", "v30", 30), 1);
    CHECK_STR(read1(r, "t"), "v30");
    CHECK_EQ(put(r, "t", "", 40), 1); /* delete: a tombstone */
    CHECK_STR(read1(r, "t"), "(none)");
    CHECK_STR(read1(r, "#"), "(none)");
    CHECK_EQ(st_retain_count(r), 0);
    CHECK_EQ(put(r, "t", "v35", 35), 0); /* older than the deletion: stays deleted */
    CHECK_STR(read1(r, "t"), "(none)");
    int all = 0;
    st_retain_dump(r, count_cb, &all); /* the tombstone travels in catch-up */
    CHECK_EQ(all, 1);
    CHECK_EQ(put(r, "t", "v50", 50), 1);
    CHECK_STR(read1(r, "t"), "v50");
    CHECK_EQ(st_retain_count(r), 1);
    st_retain_free(r);
}

static void test_ties_and_standalone(void)
{
    /* the same two writes with one version, in both orders: the same winner */
    st_retain *a = st_retain_new(0), *b = st_retain_new(0);
    put(a, "x", "left", 7);
    put(a, "x", "right", 7);
    put(b, "x", "right", 7);
    put(b, "x", "left", 7);
    char wa[32];
    snprintf(wa, sizeof wa, "%s", read1(a, "x"));
    CHECK_STR(read1(b, "x"), wa);
    /* unversioned writes (no cluster) always win, and their deletes leave nothing */
    CHECK_EQ(put(a, "x", "plain", 0), 1);
    CHECK_STR(read1(a, "x"), "plain");
    CHECK_EQ(put(a, "x", "", 0), 1);
    int all = 0;
    st_retain_dump(a, count_cb, &all);
    CHECK_EQ(all, 0);
    /* '$' topics are dumped too */
    put(b, "$SYS/x", "sys", 9);
    all = 0;
    st_retain_dump(b, count_cb, &all);
    CHECK_EQ(all, 2);
    st_retain_free(a);
    st_retain_free(b);
}

static void test_full(void)
{
    st_retain *r = st_retain_new(1);
    CHECK_EQ(put(r, "a", "1", 1), 1);
    CHECK_EQ(put(r, "b", "1", 1) < 0, 1); /* ST_EFULL */
    CHECK_EQ(put(r, "a", "", 2), 1);      /* a tombstone does not count */
    CHECK_EQ(put(r, "b", "1", 3), 1);
    st_retain_free(r);
}

static void test_tombstone_gc(void)
{
    st_retain *r = st_retain_new(0);
    CHECK_EQ(put(r, "a", "", 10), 1); /* tombstones at 10 and 30 */
    CHECK_EQ(put(r, "b", "", 30), 1);
    CHECK_EQ(put(r, "c", "v5", 5), 1); /* a live message is never collected */
    CHECK_EQ(st_retain_gc(r, 20), 1);
    int all = 0;
    st_retain_dump(r, count_cb, &all);
    CHECK_EQ(all, 2);                  /* b's tombstone and c */
    CHECK_EQ(put(r, "a", "v1", 1), 1); /* the window is over: an old write is taken again */
    CHECK_EQ(put(r, "b", "v1", 1), 0); /* b's tombstone still stops it */
    CHECK_EQ(st_retain_gc(r, 100), 1);
    CHECK_STR(read1(r, "c"), "v5");
    CHECK_EQ(st_retain_count(r), 2);
    st_retain_free(r);
}

int main(void)
{
    RUN(test_last_writer_wins);
    RUN(test_ties_and_standalone);
    RUN(test_full);
    RUN(test_tombstone_gc);
    return TEST_END();
}
