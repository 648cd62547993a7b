/* trie.c — the MQTT topic trie (see trie.h) and the topic/filter helpers.
 *
 * One node per level. A node's literal children live in a small open-addressed table
 * (linear probing, power-of-two size, backward-shift deletion) keyed by the level's
 * st_hash, which is stored in the child so a probe compares one integer before the bytes;
 * a node with one child costs a two-slot table. The '+' and '#' children have their own
 * pointers, so a publish never hashes a wildcard.
 *
 * st_trie_match and st_trie_scan are depth-first walks without recursion or allocation:
 * every node points to its parent, and on the way back up the position in the topic (or
 * filter) is recovered by scanning back to the previous '/', and which branch comes next
 * is decided from which child we came back from (exact child -> '+' child -> parent; for a
 * scan's '+', the next slot of the parent's table). This keeps the publish path free of
 * malloc and safe for filters of any depth. Each node is visited at most once per walk, so
 * each matching filter is reported exactly once. */
#include "route/trie.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/strmap.h"

struct node {
    struct node *parent;
    void *val;
    struct node *plus, *hash; /* the "+" and "#" children */
    struct node **kids;       /* literal children: table of kcap slots, NULL if kcap == 0 */
    uint32_t nkids, kcap;
    uint64_t h; /* st_hash(level) */
    size_t llen;
    char level[];
};

struct st_trie {
    struct node *root; /* the level before the first; never holds a value */
};

/* ---- level helpers ------------------------------------------------------------------- */

/* End of the level starting at start: the index of the next '/', or len. */
static size_t level_end(const char *s, size_t start, size_t len)
{
    const char *p = start < len ? memchr(s + start, '/', len - start) : NULL;
    return p ? (size_t)(p - s) : len;
}

/* Start of the level ending at end (end is a '/' position or the string length). */
static size_t level_start(const char *s, size_t end)
{
    while (end > 0 && s[end - 1] != '/')
        end--;
    return end;
}

static int is_plus(const char *l, size_t n)
{
    return n == 1 && l[0] == '+';
}

static int is_hash(const char *l, size_t n)
{
    return n == 1 && l[0] == '#';
}

/* ---- child table --------------------------------------------------------------------- */

static struct node *kid_find(const struct node *n, const char *l, size_t llen)
{
    if (!n->nkids) return NULL;
    uint64_t h = st_hash(l, llen);
    uint32_t mask = n->kcap - 1;
    for (uint32_t i = (uint32_t)h & mask; n->kids[i]; i = (i + 1) & mask) {
        const struct node *c = n->kids[i];
        if (c->h == h && c->llen == llen && memcmp(c->level, l, llen) == 0) return n->kids[i];
    }
    return NULL;
}

static uint32_t kid_index(const struct node *n, const struct node *c)
{
    uint32_t mask = n->kcap - 1, i = (uint32_t)c->h & mask;
    while (n->kids[i] != c)
        i = (i + 1) & mask;
    return i;
}

static int kids_resize(struct node *n, uint32_t cap)
{
    struct node **t = NULL;
    if (cap) {
        t = calloc(cap, sizeof(*t));
        if (!t) return ST_ENOMEM;
        for (uint32_t i = 0; i < n->kcap; i++) {
            struct node *c = n->kids[i];
            if (!c) continue;
            uint32_t j = (uint32_t)c->h & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = c;
        }
    }
    free(n->kids);
    n->kids = t;
    n->kcap = cap;
    return 0;
}

static int kid_add(struct node *n, struct node *c)
{
    if ((uint64_t)(n->nkids + 1) * 4 > (uint64_t)n->kcap * 3) {
        if (n->kcap >= (UINT32_MAX >> 1) + 1) return ST_ENOMEM;
        if (kids_resize(n, n->kcap ? n->kcap * 2 : 2) < 0) return ST_ENOMEM;
    }
    uint32_t mask = n->kcap - 1, i = (uint32_t)c->h & mask;
    while (n->kids[i])
        i = (i + 1) & mask;
    n->kids[i] = c;
    n->nkids++;
    return 0;
}

static void kid_del(struct node *n, const struct node *c)
{
    uint32_t mask = n->kcap - 1, i = kid_index(n, c), j = i;
    n->kids[i] = NULL;
    n->nkids--;
    /* Backward shift: move later members of the probe run into the hole when their home
     * slot is not cyclically within (hole, their position]. */
    for (;;) {
        j = (j + 1) & mask;
        if (!n->kids[j]) break;
        uint32_t home = (uint32_t)n->kids[j]->h & mask;
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            n->kids[i] = n->kids[j];
            n->kids[j] = NULL;
            i = j;
        }
    }
    if (n->nkids == 0)
        kids_resize(n, 0);
    else if (n->kcap > 2 && n->nkids * 8 <= n->kcap)
        kids_resize(n, n->kcap / 2); /* on ENOMEM the old table simply stays */
}

/* ---- child iteration for walks --------------------------------------------------------- */

enum {
    W_NODOLLAR = 1, /* skip literal children whose level starts with '$' */
    W_WILD = 2,     /* also visit the '+' and '#' children (after the literal ones) */
    W_EMPTY = 4,    /* call cb for nodes with a NULL value too */
};

static const struct node *kid_from(const struct node *n, uint32_t i, int flags)
{
    for (; i < n->kcap; i++) {
        const struct node *c = n->kids[i];
        if (c && !((flags & W_NODOLLAR) && c->llen && c->level[0] == '$')) return c;
    }
    if (!(flags & W_WILD)) return NULL;
    return n->plus ? n->plus : n->hash;
}

static const struct node *first_child(const struct node *n, int flags)
{
    return kid_from(n, 0, flags);
}

/* The child of p after c in walk order, or NULL. */
static const struct node *next_child(const struct node *p, const struct node *c, int flags)
{
    if (c == p->hash) return NULL;
    if (c == p->plus) return (flags & W_WILD) ? p->hash : NULL;
    return kid_from(p, kid_index(p, c) + 1, flags);
}

/* Preorder walk of the subtree at s, calling cb for non-NULL values (all nodes with
 * W_EMPTY); W_NODOLLAR applies to the children of s only. Returns 1 if cb stopped it. */
static int walk(const struct node *s, int flags, int (*cb)(void *val, void *ctx), void *ctx)
{
    const struct node *x = s, *c;
    int top = flags, below = flags & ~W_NODOLLAR;
    for (;;) {
        if ((x->val || (flags & W_EMPTY)) && cb(x->val, ctx)) return 1;
        if ((c = first_child(x, x == s ? top : below))) {
            x = c;
            continue;
        }
        for (;; x = x->parent) {
            if (x == s) return 0;
            if ((c = next_child(x->parent, x, x->parent == s ? top : below))) {
                x = c;
                break;
            }
        }
    }
}

/* ---- construction -------------------------------------------------------------------- */

static struct node *node_new(struct node *parent, const char *l, size_t llen)
{
    struct node *n = malloc(sizeof(*n) + llen + 1);
    if (!n) return NULL;
    *n = (struct node){.parent = parent, .h = st_hash(l, llen), .llen = llen};
    if (llen) memcpy(n->level, l, llen);
    n->level[llen] = '\0';
    return n;
}

st_trie *st_trie_new(void)
{
    st_trie *t = malloc(sizeof(*t));
    if (!t) return NULL;
    t->root = node_new(NULL, "", 0);
    if (!t->root) {
        free(t);
        return NULL;
    }
    return t;
}

/* Detach n from its parent and free it (n has no children). */
static void node_remove(struct node *n)
{
    struct node *p = n->parent;
    if (p->plus == n)
        p->plus = NULL;
    else if (p->hash == n)
        p->hash = NULL;
    else
        kid_del(p, n);
    free(n->kids);
    free(n);
}

/* Remove n and then its ancestors while they are empty, stopping at limit and the root. */
static void prune_from(st_trie *t, struct node *n, const struct node *limit)
{
    while (n != t->root && n != limit && !n->val && !n->nkids && !n->plus && !n->hash) {
        struct node *p = n->parent;
        node_remove(n);
        n = p;
    }
}

/* The node for filter; created (with parents) if create. NULL if absent or on ENOMEM. */
static struct node *lookup(st_trie *t, const char *f, size_t len, int create)
{
    struct node *n = t->root, *first_new = NULL;
    for (size_t start = 0;;) {
        size_t end = level_end(f, start, len), l = end - start;
        const char *lv = f + start;
        struct node **wild = is_plus(lv, l) ? &n->plus : is_hash(lv, l) ? &n->hash : NULL;
        struct node *c = wild ? *wild : kid_find(n, lv, l);
        if (!c) {
            if (!create || !(c = node_new(n, lv, l))) goto fail;
            if (wild) {
                *wild = c;
            } else if (kid_add(n, c) < 0) {
                free(c);
                goto fail;
            }
            if (!first_new) first_new = c;
        }
        n = c;
        if (end == len) return n;
        start = end + 1;
    }
fail:
    if (first_new) /* undo this call's partial chain */
        prune_from(t, n, first_new->parent);
    return NULL;
}

void **st_trie_slot(st_trie *t, const char *filter, size_t len)
{
    struct node *n = lookup(t, filter, len, 1);
    return n ? &n->val : NULL;
}

void **st_trie_find(const st_trie *t, const char *filter, size_t len)
{
    struct node *n = lookup((st_trie *)t, filter, len, 0); /* create == 0: read only */
    return n ? &n->val : NULL;
}

void st_trie_prune(st_trie *t, const char *filter, size_t len)
{
    struct node *n = lookup(t, filter, len, 0);
    if (n) prune_from(t, n, t->root);
}

/* Compact n's child table to its first nkids slots (it stops being a hash table). */
static void kids_compact(struct node *n)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < n->kcap; i++)
        if (n->kids[i]) n->kids[j++] = n->kids[i];
}

void st_trie_free(st_trie *t, void (*free_val)(void *val, void *ctx), void *ctx)
{
    if (!t) return;
    /* Post-order without recursion: descend into any remaining child (detaching it), free
     * leaves on the way back up. Compacting each table first makes "any child" O(1). */
    struct node *x = t->root;
    kids_compact(x);
    while (x) {
        struct node *c = NULL;
        if (x->nkids) {
            c = x->kids[--x->nkids];
        } else if (x->plus) {
            c = x->plus;
            x->plus = NULL;
        } else if (x->hash) {
            c = x->hash;
            x->hash = NULL;
        }
        if (c) {
            kids_compact(c);
            x = c;
            continue;
        }
        struct node *p = x->parent;
        if (x->val && free_val) free_val(x->val, ctx);
        free(x->kids);
        free(x);
        x = p;
    }
    free(t);
}

/* ---- queries ------------------------------------------------------------------------- */

void st_trie_match(const st_trie *t, const char *topic, size_t len,
                   void (*cb)(void *val, void *ctx), void *ctx)
{
    const struct node *root = t->root, *n = root, *c;
    int dollar = len > 0 && topic[0] == '$'; /* no '+'/'#' at the first level */
    size_t start = 0, end;                   /* [start, end) is the level below n */

visit:
    if (start > len) { /* all levels consumed: n itself matches, and so does n/# */
        if (n->val) cb(n->val, ctx);
        if (n->hash && n->hash->val) cb(n->hash->val, ctx);
        goto up;
    }
    if (n->hash && n->hash->val && !(dollar && n == root)) cb(n->hash->val, ctx);
    end = level_end(topic, start, len);
    if ((c = kid_find(n, topic + start, end - start))) {
        n = c;
        start = end + 1;
        goto visit;
    }
try_plus:
    if (n->plus && !(dollar && n == root)) {
        n = n->plus;
        start = end + 1;
        goto visit;
    }
up:
    while (n != root) {
        c = n;
        n = n->parent;
        end = start - 1;
        start = level_start(topic, end);
        if (c != n->plus)
            goto try_plus; /* came back from the literal child: the '+' child is next */
    }
}

struct count_ctx {
    size_t n;
};

static int count_cb(void *val, void *ctx)
{
    ((struct count_ctx *)ctx)->n++;
    return 0;
}

size_t st_trie_count(const st_trie *t)
{
    struct count_ctx cc = {0};
    walk(t->root, W_WILD, count_cb, &cc);
    return cc.n;
}

void st_trie_each(const st_trie *t, int (*cb)(void *val, void *ctx), void *ctx)
{
    walk(t->root, W_WILD, cb, ctx);
}

/* The filter of node x (its levels up from the root, joined by '/') into buf; its length,
 * or SIZE_MAX if it does not fit. */
static size_t key_of(const struct node *x, char *buf, size_t cap)
{
    size_t n = 0;
    for (const struct node *p = x; p->parent; p = p->parent)
        n += p->llen + 1;
    n = n ? n - 1 : 0;
    if (n >= cap) return SIZE_MAX;
    size_t end = n;
    for (const struct node *p = x; p->parent; p = p->parent) {
        end -= p->llen;
        memcpy(buf + end, p->level, p->llen);
        if (end) buf[--end] = '/';
    }
    buf[n] = 0;
    return n;
}

void st_trie_each_key(const st_trie *t,
                      int (*cb)(const char *key, size_t len, void *val, void *ctx), void *ctx)
{
    char key[65536];
    const struct node *x = t->root, *c;
    for (;;) {
        size_t n = x->val ? key_of(x, key, sizeof key) : SIZE_MAX;
        if (n != SIZE_MAX && cb(key, n, x->val, ctx)) return;
        if ((c = first_child(x, W_WILD))) {
            x = c;
            continue;
        }
        for (;; x = x->parent) {
            if (x == t->root) return;
            if ((c = next_child(x->parent, x, W_WILD))) {
                x = c;
                break;
            }
        }
    }
}

size_t st_trie_nodes(const st_trie *t)
{
    struct count_ctx cc = {0};
    walk(t->root, W_WILD | W_EMPTY, count_cb, &cc);
    return cc.n - 1; /* the root */
}

void st_trie_scan(const st_trie *t, const char *f, size_t len, int (*cb)(void *val, void *ctx),
                  void *ctx)
{
    const struct node *root = t->root, *n = root, *c;
    size_t fs = 0, fe; /* [fs, fe) is the filter level applied below n */

descend:
    if (fs > len) {
        if (n->val && cb(n->val, ctx)) return;
        goto up;
    }
    fe = level_end(f, fs, len);
    if (is_hash(f + fs, fe - fs)) { /* n itself and everything below it */
        if (walk(n, n == root ? W_NODOLLAR : 0, cb, ctx)) return;
        goto up;
    }
    if (is_plus(f + fs, fe - fs))
        c = first_child(n, n == root ? W_NODOLLAR : 0);
    else
        c = kid_find(n, f + fs, fe - fs);
    if (c) {
        n = c;
        fs = fe + 1;
        goto descend;
    }
up:
    while (n != root) {
        c = n;
        n = n->parent;
        fe = fs - 1;
        fs = level_start(f, fe);
        if (is_plus(f + fs, fe - fs) && (c = next_child(n, c, n == root ? W_NODOLLAR : 0))) {
            n = c;
            fs = fe + 1;
            goto descend;
        }
    }
}

/* ---- standalone helpers -------------------------------------------------------------- */

int st_topic_match(const char *f, size_t flen, const char *t, size_t tlen)
{
    size_t fs = 0, ts = 0;
    if (tlen > 0 && t[0] == '$') {
        size_t fe = level_end(f, 0, flen);
        if (is_plus(f, fe) || is_hash(f, fe)) return 0;
    }
    for (;;) {
        size_t fe = level_end(f, fs, flen);
        if (is_hash(f + fs, fe - fs)) return 1;
        if (ts > tlen) return 0; /* topic exhausted, filter is not */
        size_t te = level_end(t, ts, tlen);
        if (!is_plus(f + fs, fe - fs) &&
            (fe - fs != te - ts || memcmp(f + fs, t + ts, fe - fs) != 0))
            return 0;
        fs = fe + 1;
        ts = te + 1;
        if (fs > flen) return ts > tlen;
    }
}

int st_share_parse(const char *f, size_t len, const char **group, size_t *glen, const char **filter,
                   size_t *flen)
{
    size_t fe = level_end(f, 0, len);
    const char *g, *rest, *slash;
    size_t gl;
    if (fe == 6 && memcmp(f, "$queue", 6) == 0) {
        g = f;
        gl = 6;
        rest = f + 7;
    } else if (fe == 6 && memcmp(f, "$share", 6) == 0) {
        if (len <= 7 || !(slash = memchr(f + 7, '/', len - 7)))
            return ST_ETOPIC; /* no group or no filter */
        g = f + 7;
        gl = (size_t)(slash - g);
        if (gl == 0 || memchr(g, '+', gl) || memchr(g, '#', gl)) return ST_ETOPIC;
        rest = slash + 1;
    } else {
        return 0;
    }
    if (rest >= f + len) return ST_ETOPIC; /* empty filter */
    *group = g;
    *glen = gl;
    *filter = rest;
    *flen = (size_t)(f + len - rest);
    return 1;
}

size_t st_topic_levels(const char *t, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += t[i] == '/';
    return n;
}

int st_filter_check(const char *f, size_t len)
{
    if (len == 0) return ST_ETOPIC;
    for (size_t i = 0; i < len; i++) {
        char c = f[i];
        int whole = (i == 0 || f[i - 1] == '/') && (i + 1 == len || f[i + 1] == '/');
        if (c == '\0' || ((c == '+' || c == '#') && !whole) || (c == '#' && i + 1 != len))
            return ST_ETOPIC;
    }
    return 0;
}

int st_topic_check(const char *t, size_t len)
{
    if (len == 0) return ST_ETOPIC;
    for (size_t i = 0; i < len; i++)
        if (t[i] == '\0' || t[i] == '+' || t[i] == '#') return ST_ETOPIC;
    return 0;
}
