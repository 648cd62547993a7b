/* test_store_repl.c — what the store gives a replicator and takes from one (store.h,
 * "replication"; docs/durability.md §6), on a real engine in a temporary directory: a store
 * keeps its id across reopens and a new one gets another; each round that writes goes to
 * the round function with its number and its puts and deletes; a snapshot holds the whole
 * store but its own meta; with the gate on, a round's tickets are durable only once the
 * replicas have it (or the gate goes off); a replacement leaves only what it writes; bad
 * round bytes are refused; a new store is fresh until settled or replaced, and its dump
 * leaves its own meta out. */
#include "test.h"
#include "core/err.h"
#include "store/store.h"
#include "store_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char store_test_root[256];

/* What the round function was given, as text: "r<round> s<snapshot> <cf>:<key>=<val> ...",
 * one line per call. */
typedef struct seen {
    pthread_mutex_t mu;
    int calls;
    uint64_t last_round;
    char text[16][512];
} seen;

typedef struct line {
    char *p;
    size_t cap;
} line;

static int describe(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                    size_t vl)
{
    line *l = ctx;
    size_t used = strlen(l->p);
    if (del)
        snprintf(l->p + used, l->cap - used, " %d:%.*s-", cf, (int)kl, (const char *)k);
    else
        snprintf(l->p + used, l->cap - used, " %d:%.*s=%.*s", cf, (int)kl, (const char *)k, (int)vl,
                 (const char *)v);
    return 0;
}

static void on_round(void *ctx, uint64_t round, int snapshot, const uint8_t *w, size_t len)
{
    seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->calls < 16) {
        char *t = s->text[s->calls];
        snprintf(t, 512, "r%llu s%d", (unsigned long long)round, snapshot);
        line l = {t, 512};
        if (st_store_records(w, len, describe, &l) < 0) snprintf(t, 512, "malformed");
    }
    s->calls++;
    s->last_round = round;
    pthread_mutex_unlock(&s->mu);
}

/* Wait (up to 10 s) until the round function has been called n times. */
static int calls(seen *s, int n)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&s->mu);
        int c = s->calls;
        pthread_mutex_unlock(&s->mu);
        if (c >= n) return 1;
        pause_ms(1);
    }
    return 0;
}

/* A store in dir name, started, its rounds described in sn. */
static st_store *started(const char *name, seen *sn)
{
    char err[600];
    st_store_cfg c = cfg_of(name, 0);
    st_store *s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK(s != NULL);
    if (!s) return NULL;
    st_store_on_round(s, on_round, sn);
    CHECK_EQ(st_store_start(s), 0);
    return s;
}

/* One put (v NULL: a delete) submitted: its ticket. */
static uint64_t write1(st_store *s, int cf, const char *k, const char *v)
{
    st_store_batch *b = st_store_batch_new();
    if (v)
        st_store_put(b, cf, k, strlen(k), v, strlen(v), 0);
    else
        st_store_del(b, cf, k, strlen(k));
    uint64_t t = st_store_submit(s, &b);
    st_store_batch_free(b);
    return t;
}

static void test_the_id_is_kept_and_a_new_store_gets_another(void)
{
    char err[600];
    st_store_cfg a = cfg_of("id-a", 0), b = cfg_of("id-b", 0);
    uint8_t first[ST_STORE_ID_LEN], again[ST_STORE_ID_LEN], other[ST_STORE_ID_LEN];
    st_store *s = st_store_open(&a, quiet(), err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    memcpy(first, st_store_id(s), sizeof first);
    st_store_close(s);
    s = st_store_open(&a, quiet(), err, sizeof err);
    memcpy(again, st_store_id(s), sizeof again);
    st_store_close(s);
    s = st_store_open(&b, quiet(), err, sizeof err);
    memcpy(other, st_store_id(s), sizeof other);
    st_store_close(s);
    CHECK(memcmp(first, again, sizeof first) == 0);
    CHECK(memcmp(first, other, sizeof first) != 0);
}

static void test_rounds_and_a_snapshot_go_to_the_round_function(void)
{
    seen sn = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {{0}}};
    st_store *s = started("rounds", &sn);
    if (!s) return;
    CHECK_EQ(settle(s, write1(s, ST_CF_SESSIONS, "c1", "one")), 1);
    CHECK(calls(&sn, 1));
    CHECK_STR(sn.text[0], "r1 s0 1:c1=one");
    CHECK_EQ(settle(s, write1(s, ST_CF_MSGS, "m1", "x")), 1);
    CHECK_EQ(settle(s, write1(s, ST_CF_SESSIONS, "c1", NULL)), 1);
    CHECK(calls(&sn, 3));
    CHECK_STR(sn.text[1], "r2 s0 2:m1=x");
    CHECK_STR(sn.text[2], "r3 s0 1:c1-");
    st_store_want_snapshot(s);
    CHECK(calls(&sn, 4));
    CHECK_STR(sn.text[3], "r3 s1 2:m1=x"); /* the store as round 3 left it, no meta of its own */
    st_store_close(s);
}

static void test_the_gate_holds_a_round_until_the_replicas_have_it(void)
{
    seen sn = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {{0}}};
    st_store *s = started("gate", &sn);
    if (!s) return;
    st_store_gate(s, 1);
    uint64_t t1 = write1(s, ST_CF_SESSIONS, "c1", "one");
    CHECK(calls(&sn, 1)); /* committed: the round went out */
    CHECK(st_store_durable(s) < t1);
    st_store_replicated(s, sn.last_round);
    CHECK_EQ(settle(s, t1), 1);
    uint64_t t2 = write1(s, ST_CF_SESSIONS, "c2", "two");
    CHECK(calls(&sn, 2));
    CHECK(st_store_durable(s) < t2);
    st_store_gate(s, 0); /* no replica to wait for any more: released */
    CHECK_EQ(settle(s, t2), 1);
    CHECK_EQ(settle(s, write1(s, ST_CF_SESSIONS, "c3", "three")), 1);
    st_store_close(s);
}

static int count(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(int *)ctx)++;
    return 0;
}

/* The last snapshot's bytes. */
typedef struct grab {
    pthread_mutex_t mu;
    uint8_t w[4096];
    size_t len;
    int snaps;
} grab;

static void on_snap(void *ctx, uint64_t round, int snapshot, const uint8_t *w, size_t len)
{
    grab *g = ctx;
    (void)round;
    if (!snapshot || len > sizeof g->w) return;
    pthread_mutex_lock(&g->mu);
    memcpy(g->w, w, len);
    g->len = len;
    g->snaps++;
    pthread_mutex_unlock(&g->mu);
}

static void test_a_replacement_leaves_only_what_it_writes(void)
{
    char err[600];
    /* the owner: its snapshot is what a mirror is replaced with */
    st_store_cfg oc = cfg_of("owner", 0);
    grab g = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
    st_store *o = st_store_open(&oc, quiet(), err, sizeof err);
    CHECK(o != NULL);
    if (!o) return;
    st_store_on_round(o, on_snap, &g);
    CHECK_EQ(st_store_start(o), 0);
    write1(o, ST_CF_SESSIONS, "c9", "nine");
    CHECK_EQ(settle(o, write1(o, ST_CF_META, "lane-b", "2")), 1);
    st_store_want_snapshot(o);
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&g.mu);
        int n = g.snaps;
        pthread_mutex_unlock(&g.mu);
        if (n) break;
        pause_ms(1);
    }
    st_store_close(o);
    CHECK_EQ(g.snaps, 1);

    /* the mirror, holding older records of its own */
    st_store_cfg mc = cfg_of("mirror", 0);
    st_store *s = st_store_open(&mc, quiet(), err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    uint8_t id[ST_STORE_ID_LEN];
    memcpy(id, st_store_id(s), sizeof id);
    CHECK_EQ(st_store_start(s), 0);
    write1(s, ST_CF_MSGS, "m1", "x");
    write1(s, ST_CF_QUEUE, "q1", "y");
    CHECK_EQ(settle(s, write1(s, ST_CF_META, "lane-a", "1")), 1);
    st_store_batch *b = st_store_batch_new();
    CHECK_EQ(st_store_put_records(b, g.w, g.len), 0);
    CHECK_EQ(st_store_put(b, ST_CF_META, "node", 4, "someone@else", 12, 0), 0); /* ignored */
    uint64_t t = st_store_submit_replace(s, &b);
    CHECK_EQ(settle(s, t), 1);
    st_store_batch_free(b);
    st_store_close(s);
    s = st_store_open(&mc, quiet(), err, sizeof err); /* still its node's, with its id */
    CHECK(s != NULL);
    if (!s) return;
    CHECK(memcmp(id, st_store_id(s), sizeof id) == 0);
    int msgs = 0, queue = 0, sessions = 0, meta = 0;
    st_store_scan(s, ST_CF_MSGS, count, &msgs);
    st_store_scan(s, ST_CF_QUEUE, count, &queue);
    st_store_scan(s, ST_CF_SESSIONS, count, &sessions);
    st_store_scan(s, ST_CF_META, count, &meta);
    CHECK_EQ(msgs, 0);
    CHECK_EQ(queue, 0);
    CHECK_EQ(sessions, 1);
    CHECK_EQ(meta, 4); /* format, node, id, lane-b */
    st_store_close(s);
}

/* A store made empty is fresh until it is settled (before or after its start) or replaced;
 * a dump holds every record but the store's own meta. */
static void test_a_new_store_is_fresh_until_settled_or_replaced(void)
{
    char err[600], text[512] = "";
    st_store_cfg a = cfg_of("fresh-a", 0), b = cfg_of("fresh-b", 0), c = cfg_of("fresh-c", 0);
    st_store *s = st_store_open(&a, quiet(), err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ(st_store_fresh(s), 1);
    CHECK_EQ(st_store_settle_fresh(s), 0); /* before the start: written at once */
    CHECK_EQ(st_store_fresh(s), 0);
    st_store_close(s);
    s = st_store_open(&a, quiet(), err, sizeof err);
    CHECK_EQ(st_store_fresh(s), 0);
    st_store_close(s);

    s = st_store_open(&b, quiet(), err, sizeof err);
    CHECK(s && st_store_fresh(s) && st_store_start(s) == 0);
    if (!s) return;
    write1(s, ST_CF_SESSIONS, "c1", "one");
    CHECK_EQ(settle(s, write1(s, ST_CF_META, "lane", "1")), 1);
    st_store_batch *d = st_store_batch_new();
    CHECK_EQ(st_store_dump(s, d), 0);
    size_t len;
    const uint8_t *w = st_store_batch_bytes(d, &len);
    line l = {text, sizeof text};
    CHECK_EQ(st_store_records(w, len, describe, &l), 0);
    CHECK_STR(text, " 0:lane=1 1:c1=one"); /* no format, node, id nor fresh */
    CHECK_EQ(st_store_settle_fresh(s), 0); /* started: in the next round */
    st_store_close(s);
    s = st_store_open(&b, quiet(), err, sizeof err);
    CHECK_EQ(st_store_fresh(s), 0);
    st_store_close(s);

    s = st_store_open(&c, quiet(), err, sizeof err);
    CHECK(s && st_store_fresh(s) && st_store_start(s) == 0);
    if (!s) return;
    st_store_batch *r = st_store_batch_new();
    CHECK_EQ(st_store_put_records(r, w, len), 0);
    CHECK_EQ(settle(s, st_store_submit_replace(s, &r)), 1);
    CHECK_EQ(st_store_fresh(s), 0);
    st_store_close(s);
    s = st_store_open(&c, quiet(), err, sizeof err);
    int sessions = 0;
    CHECK(s && st_store_fresh(s) == 0);
    if (s) st_store_scan(s, ST_CF_SESSIONS, count, &sessions);
    CHECK_EQ(sessions, 1);
    st_store_close(s);
    st_store_batch_free(r);
    st_store_batch_free(d);
}

static int nothing(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                   size_t vl)
{
    (void)ctx, (void)cf, (void)del, (void)k, (void)kl, (void)v, (void)vl;
    return 0;
}

static void test_bad_round_bytes_are_refused(void)
{
    /* [cf][op][klen16][vlen32][key][val] */
    const uint8_t good[] = {1, 1, 0, 1, 0, 0, 0, 1, 'k', 'v'};
    CHECK_EQ(st_store_records(good, sizeof good, nothing, NULL), 0);
    CHECK_EQ(st_store_records(good, sizeof good - 1, nothing, NULL), ST_EMALFORMED);
    CHECK_EQ(st_store_records(good, 7, nothing, NULL), ST_EMALFORMED);
    uint8_t bad[sizeof good];
    memcpy(bad, good, sizeof bad);
    bad[0] = ST_CF_N; /* no such column family */
    CHECK_EQ(st_store_records(bad, sizeof bad, nothing, NULL), ST_EMALFORMED);
    memcpy(bad, good, sizeof bad);
    bad[1] = 9; /* no such op */
    CHECK_EQ(st_store_records(bad, sizeof bad, nothing, NULL), ST_EMALFORMED);
    memcpy(bad, good, sizeof bad);
    bad[1] = 3; /* a delete with a value */
    CHECK_EQ(st_store_records(bad, sizeof bad, nothing, NULL), ST_EMALFORMED);
    st_store_batch *b = st_store_batch_new();
    CHECK_EQ(st_store_put_records(b, bad, sizeof bad), ST_EMALFORMED);
    CHECK(st_store_batch_empty(b)); /* all or nothing */
    CHECK_EQ(st_store_put_records(b, good, sizeof good), 0);
    CHECK(!st_store_batch_empty(b));
    st_store_batch_free(b);
}

int main(void)
{
    snprintf(store_test_root, sizeof store_test_root, "/tmp/test_store_repl.XXXXXX");
    if (!mkdtemp(store_test_root)) return 1;
    RUN(test_the_id_is_kept_and_a_new_store_gets_another);
    RUN(test_rounds_and_a_snapshot_go_to_the_round_function);
    RUN(test_the_gate_holds_a_round_until_the_replicas_have_it);
    RUN(test_a_replacement_leaves_only_what_it_writes);
    RUN(test_bad_round_bytes_are_refused);
    RUN(test_a_new_store_is_fresh_until_settled_or_replaced);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", store_test_root);
    if (system(cmd) != 0) return 1;
    return TEST_END();
}
