/* listeners.c — the cluster's listeners (listeners.h). */
#include "admin/listeners.h"
#include "broker/broker.h"
#include "broker/listen_ctl.h"
#include "broker/worker.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define MAX_IDS 64
#define MAX_TOKENS (ST_MAX_LISTENERS * 9 + 1)
#define ASK_TIMEOUT_MS 3000

char *st_api_listeners_answer(const st_broker *br, size_t *len)
{
    sb b = {0};
    sb_printf(&b, "[");
    for (int i = 0; br && i < br->cfg.n_listeners; i++) {
        const st_listener_conf *l = &br->cfg.listeners[i];
        sb_printf(&b, "%s{\"id\":\"%s:%s\",\"bind\":", i ? "," : "", st_listener_type(l), l->name);
        sb_json_str(&b, l->bind);
        if (l->max_connections == ST_UNLIMITED)
            sb_printf(&b, ",\"max_connections\":\"infinity\"");
        else
            sb_printf(&b, ",\"max_connections\":%lld", (long long)l->max_connections);
        sb_printf(&b, ",\"current_connections\":%ld,\"running\":%s}", atomic_load(&br->conns[i]),
                  st_listener_running(br, i) ? "true" : "false");
    }
    sb_printf(&b, "]");
    *len = b.len;
    return b.p;
}

/* One node's answer, parsed. */
typedef struct node_ans {
    const char *node, *s;
    st_jtok t[MAX_TOKENS];
    int n; /* listeners in it (0: none, or it did not parse) */
} node_ans;

/* The token of listener i's field in a, or -1. */
static int field(const node_ans *a, int i, const char *key)
{
    int obj = st_json_at(a->t, 0, (uint32_t)i);
    return obj < 0 ? -1 : st_json_get(a->s, a->t, (uint32_t)obj, key);
}

/* Listener i of a is id? */
static int has_id(const node_ans *a, int i, const char *id)
{
    int k = field(a, i, "id");
    return k >= 0 && st_json_eq(a->s, &a->t[k], id);
}

static void raw(sb *b, const node_ans *a, int tok)
{
    const st_jtok *t = &a->t[tok];
    if (t->type == ST_J_STRING)
        sb_printf(b, "\"%.*s\"", (int)(t->end - t->start), a->s + t->start);
    else
        sb_printf(b, "%.*s", (int)(t->end - t->start), a->s + t->start);
}

static long long num(const node_ans *a, int tok)
{
    return tok >= 0 && a->t[tok].type == ST_J_NUMBER ? strtoll(a->s + a->t[tok].start, NULL, 10)
                                                     : -1;
}

static int running(const node_ans *a, int i)
{
    int k = field(a, i, "running");
    return k < 0 || a->t[k].type == ST_J_TRUE;
}

static void status(sb *b, const node_ans *a, int i)
{
    sb_printf(b, "{\"running\":%s,\"max_connections\":", running(a, i) ? "true" : "false");
    raw(b, a, field(a, i, "max_connections"));
    sb_printf(b, ",\"current_connections\":%lld}", num(a, field(a, i, "current_connections")));
}

/* One entry of the list: listener id as every node that has it says. */
static void entry(sb *b, const char *id, const node_ans *as, size_t n, int acceptors)
{
    const char *colon = strchr(id, ':');
    int number = 0, first = -1, inf = 0, all_running = 1;
    long long conns = 0, max = 0;
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < as[k].n; i++) {
            if (!has_id(&as[k], i, id)) continue;
            if (first < 0) first = (int)k;
            number++;
            conns += num(&as[k], field(&as[k], i, "current_connections"));
            all_running &= running(&as[k], i);
            long long m = num(&as[k], field(&as[k], i, "max_connections"));
            inf |= m < 0;
            max += m < 0 ? 0 : m;
        }
    sb_printf(b, "{\"id\":");
    sb_json_str(b, id);
    sb_printf(b, ",\"type\":\"%.*s\",\"name\":", (int)(colon - id), id);
    sb_json_str(b, colon + 1);
    sb_printf(b, ",\"enable\":true,\"bind\":");
    for (int i = 0; i < as[first].n; i++)
        if (has_id(&as[first], i, id)) raw(b, &as[first], field(&as[first], i, "bind"));
    sb_printf(b, ",\"acceptors\":%d,\"number\":%d,\"status\":{\"running\":%s,", acceptors, number,
              all_running ? "true" : "false");
    if (inf)
        sb_printf(b, "\"max_connections\":\"infinity\"");
    else
        sb_printf(b, "\"max_connections\":%lld", max);
    sb_printf(b, ",\"current_connections\":%lld},\"node_status\":[", conns);
    int out = 0;
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < as[k].n; i++) {
            if (!has_id(&as[k], i, id)) continue;
            sb_printf(b, "%s{\"node\":", out++ ? "," : "");
            sb_json_str(b, as[k].node);
            sb_printf(b, ",\"status\":");
            status(b, &as[k], i);
            sb_printf(b, "}");
        }
    sb_printf(b, "]}");
}

static int by_node(const void *x, const void *y)
{
    return strcmp(((const st_answer *)x)->node, ((const st_answer *)y)->node);
}

/* Every listener id any node has, this node's first, in their order. */
static size_t ids_of(const node_ans *as, size_t n, char ids[][80])
{
    size_t nid = 0;
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < as[k].n && nid < MAX_IDS; i++) {
            int t = field(&as[k], i, "id");
            char id[80];
            if (t < 0 || st_json_str(as[k].s, &as[k].t[t], id, sizeof id) < 0 || !strchr(id, ':'))
                continue;
            size_t j = 0;
            while (j < nid && strcmp(ids[j], id) != 0)
                j++;
            if (j == nid) memcpy(ids[nid++], id, sizeof id);
        }
    return nid;
}

void st_api_listeners(sb *b, const st_api *api)
{
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    node_ans *as = ans ? calloc(MAX_ANSWERS, sizeof *as) : NULL;
    char(*ids)[80] = as ? calloc(MAX_IDS, sizeof *ids) : NULL;
    size_t n = ids ? st_cluster_ask(api->cluster, ST_ASK_LISTENERS, "", 0, ans, MAX_ANSWERS,
                                    ASK_TIMEOUT_MS)
                   : 0;
    const char *self = st_cluster_node_name(api->cluster);
    for (size_t k = 0; k < n; k++) /* this node first, then by name */
        if (strcmp(ans[k].node, self) == 0 && k) {
            st_answer t = ans[0];
            ans[0] = ans[k];
            ans[k] = t;
        }
    if (n > 1) qsort(ans + 1, n - 1, sizeof *ans, by_node);
    for (size_t k = 0; k < n; k++) {
        as[k].node = ans[k].node;
        as[k].s = ans[k].body;
        int r = st_json_parse(ans[k].body, ans[k].len, as[k].t, MAX_TOKENS);
        as[k].n = r > 0 && as[k].t[0].type == ST_J_ARRAY ? (int)as[k].t[0].size : 0;
    }
    size_t nid = n ? ids_of(as, n, ids) : 0;
    sb_printf(b, "[");
    for (size_t i = 0; i < nid; i++) {
        if (i) sb_printf(b, ",");
        entry(b, ids[i], as, n, api->broker ? api->broker->nw : 0);
    }
    sb_printf(b, "]");
    st_answers_free(ans, n);
    free(ids);
    free(as);
    free(ans);
}

/* ---- stop, start, restart ----------------------------------------------------------------- */

char *st_api_listener_op_answer(const st_api *api, const char *arg, size_t arglen, size_t *len)
{
    char op[16], id[100], err[300] = "";
    const char *nl = memchr(arg, '\n', arglen);
    sb b = {0};
    int li = -1;
    if (nl && (size_t)(nl - arg) < sizeof op) {
        snprintf(op, sizeof op, "%.*s", (int)(nl - arg), arg);
        snprintf(id, sizeof id, "%.*s", (int)(arglen - (size_t)(nl - arg) - 1), nl + 1);
        for (int i = 0; api->broker && i < api->broker->cfg.n_listeners; i++) {
            char mine[100];
            const st_listener_conf *l = &api->broker->cfg.listeners[i];
            snprintf(mine, sizeof mine, "%s:%s", st_listener_type(l), l->name);
            if (strcmp(mine, id) == 0) li = i;
        }
    }
    int rc = 0;
    if (li >= 0 && strcmp(op, "restart") == 0)
        rc = st_listener_set(api->broker, li, 0, err, sizeof err);
    if (li >= 0 && rc == 0)
        rc = st_listener_set(api->broker, li, strcmp(op, "stop") != 0, err, sizeof err);
    if (li >= 0) sb_printf(&b, "%s", rc == 0 ? "ok" : err[0] ? err : "failed");
    *len = b.len;
    return b.p ? b.p : calloc(1, 1); /* "": no such listener here */
}

void st_api_listener_op(const st_api *api, const char *id, const char *op, st_http_resp *resp)
{
    if (strcmp(op, "start") && strcmp(op, "stop") && strcmp(op, "restart")) {
        st_api_error(resp, 404, "NOT_FOUND", "POST /api/v5/listeners/{id}/start|stop|restart");
        return;
    }
    char arg[200];
    int n = snprintf(arg, sizeof arg, "%s\n%s", op, id);
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t got = ans && n > 0 && (size_t)n < sizeof arg
                     ? st_cluster_ask(api->cluster, ST_ASK_LISTENER_OP, arg, (size_t)n, ans,
                                      MAX_ANSWERS, ASK_TIMEOUT_MS * 3)
                     : 0;
    int has = 0;
    sb errs = {0};
    for (size_t k = 0; k < got; k++) {
        if (!ans[k].len) continue;
        has = 1;
        if (ans[k].len == 2 && memcmp(ans[k].body, "ok", 2) == 0) continue;
        sb_printf(&errs, "%s%s: %.*s", errs.len ? "; " : "", ans[k].node, (int)ans[k].len,
                  ans[k].body);
    }
    st_answers_free(ans, got);
    free(ans);
    if (!has)
        st_api_error(resp, 404, "BAD_LISTENER_ID", "Listener not found");
    else if (errs.len)
        st_api_error(resp, 400, "BAD_REQUEST", errs.p);
    else
        st_api_reply(resp, 200, "application/json", &(sb){0});
    free(errs.p);
}
