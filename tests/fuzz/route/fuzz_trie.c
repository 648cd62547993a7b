/* fuzz_trie.c — libFuzzer target for the topic trie.
 *
 * The input is split into lines. Every line that is a valid filter is stored in a filter
 * trie and every line that is a valid topic name in a topic trie; then each topic is
 * matched (st_trie_match) and each filter scanned (st_trie_scan), and both results are
 * compared with the brute-force st_topic_match over all stored items. Half the filters are
 * then pruned and the matches re-checked, and finally everything is pruned and the trie
 * must be empty. st_share_parse is run on every line and its spans checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route/trie.h"

#define MAXN 64

struct item {
    const char *p;
    size_t len;
    int live; /* stored and owning its slot (not a duplicate) */
};

struct seen {
    unsigned char hit[MAXN];
};

static void match_cb(void *val, void *ctx)
{
    struct seen *s = ctx;
    size_t i = (size_t)(uintptr_t)val - 1;
    if (i >= MAXN || s->hit[i]) abort(); /* bad value or reported twice */
    s->hit[i] = 1;
}

static int scan_cb(void *val, void *ctx)
{
    match_cb(val, ctx);
    return 0;
}

static void check_matches(const st_trie *ft, const struct item *f, int nf, const struct item *t,
                          int nt)
{
    for (int i = 0; i < nt; i++) {
        struct seen s = {{0}};
        st_trie_match(ft, t[i].p, t[i].len, match_cb, &s);
        for (int j = 0; j < nf; j++) {
            int want = f[j].live && st_topic_match(f[j].p, f[j].len, t[i].p, t[i].len);
            if (want != s.hit[j]) abort();
        }
    }
}

static void check_share(const char *p, size_t len)
{
    const char *g, *f;
    size_t gl, fl;
    int r = st_share_parse(p, len, &g, &gl, &f, &fl);
    if (r == 1 && (gl == 0 || fl == 0 || g < p || f < p || g + gl > p + len || f + fl != p + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct item f[MAXN], t[MAXN];
    int nf = 0, nt = 0;
    const char *p = (const char *)data, *end = p + size;

    st_trie *ft = st_trie_new(), *tt = st_trie_new();
    if (!ft || !tt) abort();
    while (p < end && (nf < MAXN || nt < MAXN)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        check_share(p, len);
        size_t slashes = 0;
        for (size_t i = 0; i < len; i++)
            slashes += p[i] == '/';
        if (st_topic_levels(p, len) != slashes + 1) abort();
        if (nf < MAXN && st_filter_check(p, len) == 0) {
            void **slot = st_trie_slot(ft, p, len);
            if (!slot) abort();
            f[nf] = (struct item){p, len, *slot == NULL};
            if (!*slot) *slot = (void *)(uintptr_t)(nf + 1);
            nf++;
        }
        if (nt < MAXN && st_topic_check(p, len) == 0) {
            void **slot = st_trie_slot(tt, p, len);
            if (!slot) abort();
            t[nt] = (struct item){p, len, *slot == NULL};
            if (!*slot) *slot = (void *)(uintptr_t)(nt + 1);
            nt++;
        }
        p += len + 1;
    }

    check_matches(ft, f, nf, t, nt);
    for (int i = 0; i < nf; i++) { /* scan the topic set with every filter */
        struct seen s = {{0}};
        st_trie_scan(tt, f[i].p, f[i].len, scan_cb, &s);
        for (int j = 0; j < nt; j++) {
            int want = t[j].live && st_topic_match(f[i].p, f[i].len, t[j].p, t[j].len);
            if (want != s.hit[j]) abort();
        }
    }

    /* prune every other stored filter, re-check, then prune the rest */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = pass; i < nf; i += 2 - pass) {
            if (!f[i].live) continue;
            void **slot = st_trie_find(ft, f[i].p, f[i].len);
            if (!slot || *slot != (void *)(uintptr_t)(i + 1)) abort();
            *slot = NULL;
            f[i].live = 0;
            st_trie_prune(ft, f[i].p, f[i].len);
        }
        check_matches(ft, f, nf, t, nt);
    }
    if (st_trie_count(ft) != 0 || st_trie_nodes(ft) != 0) abort();
    st_trie_free(ft, NULL, NULL);
    st_trie_free(tt, NULL, NULL);
    return 0;
}
