/* paged.h — a list every node answers for its own part of (clients, subscriptions, topics),
 * merged and paged on the node the API is asked on: each node is sent the query string and
 * how many it has to return (page × limit) and answers {"count": N, "data": [its first
 * ones]}; the pages run over the nodes in name order, each node's items in its order. */
#ifndef ST_ADMIN_PAGED_H
#define ST_ADMIN_PAGED_H

#include "admin/api.h"
#include "admin/sb.h"
#include "core/json.h"

#include <stddef.h>
#include <stdint.h>

/* Every node's answer to question `what` with arg "<want>\n<qs>", nodes in name order (free
 * with st_answers_free and free). How many are in *out. */
size_t st_api_ask_all(const st_api *api, uint8_t what, const char *qs, long want, st_answer **out);
/* Page `page` of `limit` items across the answers as {"data": [...], "meta": {"page",
 * "limit", "hasnext"[, "count"]}} into b (count: with_count). */
void st_api_merge_pages(sb *b, const st_answer *ans, size_t n, long page, long limit,
                        int with_count);
/* A node's side: the query string of arg ("<want>\n<qs>", malloc'd) and *want; NULL when
 * arg is not that (or out of memory). */
char *st_api_page_query(const char *arg, size_t arglen, long *want);
/* One node's answer: {"count": total, "data": [...]} with the items already in items (a JSON
 * list without its brackets). */
char *st_api_page_answer(size_t total, const sb *items, size_t *len);

/* An answer parsed: its tokens (malloc'd) and its "data" array's token (-1: none). */
typedef struct st_api_parsed {
    st_jtok *t;
    int data;
    long count;
} st_api_parsed;
int st_api_parse_page(const st_answer *a, st_api_parsed *p); /* 1: it has a data array */

#endif
