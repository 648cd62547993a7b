/* plan.c — builds the delivery plan (plan.h). Publisher topics are indexed by exact name in
 * a string map, each distinct topic heading a chain of publisher ids; a filter without
 * wildcards is then one lookup, and a wildcard filter one scan of the distinct topics.
 * Identical filters (the common fan-out and shared cases) are matched once and cached. */
#include "bench/plan.h"
#include "core/err.h"
#include "core/strmap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_MAX 4096
#define NONE UINT32_MAX

typedef struct match_list {
    uint32_t *pubs;
    uint32_t n;
} match_list;

typedef struct plan_ctx {
    const bench_cfg *cfg;
    st_strmap *topics;  /* publisher topic -> distinct index + 1 */
    uint32_t *dt_first; /* distinct topic -> first publisher id (ascending chain) */
    uint32_t *pub_next; /* publisher id -> next publisher with the same topic */
    uint32_t ndt;
    st_strmap *filters; /* filter body -> cache index + 1 */
    st_strmap *groups;  /* full $share filter -> group id + 1 */
    match_list *cache;
    uint32_t ncache;
    uint32_t *sub_cache; /* subscriber -> cache index */
} plan_ctx;

static int perr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

int bench_topic_match(const char *f, const char *t)
{
    if (t[0] == '$' && (f[0] == '+' || f[0] == '#')) return 0;
    for (;;) {
        if (f[0] == '#' && f[1] == 0) return 1;
        const char *fe = strchr(f, '/'), *te = strchr(t, '/');
        size_t fl = fe ? (size_t)(fe - f) : strlen(f), tl = te ? (size_t)(te - t) : strlen(t);
        if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0)) return 0;
        if (!fe && !te) return 1;
        if (!te) return strcmp(fe + 1, "#") == 0; /* "a/#" matches "a" */
        if (!fe) return 0;
        f = fe + 1;
        t = te + 1;
    }
}

const char *bench_filter_body(const char *filter, int *shared)
{
    *shared = 0;
    if (!strncmp(filter, "$queue/", 7)) {
        *shared = 1;
        return filter + 7;
    }
    if (strncmp(filter, "$share/", 7) != 0) return filter;
    const char *slash = strchr(filter + 7, '/');
    if (!slash) return filter;
    *shared = 1;
    return slash + 1;
}

static int index_pubs(plan_ctx *c)
{
    char topic[TOPIC_MAX];
    uint32_t npubs = c->cfg->pubs;
    for (uint32_t p = npubs; p-- > 0;) {
        int len = bench_topic(c->cfg, BENCH_ROLE_PUB, p, topic, sizeof topic);
        if (len < 0) return ST_EINVAL;
        uintptr_t dt = (uintptr_t)st_strmap_get(c->topics, topic, (size_t)len);
        if (!dt) {
            dt = ++c->ndt;
            c->dt_first[dt - 1] = NONE;
            if (st_strmap_put(c->topics, topic, (size_t)len, (void *)dt) < 0) return ST_ENOMEM;
        }
        c->pub_next[p] = c->dt_first[dt - 1];
        c->dt_first[dt - 1] = p;
    }
    return 0;
}

static int append_chain(const plan_ctx *c, uint32_t dt, match_list *m)
{
    for (uint32_t p = c->dt_first[dt]; p != NONE; p = c->pub_next[p]) {
        if (m->n == c->cfg->pubs) return ST_EINVAL; /* cannot happen: chains are disjoint */
        m->pubs[m->n++] = p;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The publishers matching a filter body, sorted; returns the cache index or ST_E*. */
static long match_filter(plan_ctx *c, const char *body)
{
    size_t blen = strlen(body);
    uintptr_t hit = (uintptr_t)st_strmap_get(c->filters, body, blen);
    if (hit) return (long)hit - 1;
    match_list m = {malloc(sizeof(uint32_t) * (c->cfg->pubs ? c->cfg->pubs : 1)), 0};
    if (!m.pubs) return ST_ENOMEM;
    if (!strpbrk(body, "+#")) {
        uintptr_t dt = (uintptr_t)st_strmap_get(c->topics, body, blen);
        if (dt) append_chain(c, (uint32_t)dt - 1, &m);
    } else {
        size_t it = 0;
        const char *key;
        void *val;
        while (st_strmap_next(c->topics, &it, &key, NULL, &val))
            if (bench_topic_match(body, key)) append_chain(c, (uint32_t)(uintptr_t)val - 1, &m);
        qsort(m.pubs, m.n, sizeof *m.pubs, cmp_u32);
    }
    uint32_t idx = c->ncache++;
    c->cache[idx] = m;
    if (st_strmap_put(c->filters, body, blen, (void *)(uintptr_t)(idx + 1)) < 0) return ST_ENOMEM;
    return idx;
}

static int group_of(plan_ctx *c, bench_plan *plan, const char *filter)
{
    size_t len = strlen(filter);
    uintptr_t g = (uintptr_t)st_strmap_get(c->groups, filter, len);
    if (!g) {
        g = ++plan->ngroups;
        if (st_strmap_put(c->groups, filter, len, (void *)g) < 0) return ST_ENOMEM;
    }
    return (int)g - 1;
}

static int plan_subs(plan_ctx *c, bench_plan *plan, char *err, size_t errlen)
{
    char filter[TOPIC_MAX];
    uint64_t total = 0;
    for (uint32_t s = 0; s < plan->nsubs; s++) {
        int shared;
        if (bench_topic(c->cfg, BENCH_ROLE_SUB, s, filter, sizeof filter) < 0)
            return perr(err, errlen, ST_EINVAL, "subscription topic too long");
        const char *body = bench_filter_body(filter, &shared);
        plan->sub_group[s] = shared ? group_of(c, plan, filter) : -1;
        if (plan->sub_group[s] < 0 && shared) return perr(err, errlen, ST_ENOMEM, "no memory");
        long idx = match_filter(c, body);
        if (idx < 0) return perr(err, errlen, (int)idx, "no memory");
        c->sub_cache[s] = (uint32_t)idx;
        plan->sub_first[s] = (uint32_t)total;
        total += c->cache[idx].n;
        if (total > BENCH_MAX_PAIRS)
            return perr(err, errlen, ST_EFULL,
                        "more than %u (subscriber, publisher) streams to check", BENCH_MAX_PAIRS);
    }
    plan->sub_first[plan->nsubs] = (uint32_t)total;
    plan->npairs = (uint32_t)total;
    plan->pair_pub = malloc(sizeof(uint32_t) * (total ? total : 1));
    if (!plan->pair_pub) return perr(err, errlen, ST_ENOMEM, "no memory for %lu streams", total);
    for (uint32_t s = 0; s < plan->nsubs; s++) {
        const match_list *m = &c->cache[c->sub_cache[s]];
        memcpy(plan->pair_pub + plan->sub_first[s], m->pubs, sizeof(uint32_t) * m->n);
    }
    return 0;
}

static void ctx_free(plan_ctx *c)
{
    for (uint32_t i = 0; i < c->ncache; i++)
        free(c->cache[i].pubs);
    free(c->cache);
    free(c->sub_cache);
    free(c->dt_first);
    free(c->pub_next);
    st_strmap_free(c->topics);
    st_strmap_free(c->filters);
    st_strmap_free(c->groups);
}

int bench_plan_build(const bench_cfg *cfg, bench_plan *plan, char *err, size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    plan->nsubs = cfg->subs;
    plan->npubs = cfg->pubs;
    if (cfg->scenario != BENCH_PUBSUB) return 0;
    plan->tracked = 1;
    plan_ctx c = {.cfg = cfg};
    size_t np = cfg->pubs ? cfg->pubs : 1, ns = cfg->subs ? cfg->subs : 1;
    c.topics = st_strmap_new();
    c.filters = st_strmap_new();
    c.groups = st_strmap_new();
    c.dt_first = malloc(sizeof(uint32_t) * np);
    c.pub_next = malloc(sizeof(uint32_t) * np);
    c.cache = malloc(sizeof(match_list) * ns);
    c.sub_cache = malloc(sizeof(uint32_t) * ns);
    plan->sub_first = malloc(sizeof(uint32_t) * (ns + 1));
    plan->sub_group = malloc(sizeof(int32_t) * ns);
    int rc = ST_ENOMEM;
    if (!c.topics || !c.filters || !c.groups || !c.dt_first || !c.pub_next || !c.cache ||
        !c.sub_cache || !plan->sub_first || !plan->sub_group) {
        perr(err, errlen, rc, "no memory for the delivery plan");
    } else if ((rc = index_pubs(&c)) < 0) {
        perr(err, errlen, rc, "publish topic too long");
    } else {
        rc = plan_subs(&c, plan, err, errlen);
    }
    ctx_free(&c);
    if (rc < 0) bench_plan_free(plan);
    return rc;
}

void bench_plan_free(bench_plan *plan)
{
    free(plan->sub_first);
    free(plan->sub_group);
    free(plan->pair_pub);
    memset(plan, 0, sizeof *plan);
}
