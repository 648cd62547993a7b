/* alarms.c — the cluster's alarms (alarms.h): each node answers with its own, the node the
 * API is asked on merges them. */
#include "admin/alarms.h"
#include "admin/sb.h"
#include "core/alarm.h"
#include "core/clock.h"
#include "core/json.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 3000
#define MAX_LIMIT 10000

static void alarm_json(sb *b, const char *node, const st_alarm *a, int64_t now)
{
    char at[40], until[40];
    st_api_rfc3339(a->activate_at_ms, at, sizeof at);
    sb_printf(b, "{\"node\":");
    sb_json_str(b, node);
    sb_printf(b, ",\"name\":");
    sb_json_str(b, a->name);
    sb_printf(b, ",\"message\":");
    sb_json_str(b, a->message);
    int64_t end = a->deactivate_at_ms ? a->deactivate_at_ms : now;
    sb_printf(b, ",\"details\":%s,\"duration\":%lld,\"activate_at\":\"%s\"", a->details,
              (long long)(end - a->activate_at_ms), at);
    if (a->deactivate_at_ms) {
        st_api_rfc3339(a->deactivate_at_ms, until, sizeof until);
        sb_printf(b, ",\"deactivate_at\":\"%s\"", until);
    }
    sb_printf(b, "}");
}

char *st_api_alarms_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                           size_t *len)
{
    const char *self = st_cluster_node_name(api->cluster);
    sb b = {0};
    if (what == ST_ASK_ALARMS) {
        int active = arglen == 1 && arg[0] == '1';
        size_t n = st_alarms_list(api->alarms, active, NULL, 0);
        st_alarm *v = n ? calloc(n, sizeof *v) : NULL;
        n = v ? st_alarms_list(api->alarms, active, v, n) : 0;
        int64_t now = st_wall_ms();
        sb_printf(&b, "[");
        for (size_t i = 0; i < n; i++) {
            if (i) sb_printf(&b, ",");
            alarm_json(&b, self, &v[i], now);
        }
        sb_printf(&b, "]");
        free(v);
    } else if (what == ST_ASK_ALARMS_FORGET) {
        st_alarms_forget_history(api->alarms);
        sb_printf(&b, "{}");
    } else if (what == ST_ASK_ALARM_CLEAR) {
        const char *nl = memchr(arg, '\n', arglen);
        char name[64];
        int mine = nl && (size_t)(nl - arg) == strlen(self) && memcmp(arg, self, strlen(self)) == 0;
        snprintf(name, sizeof name, "%.*s", nl ? (int)(arglen - (size_t)(nl - arg) - 1) : 0,
                 nl ? nl + 1 : "");
        sb_printf(&b, "%d", mine && st_alarm_clear(api->alarms, name) == 0);
    } else {
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static int by_node(const void *x, const void *y)
{
    return strcmp(((const st_answer *)x)->node, ((const st_answer *)y)->node);
}

/* Every node's alarms of one kind, nodes in name order, each node's oldest first. */
static void list(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    char act[16] = "true";
    st_http_param(req->query, "activated", act, sizeof act);
    long page = st_api_num_param(req->query, "page", 1),
         limit = st_api_num_param(req->query, "limit", 100);
    int active = strcmp(act, "true") == 0;
    if ((!active && strcmp(act, "false") != 0) || page < 1 || limit < 1 || limit > MAX_LIMIT) {
        st_api_error(resp, 400, "BAD_REQUEST",
                     "activated must be true or false, page at least 1, limit 1 to 10000");
        return;
    }
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n = ans ? st_cluster_ask(api->cluster, ST_ASK_ALARMS, active ? "1" : "0", 1, ans,
                                    MAX_ANSWERS, ASK_TIMEOUT_MS)
                   : 0;
    if (n > 1) qsort(ans, n, sizeof *ans, by_node);
    size_t count = 0, from = (size_t)((page - 1) * limit), shown = 0;
    sb b = {0};
    sb_printf(&b, "{\"data\":[");
    for (size_t k = 0; k < n; k++) {
        uint32_t max = (uint32_t)(ans[k].len / 2 + 8);
        st_jtok *t = malloc(max * sizeof *t);
        int r = t ? st_json_parse(ans[k].body, ans[k].len, t, max) : -1;
        uint32_t items = r > 0 && t[0].type == ST_J_ARRAY ? t[0].size : 0;
        for (uint32_t i = 0; i < items; i++) {
            int e = st_json_at(t, 0, i);
            if (e < 0 || count++ < from || shown == (size_t)limit) continue;
            sb_printf(&b, "%s%.*s", shown++ ? "," : "", (int)(t[e].end - t[e].start),
                      ans[k].body + t[e].start);
        }
        free(t);
    }
    sb_printf(&b, "],\"meta\":{\"page\":%ld,\"limit\":%ld,\"count\":%zu,\"hasnext\":%s}}", page,
              limit, count, from + shown < count ? "true" : "false");
    st_answers_free(ans, n);
    free(ans);
    st_api_reply(resp, 200, "application/json", &b);
}

static size_t ask_all(const st_api *api, uint8_t what, const char *arg, size_t arglen, size_t *yes)
{
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n =
        ans ? st_cluster_ask(api->cluster, what, arg, arglen, ans, MAX_ANSWERS, ASK_TIMEOUT_MS) : 0;
    *yes = 0;
    for (size_t k = 0; k < n; k++)
        *yes += ans[k].len == 1 && ans[k].body[0] == '1';
    st_answers_free(ans, n);
    free(ans);
    return n;
}

static int str_field(const char *s, const st_jtok *t, const char *key, char *out, size_t cap)
{
    int k = st_json_get(s, t, 0, key);
    return k >= 0 && t[k].type == ST_J_STRING ? st_json_str(s, &t[k], out, cap) : -1;
}

static void force_deactivate(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    st_jtok t[16];
    char node[256], name[64], arg[330];
    int r = req->body ? st_json_parse(req->body, req->body_len, t, 16) : -1;
    if (r <= 0 || t[0].type != ST_J_OBJECT ||
        str_field(req->body, t, "node", node, sizeof node) < 0 ||
        str_field(req->body, t, "name", name, sizeof name) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "the body must be {\"node\": ..., \"name\": ...}");
        return;
    }
    int n = snprintf(arg, sizeof arg, "%s\n%s", node, name);
    size_t yes;
    ask_all(api, ST_ASK_ALARM_CLEAR, arg, (size_t)n, &yes);
    if (!yes) {
        st_api_error(resp, 404, "NOT_FOUND", "no such active alarm on that node");
        return;
    }
    st_api_reply(resp, 204, "application/json", &(sb){0});
}

int st_api_alarms(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    int force = strcmp(req->path, "/api/v5/alarms/force_deactivate") == 0;
    if (strcmp(req->path, "/api/v5/alarms") != 0 && !force) return 0;
    size_t yes;
    if (force && strcmp(req->method, "POST") == 0) {
        force_deactivate(api, req, resp);
    } else if (!force && strcmp(req->method, "GET") == 0) {
        list(api, req, resp);
    } else if (!force && strcmp(req->method, "DELETE") == 0) {
        ask_all(api, ST_ASK_ALARMS_FORGET, "", 0, &yes);
        st_api_reply(resp, 204, "application/json", &(sb){0});
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED",
                     force ? "only POST is served here" : "only GET and DELETE are served here");
    }
    return 1;
}
