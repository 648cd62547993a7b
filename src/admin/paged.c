/* paged.c — lists merged across the nodes (paged.h). */
#include "admin/paged.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 5000

static int by_node(const void *x, const void *y)
{
    return strcmp(((const st_answer *)x)->node, ((const st_answer *)y)->node);
}

size_t st_api_ask_all(const st_api *api, uint8_t what, const char *qs, long want, st_answer **out)
{
    sb arg = {0};
    sb_printf(&arg, "%ld\n%s", want, qs);
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n = ans && arg.p ? st_cluster_ask(api->cluster, what, arg.p, arg.len, ans, MAX_ANSWERS,
                                             ASK_TIMEOUT_MS)
                            : 0;
    free(arg.p);
    if (n > 1) qsort(ans, n, sizeof *ans, by_node);
    *out = ans;
    return n;
}

int st_api_parse_page(const st_answer *a, st_api_parsed *p)
{
    uint32_t max = (uint32_t)(a->len / 2 + 8);
    p->t = malloc(max * sizeof *p->t);
    int r = p->t ? st_json_parse(a->body, a->len, p->t, max) : -1;
    int c = r > 0 ? st_json_get(a->body, p->t, 0, "count") : -1;
    p->data = r > 0 ? st_json_get(a->body, p->t, 0, "data") : -1;
    p->count = c >= 0 ? strtol(a->body + p->t[c].start, NULL, 10) : 0;
    return p->data >= 0 && p->t[p->data].type == ST_J_ARRAY;
}

void st_api_merge_pages(sb *b, const st_answer *ans, size_t n, long page, long limit,
                        int with_count)
{
    long from = (page - 1) * limit, count = 0, shown = 0;
    sb_printf(b, "{\"data\":[");
    for (size_t k = 0; k < n; k++) {
        st_api_parsed p = {0};
        if (st_api_parse_page(&ans[k], &p)) {
            for (uint32_t i = 0; i < p.t[p.data].size; i++) {
                int e = st_json_at(p.t, (uint32_t)p.data, i);
                if (e < 0 || count + (long)i < from || shown == limit) continue;
                sb_printf(b, "%s%.*s", shown++ ? "," : "", (int)(p.t[e].end - p.t[e].start),
                          ans[k].body + p.t[e].start);
            }
            count += p.count;
        }
        free(p.t);
    }
    sb_printf(b, "],\"meta\":{\"page\":%ld,\"limit\":%ld,\"hasnext\":%s", page, limit,
              from + shown < count ? "true" : "false");
    if (with_count) sb_printf(b, ",\"count\":%ld", count);
    sb_printf(b, "}}");
}

char *st_api_page_answer(size_t total, const sb *items, size_t *len)
{
    sb b = {0};
    sb_printf(&b, "{\"count\":%zu,\"data\":[%.*s]}", total, (int)items->len,
              items->p ? items->p : "");
    *len = b.len;
    return b.p;
}

char *st_api_page_query(const char *arg, size_t arglen, long *want)
{
    const char *nl = memchr(arg, '\n', arglen);
    *want = nl ? strtol(arg, NULL, 10) : 0;
    return nl ? strndup(nl + 1, arglen - (size_t)(nl - arg) - 1) : NULL;
}
