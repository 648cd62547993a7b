/* test_subs.c — the subscription table's side of routes (docs/cluster.md §7): the hook
 * announces a plain filter on its first local subscriber and withdraws it on its last;
 * routes of other nodes match into a node set without local targets, and leave no empty
 * trie nodes behind. */
#include "test.h"
#include "broker/subs.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen {
    char filter[64][32];
    int present[64];
    int n;
} seen;

static void hook(void *cx, const char *filter, size_t len, int present)
{
    seen *s = cx;
    if (s->n == 64) return;
    snprintf(s->filter[s->n], sizeof s->filter[0], "%.*s", (int)len, filter);
    s->present[s->n++] = present;
}

static st_target T(uint64_t sid)
{
    st_target t = {.sid = sid, .qos = 1};
    return t;
}

static size_t match(st_subs *s, const char *topic, st_nodeset *dest, st_tvec *tv)
{
    st_msg *m = st_msg_new(topic, (uint32_t)strlen(topic), NULL, 0, NULL, 0, 0, 0, 0);
    uint64_t rng = 1;
    memset(dest, 0, sizeof *dest);
    tv->n = 0;
    size_t n = st_subs_match(s, m, "", 0, 0, &rng, tv, dest);
    for (size_t i = 0; i < tv->n; i++)
        st_sharekey_unref(tv->v[i].share);
    st_msg_unref(m);
    return n;
}

static void test_hook(void)
{
    st_subs *s = st_subs_new(0);
    seen sn = {0};
    st_subs_set_route_hook(s, hook, &sn);
    st_target a = T(1), b = T(2);
    CHECK_EQ(st_subs_add(s, "x/+", 3, &a), 1);
    CHECK_EQ(st_subs_add(s, "x/+", 3, &b), 1);
    CHECK_EQ(st_subs_add(s, "x/+", 3, &b), 0); /* options replaced: no route change */
    CHECK_EQ(sn.n, 1);
    CHECK_STR(sn.filter[0], "x/+");
    CHECK_EQ(sn.present[0], 1);
    CHECK_EQ(st_subs_add(s, "$share/g/y", 10, &a), 1); /* shared groups: not routes (yet) */
    CHECK_EQ(sn.n, 1);
    CHECK_EQ(st_subs_del(s, "x/+", 3, 1), 1);
    CHECK_EQ(sn.n, 1); /* b is still there */
    CHECK_EQ(st_subs_del(s, "x/+", 3, 2), 1);
    CHECK_EQ(sn.n, 2);
    CHECK_STR(sn.filter[1], "x/+");
    CHECK_EQ(sn.present[1], 0);
    CHECK_EQ(st_subs_del(s, "x/+", 3, 2), 0);
    CHECK_EQ(sn.n, 2);
    st_subs_free(s);
}

static void test_remote(void)
{
    st_subs *s = st_subs_new(0);
    st_tvec tv = {0};
    st_nodeset d;
    st_route_op add[] = {{"a/#", 3, 1}, {"a/b", 3, 1}, {"c", 1, 1}};
    CHECK_EQ(st_subs_remote_apply(s, add, 3, 7), 0);
    CHECK_EQ(st_subs_remote_apply(s, add, 1, 200), 0);
    CHECK_EQ(st_subs_remote_apply(s, add, 1, 200), 0); /* idempotent */
    CHECK_EQ(st_subs_remote_count(s), 4);
    CHECK_EQ(st_subs_count(s), 0);
    CHECK_EQ(match(s, "a/b", &d, &tv), 0); /* no local targets */
    CHECK(d.b[0] == 1ull << 7 && d.b[3] == 1ull << (200 - 192));
    CHECK_EQ(match(s, "c", &d, &tv), 0);
    CHECK(d.b[0] == 1ull << 7 && !d.b[3]);
    CHECK_EQ(match(s, "zzz", &d, &tv), 0);
    CHECK(st_nodeset_empty(&d));
    /* a local subscriber next to a remote route */
    st_target a = T(9);
    CHECK_EQ(st_subs_add(s, "c", 1, &a), 1);
    CHECK_EQ(match(s, "c", &d, &tv), 1);
    CHECK(d.b[0] == 1ull << 7);
    st_route_op del[] = {{"c", 1, 0}, {"a/b", 3, 0}, {"never", 5, 0}};
    CHECK_EQ(st_subs_remote_apply(s, del, 3, 7), 0);
    CHECK_EQ(match(s, "c", &d, &tv), 1);
    CHECK(st_nodeset_empty(&d));
    CHECK_EQ(st_subs_del(s, "c", 1, 9), 1);
    CHECK_EQ(match(s, "c", &d, &tv), 0);
    CHECK(st_nodeset_empty(&d));
    CHECK_EQ(st_subs_remote_count(s), 2); /* a/# on 7 and on 200 */
    st_route_op rest[] = {{"a/#", 3, 0}};
    st_subs_remote_apply(s, rest, 1, 7);
    st_subs_remote_apply(s, rest, 1, 200);
    CHECK_EQ(st_subs_remote_count(s), 0);
    CHECK_EQ(match(s, "a/b", &d, &tv), 0);
    CHECK(st_nodeset_empty(&d));
    st_tvec_free(&tv);
    st_subs_free(s);
}

int main(void)
{
    RUN(test_hook);
    RUN(test_remote);
    return TEST_END();
}
