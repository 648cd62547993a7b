/* test_trie.c — the topic trie: the MQTT spec's wildcard examples, '$' topics, empty
 * levels, slot/prune hygiene, scans of a topic set, wide and very deep tries, and a
 * randomized cross-check of st_trie_match / st_trie_scan against st_topic_match. */
#include "test.h"
#include "core/err.h"
#include "route/trie.h"

#include <stdint.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------------------- */

#define MAXHITS 64

struct hits {
    const char *v[MAXHITS];
    int n;
};

static void hit_cb(void *val, void *ctx)
{
    struct hits *h = ctx;
    if (h->n < MAXHITS) h->v[h->n] = val;
    h->n++;
}

static int hit_scan_cb(void *val, void *ctx)
{
    hit_cb(val, ctx);
    return 0;
}

static int has(const struct hits *h, const char *s)
{
    for (int i = 0; i < h->n && i < MAXHITS; i++)
        if (strcmp(h->v[i], s) == 0) return 1;
    return 0;
}

/* Store each string as its own value. */
static st_trie *build(const char *const *items, int n)
{
    st_trie *t = st_trie_new();
    for (int i = 0; i < n; i++) {
        void **slot = st_trie_slot(t, items[i], strlen(items[i]));
        if (slot) *slot = (void *)items[i];
    }
    return t;
}

static struct hits match(const st_trie *t, const char *topic)
{
    struct hits h = {.n = 0};
    st_trie_match(t, topic, strlen(topic), hit_cb, &h);
    return h;
}

static struct hits scan(const st_trie *t, const char *filter)
{
    struct hits h = {.n = 0};
    st_trie_scan(t, filter, strlen(filter), hit_scan_cb, &h);
    return h;
}

static int tm(const char *f, const char *t)
{
    return st_topic_match(f, strlen(f), t, strlen(t));
}

/* Does the trie of {filter} report filter for topic, and does st_topic_match agree? */
static int both(const char *f, const char *topic)
{
    st_trie *t = build(&f, 1);
    struct hits h = match(t, topic);
    st_trie_free(t, NULL, NULL);
    int m = tm(f, topic);
    if (m != h.n) fprintf(stderr, "disagree: filter %s topic %s\n", f, topic);
    return m == h.n ? m : -1;
}

/* ---- spec examples ------------------------------------------------------------------- */

static void test_spec_hash(void)
{
    /* MQTT 3.1.1 4.7.1.2 / MQTT 5 4.7.1.2 */
    CHECK_EQ(both("sport/tennis/player1/#", "sport/tennis/player1"), 1);
    CHECK_EQ(both("sport/tennis/player1/#", "sport/tennis/player1/ranking"), 1);
    CHECK_EQ(both("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"), 1);
    CHECK_EQ(both("sport/tennis/player1/#", "sport/tennis/player2"), 0);
    CHECK_EQ(both("sport/tennis/player1/#", "sport/tennis"), 0);
    CHECK_EQ(both("sport/#", "sport"), 1);
    CHECK_EQ(both("#", "sport"), 1);
    CHECK_EQ(both("#", "/"), 1);
    CHECK_EQ(both("#", "a/b/c"), 1);
    CHECK_EQ(both("sport/tennis/#", "sport/tennis"), 1);
    CHECK_EQ(both("sport/tennis/#", "sport/tennisX"), 0);
}

static void test_spec_plus(void)
{
    /* 4.7.1.3 */
    CHECK_EQ(both("sport/tennis/+", "sport/tennis/player1"), 1);
    CHECK_EQ(both("sport/tennis/+", "sport/tennis/player2"), 1);
    CHECK_EQ(both("sport/tennis/+", "sport/tennis/player1/ranking"), 0);
    CHECK_EQ(both("sport/+", "sport"), 0);
    CHECK_EQ(both("sport/+", "sport/"), 1);
    CHECK_EQ(both("+", "sport"), 1);
    CHECK_EQ(both("+", "sport/x"), 0);
    CHECK_EQ(both("+/tennis/#", "sport/tennis/player1"), 1);
    CHECK_EQ(both("+/tennis/#", "sport/tennis"), 1);
    CHECK_EQ(both("sport/+/player1", "sport/tennis/player1"), 1);
    CHECK_EQ(both("sport/+/player1", "sport/tennis/player2"), 0);
    /* "/finance" matches "+/+" and "/+", but not "+" */
    CHECK_EQ(both("+/+", "/finance"), 1);
    CHECK_EQ(both("/+", "/finance"), 1);
    CHECK_EQ(both("+", "/finance"), 0);
    CHECK_EQ(both("+/+/+", "/finance"), 0);
    CHECK_EQ(both("+/#", "/finance"), 1);
}

static void test_spec_dollar(void)
{
    /* 4.7.2: $ topics are not matched by a leading wildcard */
    CHECK_EQ(both("#", "$SYS/monitor/Clients"), 0);
    CHECK_EQ(both("+/monitor/Clients", "$SYS/monitor/Clients"), 0);
    CHECK_EQ(both("+/monitor/Clients", "SYS/monitor/Clients"), 1);
    CHECK_EQ(both("$SYS/#", "$SYS/monitor/Clients"), 1);
    CHECK_EQ(both("$SYS/#", "$SYS"), 1);
    CHECK_EQ(both("$SYS/monitor/+", "$SYS/monitor/Clients"), 1);
    CHECK_EQ(both("+", "$SYS"), 0);
    CHECK_EQ(both("+/#", "$SYS/x"), 0);
    CHECK_EQ(both("$SYS/+/Clients", "$SYS/monitor/Clients"), 1);
    /* '$' elsewhere than the first character is ordinary */
    CHECK_EQ(both("+/$x", "a/$x"), 1);
    CHECK_EQ(both("a/+", "a/$x"), 1);
    CHECK_EQ(both("a/#", "a/$x/y"), 1);
    CHECK_EQ(both("+", "x$"), 1);

    /* all at once in one trie */
    const char *fs[] = {"#", "+/monitor/Clients", "$SYS/#", "$SYS/monitor/+", "+/+/+"};
    st_trie *t = build(fs, 5);
    struct hits h = match(t, "$SYS/monitor/Clients");
    CHECK_EQ(h.n, 2);
    CHECK(has(&h, "$SYS/#") && has(&h, "$SYS/monitor/+"));
    h = match(t, "SYS/monitor/Clients");
    CHECK_EQ(h.n, 3);
    CHECK(has(&h, "#") && has(&h, "+/monitor/Clients") && has(&h, "+/+/+"));
    st_trie_free(t, NULL, NULL);
}

static void test_empty_levels(void)
{
    CHECK_EQ(both("a//b", "a//b"), 1);
    CHECK_EQ(both("a/+/b", "a//b"), 1);
    CHECK_EQ(both("a/b", "a//b"), 0);
    CHECK_EQ(both("/a", "/a"), 1);
    CHECK_EQ(both("/a", "a"), 0);
    CHECK_EQ(both("+/a", "/a"), 1);
    CHECK_EQ(both("a/", "a/"), 1);
    CHECK_EQ(both("a/", "a"), 0);
    CHECK_EQ(both("a/+", "a/"), 1);
    CHECK_EQ(both("a/#", "a/"), 1);
    CHECK_EQ(both("/", "/"), 1);
    CHECK_EQ(both("+/+", "/"), 1);
    CHECK_EQ(both("//", "//"), 1);
    CHECK_EQ(both("//", "/"), 0);
    CHECK_EQ(both("#", "//"), 1);
    /* literal levels that merely contain wildcard characters */
    CHECK_EQ(both("a+", "a+"), 1);
    CHECK_EQ(both("a+", "ab"), 0);

    const char *fs[] = {"a//b", "a/+/b", "a/#", "+//b", "/", "//"};
    st_trie *t = build(fs, 6);
    struct hits h = match(t, "a//b");
    CHECK_EQ(h.n, 4);
    CHECK(has(&h, "a//b") && has(&h, "a/+/b") && has(&h, "a/#") && has(&h, "+//b"));
    h = match(t, "/");
    CHECK_EQ(h.n, 1);
    CHECK(has(&h, "/"));
    CHECK_EQ(st_trie_count(t), 6);
    st_trie_free(t, NULL, NULL);
}

static void test_levels_share_check(void)
{
    CHECK_EQ(st_topic_levels("", 0), 1);
    CHECK_EQ(st_topic_levels("a", 1), 1);
    CHECK_EQ(st_topic_levels("a/b", 3), 2);
    CHECK_EQ(st_topic_levels("/", 1), 2);
    CHECK_EQ(st_topic_levels("a//b/", 5), 4);

    const char *g, *f;
    size_t gl, fl;
#define SHARE(s) st_share_parse(s, strlen(s), &g, &gl, &f, &fl)
    CHECK_EQ(SHARE("$share/grp/a/b"), 1);
    CHECK(gl == 3 && memcmp(g, "grp", 3) == 0 && fl == 3 && memcmp(f, "a/b", 3) == 0);
    CHECK_EQ(SHARE("$share/g/#"), 1);
    CHECK(gl == 1 && fl == 1 && f[0] == '#');
    CHECK_EQ(SHARE("$share/g//"), 1); /* filter "/" */
    CHECK(fl == 1 && f[0] == '/');
    CHECK_EQ(SHARE("$queue/x/y"), 1);
    CHECK(gl == 6 && memcmp(g, "$queue", 6) == 0 && fl == 3 && memcmp(f, "x/y", 3) == 0);
    CHECK_EQ(SHARE("a/b"), 0);
    CHECK_EQ(SHARE("$SYS/x"), 0);
    CHECK_EQ(SHARE("$sharex/g/a"), 0);
    CHECK_EQ(SHARE("$queued/a"), 0);
    CHECK_EQ(SHARE("share/g/a"), 0);
    CHECK_EQ(SHARE("$share"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share/"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share/g"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share/g/"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share//a"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share/+/a"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share/g#/a"), ST_ETOPIC);
    CHECK_EQ(SHARE("$share/a+b/a"), ST_ETOPIC);
    CHECK_EQ(SHARE("$queue"), ST_ETOPIC);
    CHECK_EQ(SHARE("$queue/"), ST_ETOPIC);
#undef SHARE

#define FC(s) st_filter_check(s, strlen(s))
    CHECK_EQ(FC("#"), 0);
    CHECK_EQ(FC("+"), 0);
    CHECK_EQ(FC("sport/tennis/#"), 0);
    CHECK_EQ(FC("+/tennis/#"), 0);
    CHECK_EQ(FC("sport/+/player1"), 0);
    CHECK_EQ(FC("/"), 0);
    CHECK_EQ(FC("//+//"), 0);
    CHECK_EQ(FC(""), ST_ETOPIC);
    CHECK_EQ(FC("sport/tennis#"), ST_ETOPIC);
    CHECK_EQ(FC("sport/tennis/#/ranking"), ST_ETOPIC);
    CHECK_EQ(FC("sport+"), ST_ETOPIC);
    CHECK_EQ(FC("#/"), ST_ETOPIC);
    CHECK_EQ(FC("++"), ST_ETOPIC);
    CHECK_EQ(st_filter_check("a\0b", 3), ST_ETOPIC);
#undef FC
    CHECK_EQ(st_topic_check("a/b", 3), 0);
    CHECK_EQ(st_topic_check("/", 1), 0);
    CHECK_EQ(st_topic_check("", 0), ST_ETOPIC);
    CHECK_EQ(st_topic_check("a/+", 3), ST_ETOPIC);
    CHECK_EQ(st_topic_check("a#", 2), ST_ETOPIC);
    CHECK_EQ(st_topic_check("a\0", 2), ST_ETOPIC);
}

/* ---- slot / find / prune ------------------------------------------------------------- */

static void *S(int i)
{
    return (void *)(uintptr_t)(i + 1);
}

static void test_slot_prune(void)
{
    st_trie *t = st_trie_new();
    CHECK_EQ(st_trie_count(t), 0);
    CHECK_EQ(st_trie_nodes(t), 0);
    CHECK(st_trie_find(t, "a", 1) == NULL);
    st_trie_prune(t, "a", 1); /* absent: no-op */

    void **ab = st_trie_slot(t, "a/b", 3);
    CHECK(ab && *ab == NULL);
    CHECK_EQ(st_trie_count(t), 0); /* NULL values do not count */
    CHECK_EQ(st_trie_nodes(t), 2);
    CHECK(st_trie_slot(t, "a/b", 3) == ab); /* same slot again */
    CHECK(st_trie_find(t, "a/b", 3) == ab);
    void **a = st_trie_find(t, "a", 1); /* the parent exists, empty */
    CHECK(a && *a == NULL);
    *ab = S(1);
    CHECK(st_trie_slot(t, "a", 1) == a);
    *a = S(2);
    CHECK_EQ(st_trie_count(t), 2);

    /* prune never removes a node with a value or with children */
    st_trie_prune(t, "a/b", 3);
    st_trie_prune(t, "a", 1);
    CHECK(st_trie_find(t, "a/b", 3) == ab);
    *a = NULL;
    st_trie_prune(t, "a", 1);
    CHECK(st_trie_find(t, "a", 1) == a); /* still has child a/b */
    *ab = NULL;
    st_trie_prune(t, "a/b", 3); /* removes a/b, then the now-empty a */
    CHECK(st_trie_find(t, "a/b", 3) == NULL);
    CHECK(st_trie_find(t, "a", 1) == NULL);
    CHECK_EQ(st_trie_nodes(t), 0);

    /* wildcard nodes are nodes too */
    const char *fs[] = {"+", "#", "a/+/#", "+/+", "a/#", "", "/", "$SYS/#", "a//b", "a/+"};
    int n = (int)(sizeof(fs) / sizeof(fs[0]));
    for (int i = 0; i < n; i++)
        *st_trie_slot(t, fs[i], strlen(fs[i])) = S(i);
    CHECK_EQ(st_trie_count(t), n);
    for (int i = 0; i < n; i++) {
        void **s = st_trie_find(t, fs[i], strlen(fs[i]));
        CHECK(s && *s == S(i));
    }
    CHECK(st_trie_find(t, "a", 1) != NULL);
    CHECK(st_trie_find(t, "a/b", 3) == NULL);
    CHECK(st_trie_find(t, "+/+/+", 5) == NULL);
    for (int i = n - 1; i >= 0; i--) {
        void **s = st_trie_find(t, fs[i], strlen(fs[i]));
        *s = NULL;
        st_trie_prune(t, fs[i], strlen(fs[i]));
        /* a/+ (i == 9) still has the child a/+/#, which goes at i == 2 */
        CHECK((st_trie_find(t, fs[i], strlen(fs[i])) == NULL) == (i != 9));
        CHECK_EQ(st_trie_count(t), i);
    }
    CHECK_EQ(st_trie_nodes(t), 0);
    st_trie_free(t, NULL, NULL);
}

static void free_str(void *val, void *ctx)
{
    (*(int *)ctx)++;
    free(val);
}

static void test_free_values(void)
{
    st_trie *t = st_trie_new();
    const char *fs[] = {"a", "a/b", "a/+", "#", "x/y/z", "x/#", "+/+/+"};
    for (int i = 0; i < 7; i++)
        *st_trie_slot(t, fs[i], strlen(fs[i])) = strdup(fs[i]);
    (void)st_trie_slot(t, "empty/node", 10);
    int freed = 0;
    st_trie_free(t, free_str, &freed);
    CHECK_EQ(freed, 7);
    st_trie_free(NULL, NULL, NULL);
}

/* ---- scan ---------------------------------------------------------------------------- */

static int stop_after_two(void *val, void *ctx)
{
    return ++*(int *)ctx >= 2;
}

static void test_scan(void)
{
    const char *ts[] = {"sport/tennis/player1",
                        "sport/tennis/player1/ranking",
                        "sport/tennis/player2",
                        "sport",
                        "sport/",
                        "/finance",
                        "$SYS/monitor/Clients",
                        "$SYS",
                        "a//b",
                        ""};
    st_trie *t = build(ts, 10);
    struct hits h = scan(t, "sport/tennis/player1/#");
    CHECK_EQ(h.n, 2);
    CHECK(has(&h, "sport/tennis/player1") && has(&h, "sport/tennis/player1/ranking"));
    h = scan(t, "sport/tennis/+");
    CHECK_EQ(h.n, 2);
    CHECK(has(&h, "sport/tennis/player1") && has(&h, "sport/tennis/player2"));
    h = scan(t, "sport/+");
    CHECK_EQ(h.n, 1);
    CHECK(has(&h, "sport/"));
    h = scan(t, "sport/#");
    CHECK_EQ(h.n, 5);
    CHECK(!has(&h, "/finance"));
    h = scan(t, "#");
    CHECK_EQ(h.n, 8); /* everything but the two $SYS topics */
    CHECK(!has(&h, "$SYS") && has(&h, ""));
    h = scan(t, "+");
    CHECK_EQ(h.n, 2);
    CHECK(has(&h, "sport") && has(&h, ""));
    h = scan(t, "+/+");
    CHECK_EQ(h.n, 2);
    CHECK(has(&h, "sport/") && has(&h, "/finance"));
    h = scan(t, "/+");
    CHECK_EQ(h.n, 1);
    h = scan(t, "+/monitor/Clients");
    CHECK_EQ(h.n, 0);
    h = scan(t, "$SYS/#");
    CHECK_EQ(h.n, 2);
    h = scan(t, "$SYS/monitor/+");
    CHECK_EQ(h.n, 1);
    h = scan(t, "a/+/b");
    CHECK_EQ(h.n, 1);
    h = scan(t, "a/b");
    CHECK_EQ(h.n, 0);
    h = scan(t, "sport/tennis/player1");
    CHECK_EQ(h.n, 1);
    h = scan(t, "+/+/+/+");
    CHECK_EQ(h.n, 1);
    CHECK(has(&h, "sport/tennis/player1/ranking"));
    h = scan(t, "nothing/#");
    CHECK_EQ(h.n, 0);
    int calls = 0;
    st_trie_scan(t, "#", 1, stop_after_two, &calls);
    CHECK_EQ(calls, 2);
    calls = 0;
    st_trie_scan(t, "+/+", 3, stop_after_two, &calls);
    CHECK_EQ(calls, 2);
    st_trie_free(t, NULL, NULL);
}

/* ---- big shapes ---------------------------------------------------------------------- */

static void count_cb(void *val, void *ctx)
{
    (*(size_t *)ctx)++;
}

static int count_scan_cb(void *val, void *ctx)
{
    (*(size_t *)ctx)++;
    return 0;
}

static void test_wide(void)
{
    enum { W = 20000 };
    st_trie *t = st_trie_new();
    char buf[64];
    int ok = 1;
    for (int i = 0; i < W; i++) {
        int n = snprintf(buf, sizeof(buf), "dev/%d/state", i);
        void **s = st_trie_slot(t, buf, (size_t)n);
        ok &= s != NULL;
        if (s) *s = S(i);
    }
    *st_trie_slot(t, "dev/+/state", 11) = S(-2);
    CHECK(ok);
    CHECK_EQ(st_trie_count(t), W + 1);
    /* remove the odd ones: exercises deletion from a large child table and shrinking */
    for (int i = 1; i < W; i += 2) {
        int n = snprintf(buf, sizeof(buf), "dev/%d/state", i);
        *st_trie_find(t, buf, (size_t)n) = NULL;
        st_trie_prune(t, buf, (size_t)n);
    }
    CHECK_EQ(st_trie_count(t), W / 2 + 1);
    ok = 1;
    for (int i = 0; i < W; i++) {
        int n = snprintf(buf, sizeof(buf), "dev/%d/state", i);
        struct hits h = {.n = 0};
        st_trie_match(t, buf, (size_t)n, hit_cb, &h);
        ok &= h.n == (i % 2 ? 1 : 2);
        ok &= (st_trie_find(t, buf, (size_t)n) != NULL) == !(i % 2);
    }
    CHECK(ok);
    size_t c = 0;
    st_trie_scan(t, "dev/+/state", 11, count_scan_cb, &c);
    CHECK_EQ(c, W / 2);
    c = 0;
    st_trie_scan(t, "dev/#", 5, count_scan_cb, &c);
    CHECK_EQ(c, W / 2); /* the stored '+' filter is not a topic name */
    for (int i = 0; i < W; i += 2) {
        int n = snprintf(buf, sizeof(buf), "dev/%d/state", i);
        *st_trie_find(t, buf, (size_t)n) = NULL;
        st_trie_prune(t, buf, (size_t)n);
    }
    *st_trie_find(t, "dev/+/state", 11) = NULL;
    st_trie_prune(t, "dev/+/state", 11);
    CHECK_EQ(st_trie_count(t), 0);
    CHECK_EQ(st_trie_nodes(t), 0);
    st_trie_free(t, NULL, NULL);
}

/* A filter with 100k levels: match, scan, prune and free must not recurse. */
static void test_deep(void)
{
    enum { D = 100000 };
    size_t len = 2 * D - 1;
    char *f = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        f[i] = i % 2 ? '/' : 'a';
    f[len] = '\0';
    st_trie *t = st_trie_new();
    *st_trie_slot(t, f, len) = S(0);
    f[len - 1] = '+';
    *st_trie_slot(t, f, len) = S(1);
    f[len - 1] = '#';
    *st_trie_slot(t, f, len) = S(2);
    f[len - 1] = 'a';
    CHECK_EQ(st_trie_count(t), 3);
    CHECK_EQ(st_topic_levels(f, len), D);
    size_t c = 0;
    st_trie_match(t, f, len, count_cb, &c);
    CHECK_EQ(c, 3); /* a/.../a, a/.../+, a/.../# */
    c = 0;
    st_trie_match(t, f, len - 2, count_cb, &c);
    CHECK_EQ(c, 1); /* one level short: only a/.../# (matches its parent) */
    c = 0;
    st_trie_scan(t, "#", 1, count_scan_cb, &c);
    CHECK_EQ(c, 1);
    c = 0;
    st_trie_scan(t, f, len, count_scan_cb, &c);
    CHECK_EQ(c, 1);
    CHECK_EQ(tm(f, f), 1);
    *st_trie_find(t, f, len) = NULL;
    st_trie_prune(t, f, len);
    CHECK_EQ(st_trie_count(t), 2);
    st_trie_free(t, NULL, NULL); /* the rest */
    free(f);
}

/* ---- randomized cross-check ---------------------------------------------------------- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random non-empty topic (wild = 0) or valid filter (wild = 1) of 1..4 levels into buf;
 * returns its length. */
static size_t gen(uint64_t *s, char *buf, int wild)
{
again:;
    static const char *const lv[] = {"a", "b", "$s", "", "ab"};
    int levels = 1 + (int)(rng(s) % 4);
    size_t n = 0;
    for (int i = 0; i < levels; i++) {
        if (i) buf[n++] = '/';
        unsigned r = (unsigned)(rng(s) % (wild ? 8 : 5));
        if (r == 5 || r == 6) {
            buf[n++] = '+';
        } else if (r == 7) {
            buf[n++] = '#';
            break;
        } else {
            size_t l = strlen(lv[r]);
            memcpy(buf + n, lv[r], l);
            n += l;
        }
    }
    if (n == 0) goto again;
    buf[n] = '\0';
    return n;
}

#define NF 300
#define NT 2000

struct idx_hits {
    unsigned char seen[NF];
    int dup;
};

static void idx_cb(void *val, void *ctx)
{
    struct idx_hits *h = ctx;
    size_t i = (size_t)(uintptr_t)val - 1;
    h->dup |= h->seen[i];
    h->seen[i] = 1;
}

static int idx_scan_cb(void *val, void *ctx)
{
    idx_cb(val, ctx);
    return 0;
}

static void test_random_cross_check(void)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    static char filters[NF][64], topics[NT][64];
    size_t flen[NF], tlen[NT];
    int bad_match = 0, bad_scan = 0, dups = 0, agree_pos = 0;

    for (int round = 0; round < 4; round++) {
        st_trie *ft = st_trie_new(), *tt = st_trie_new();
        int nf = 0, nt = 0;
        /* distinct filters (the trie keeps one slot per filter) */
        for (int i = 0; i < NF; i++) {
            flen[nf] = gen(&s, filters[nf], 1);
            CHECK_EQ(st_filter_check(filters[nf], flen[nf]), 0);
            void **slot = st_trie_slot(ft, filters[nf], flen[nf]);
            if (*slot) continue;
            *slot = (void *)(uintptr_t)(nf + 1);
            nf++;
        }
        for (int i = 0; i < NT; i++) {
            tlen[nt] = gen(&s, topics[nt], 0);
            void **slot = st_trie_slot(tt, topics[nt], tlen[nt]);
            if (*slot || nt >= NF) continue; /* idx_hits holds NF entries */
            *slot = (void *)(uintptr_t)(nt + 1);
            nt++;
        }
        /* match: every generated topic against all filters */
        for (int i = 0; i < NT; i++) {
            char topic[64];
            size_t tl = gen(&s, topic, 0);
            struct idx_hits h;
            memset(&h, 0, sizeof(h));
            st_trie_match(ft, topic, tl, idx_cb, &h);
            dups += h.dup;
            for (int j = 0; j < nf; j++) {
                int m = st_topic_match(filters[j], flen[j], topic, tl);
                agree_pos += m;
                if (m != h.seen[j]) {
                    if (!bad_match)
                        fprintf(stderr, "match: filter '%s' topic '%s' trie %d brute %d\n",
                                filters[j], topic, h.seen[j], m);
                    bad_match++;
                }
            }
        }
        /* scan: every filter against the topic set */
        for (int i = 0; i < NT; i++) {
            char filter[64];
            size_t fl = gen(&s, filter, 1);
            struct idx_hits h;
            memset(&h, 0, sizeof(h));
            st_trie_scan(tt, filter, fl, idx_scan_cb, &h);
            dups += h.dup;
            for (int j = 0; j < nt; j++) {
                int m = st_topic_match(filter, fl, topics[j], tlen[j]);
                if (m != h.seen[j]) {
                    if (!bad_scan)
                        fprintf(stderr, "scan: filter '%s' topic '%s' trie %d brute %d\n", filter,
                                topics[j], h.seen[j], m);
                    bad_scan++;
                }
            }
        }
        CHECK_EQ(st_trie_count(ft), nf);
        CHECK_EQ(st_trie_count(tt), nt);
        /* clear and prune everything: no garbage left */
        for (int j = 0; j < nf; j++) {
            *st_trie_find(ft, filters[j], flen[j]) = NULL;
            st_trie_prune(ft, filters[j], flen[j]);
        }
        CHECK_EQ(st_trie_nodes(ft), 0);
        st_trie_free(ft, NULL, NULL);
        st_trie_free(tt, NULL, NULL);
    }
    CHECK_EQ(bad_match, 0);
    CHECK_EQ(bad_scan, 0);
    CHECK_EQ(dups, 0);
    CHECK(agree_pos > 1000); /* the generator produces plenty of matches */
}

typedef struct keys {
    char all[512];
} keys;

static int key_cb(const char *key, size_t len, void *val, void *ctx)
{
    keys *k = ctx;
    size_t n = strlen(k->all);
    snprintf(k->all + n, sizeof k->all - n, "%.*s=%s;", (int)len, key, (const char *)val);
    return 0;
}

/* st_trie_each_key gives every stored value with its filter, rebuilt from the levels:
 * empty levels, wildcards and $ topics included; nodes without a value are skipped. */
static void test_each_key(void)
{
    st_trie *t = st_trie_new();
    static const char *f[] = {"a/b", "/x", "a/+/c", "#", "$SYS/t", "a//", "+"};
    static char val[7][2];
    for (int i = 0; i < 7; i++) {
        val[i][0] = (char)('0' + i);
        *st_trie_slot(t, f[i], strlen(f[i])) = val[i];
    }
    keys k = {""};
    st_trie_each_key(t, key_cb, &k);
    CHECK(strstr(k.all, "a/b=0;") && strstr(k.all, "/x=1;") && strstr(k.all, "a/+/c=2;") &&
          strstr(k.all, "#=3;") && strstr(k.all, "$SYS/t=4;") && strstr(k.all, "a//=5;") &&
          strstr(k.all, "+=6;"));
    size_t n = 0;
    for (const char *p = k.all; (p = strchr(p, ';')); p++)
        n++;
    CHECK_EQ(n, 7); /* "a" and "a/+" hold no value: not visited */
    st_trie_free(t, NULL, NULL);
}

int main(void)
{
    RUN(test_spec_hash);
    RUN(test_spec_plus);
    RUN(test_spec_dollar);
    RUN(test_empty_levels);
    RUN(test_levels_share_check);
    RUN(test_slot_prune);
    RUN(test_free_values);
    RUN(test_scan);
    RUN(test_wide);
    RUN(test_deep);
    RUN(test_random_cross_check);
    RUN(test_each_key);
    return TEST_END();
}
