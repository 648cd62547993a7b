/* test_subs.c — the subscription table's side of routes (docs/cluster.md §7): the hook
 * announces a plain filter on its first local subscriber and withdraws it on its last;
 * routes of other nodes match into a node set without local targets, and leave no empty
 * trie nodes behind. */
#include "test.h"
#include "broker/settings.h"
#include "broker/subs.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen {
    char filter[64][32];
    char group[64][16];
    int present[64];
    int n;
} seen;

static void hook(void *cx, const char *filter, size_t len, const char *group, size_t glen,
                 uint32_t count)
{
    seen *s = cx;
    if (s->n == 64) return;
    snprintf(s->filter[s->n], sizeof s->filter[0], "%.*s", (int)len, filter);
    snprintf(s->group[s->n], sizeof s->group[0], "%.*s", (int)glen, group ? group : "");
    s->present[s->n++] = (int)count;
}

#define PLAIN(f, on)                                                                               \
    {                                                                                              \
        f, sizeof f - 1, on, NULL, 0, 0                                                            \
    }
#define SHARE(f, g, n)                                                                             \
    {                                                                                              \
        f, sizeof f - 1, n != 0, g, sizeof g - 1, n                                                \
    }

static st_target T(uint64_t sid)
{
    st_target t = {.sid = sid, .qos = 1};
    return t;
}

static size_t match(st_subs *s, const char *topic, st_nodeset *dest, st_tvec *tv)
{
    st_msg *m = st_msg_new(topic, (uint32_t)strlen(topic), NULL, 0, NULL, 0, 0, 0, 0);
    static uint64_t rng = 1;
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
    CHECK_EQ(st_subs_del(s, "x/+", 3, 1), 1);
    CHECK_EQ(sn.n, 1); /* b is still there */
    CHECK_EQ(st_subs_del(s, "x/+", 3, 2), 1);
    CHECK_EQ(sn.n, 2);
    CHECK_STR(sn.filter[1], "x/+");
    CHECK_EQ(sn.present[1], 0);
    CHECK_EQ(st_subs_del(s, "x/+", 3, 2), 0);
    CHECK_EQ(sn.n, 2);
    /* shared groups announce their member count on every change */
    CHECK_EQ(st_subs_add(s, "$share/g/y", 10, &a), 1);
    CHECK_EQ(st_subs_add(s, "$share/g/y", 10, &b), 1);
    CHECK_EQ(st_subs_del(s, "$share/g/y", 10, 1), 1);
    CHECK_EQ(st_subs_del(s, "$share/g/y", 10, 2), 1);
    CHECK_EQ(sn.n, 6);
    CHECK_STR(sn.filter[2], "y");
    CHECK_STR(sn.group[2], "g");
    CHECK_EQ(sn.present[2], 1);
    CHECK_EQ(sn.present[3], 2);
    CHECK_EQ(sn.present[4], 1);
    CHECK_EQ(sn.present[5], 0);
    st_subs_free(s);
}

static void test_remote(void)
{
    st_subs *s = st_subs_new(0);
    st_tvec tv = {0};
    st_nodeset d;
    st_route_op add[] = {PLAIN("a/#", 1), PLAIN("a/b", 1), PLAIN("c", 1)};
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
    st_route_op del[] = {PLAIN("c", 0), PLAIN("a/b", 0), PLAIN("never", 0)};
    CHECK_EQ(st_subs_remote_apply(s, del, 3, 7), 0);
    CHECK_EQ(match(s, "c", &d, &tv), 1);
    CHECK(st_nodeset_empty(&d));
    CHECK_EQ(st_subs_del(s, "c", 1, 9), 1);
    CHECK_EQ(match(s, "c", &d, &tv), 0);
    CHECK(st_nodeset_empty(&d));
    CHECK_EQ(st_subs_remote_count(s), 2); /* a/# on 7 and on 200 */
    st_route_op rest[] = {PLAIN("a/#", 0)};
    st_subs_remote_apply(s, rest, 1, 7);
    st_subs_remote_apply(s, rest, 1, 200);
    CHECK_EQ(st_subs_remote_count(s), 0);
    CHECK_EQ(match(s, "a/b", &d, &tv), 0);
    CHECK(st_nodeset_empty(&d));
    st_tvec_free(&tv);
    st_subs_free(s);
}

/* A group with one local member and members on two other nodes (3 and 1 of them): round
 * robin over 5 picks the local member once, node 7 three times and node 9 once; a message
 * from another node (plain only) picks nobody. */
static void test_remote_group(void)
{
    st_subs *s = st_subs_new(ST_SHARE_ROUND_ROBIN);
    st_tvec tv = {0};
    st_nodeset d;
    st_target a = T(1);
    CHECK_EQ(st_subs_add(s, "$share/g/t/+", 12, &a), 1);
    st_route_op on7[] = {SHARE("t/+", "g", 3)}, on9[] = {SHARE("t/+", "g", 1)};
    CHECK_EQ(st_subs_remote_apply(s, on7, 1, 7), 0);
    CHECK_EQ(st_subs_remote_apply(s, on9, 1, 9), 0);
    int local = 0, n7 = 0, n9 = 0;
    for (int i = 0; i < 50; i++) {
        local += (int)match(s, "t/x", &d, &tv);
        CHECK(d.npicks <= 1 && st_nodeset_empty(&(st_nodeset){.b = {d.b[0]}}));
        for (uint32_t k = 0; k < d.npicks; k++) {
            CHECK_STR(d.picks[k].key->s, "$share/g/t/+");
            n7 += d.picks[k].slot == 7;
            n9 += d.picks[k].slot == 9;
            st_sharekey_unref(d.picks[k].key);
        }
    }
    CHECK_EQ(local, 10);
    CHECK_EQ(n7, 30);
    CHECK_EQ(n9, 10);
    st_msg *m = st_msg_new("t/x", 3, NULL, 0, NULL, 0, 0, 0, 0);
    uint64_t rng = 1;
    tv.n = 0;
    CHECK_EQ(st_subs_match_plain(s, m, &rng, &tv), 0);
    st_target t;
    CHECK_EQ(st_subs_pick_name(s, "$share/g/t/+", 12, m, 0, &rng, &t), 1); /* a SHARED record */
    CHECK_EQ(t.sid, 1);
    st_sharekey_unref(t.share);
    /* the local member leaves: the group lives on for the remote ones, then goes */
    CHECK_EQ(st_subs_del(s, "$share/g/t/+", 12, 1), 1);
    CHECK_EQ(st_subs_pick_name(s, "$share/g/t/+", 12, m, 0, &rng, &t), 0);
    CHECK_EQ(match(s, "t/x", &d, &tv), 0);
    CHECK_EQ(d.npicks, 1);
    st_sharekey_unref(d.picks[0].key);
    st_route_op off7[] = {SHARE("t/+", "g", 0)};
    st_subs_remote_apply(s, off7, 1, 7);
    st_subs_remote_apply(s, off7, 1, 9);
    CHECK_EQ(st_subs_remote_count(s), 0);
    CHECK_EQ(match(s, "t/x", &d, &tv), 0);
    CHECK_EQ(d.npicks, 0);
    st_msg_unref(m);
    st_tvec_free(&tv);
    st_subs_free(s);
}

int main(void)
{
    RUN(test_hook);
    RUN(test_remote);
    RUN(test_remote_group);
    return TEST_END();
}
