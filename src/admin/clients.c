/* clients.c — the cluster's clients (clients.h): each node answers for its own sessions, the
 * node the API is asked on merges them in node name order. */
#include "admin/clients.h"
#include "admin/paged.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/clients.h"
#include "core/json.h"
#include "net/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 5000
#define WORKERS_MS 2000 /* a node's workers answer within this */
#define MAX_LIMIT 10000

/* ---- the query ---------------------------------------------------------------------------- */

typedef struct query {
    st_client_filter f;
    char node[256];
    long page, limit;
} query;

/* A string parameter (absent: ""); one that does not fit is a bad one. */
static void str_param(const char *q, const char *name, char *out, size_t cap, const char **bad)
{
    if (st_http_param(q, name, out, cap) >= 0) return;
    out[0] = 0;
    char *big = malloc(8192);
    if (big && st_http_param(q, name, big, 8192) >= 0 && !*bad) *bad = name;
    free(big);
}

/* true/false → 1/0, absent → -1, else -2. */
static int bool_param(const char *q, const char *name)
{
    char v[8];
    if (st_http_param(q, name, v, sizeof v) < 0) return -1;
    return strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -2;
}

/* RFC 3339 or epoch ms: ms; absent 0; bad -1. */
static int64_t time_param(const char *q, const char *name)
{
    char v[64];
    if (st_http_param(q, name, v, sizeof v) < 0) return 0;
    size_t i = 0;
    while (v[i] && isdigit((unsigned char)v[i]))
        i++;
    if (i > 0 && !v[i]) return strtoll(v, NULL, 10);
    int64_t ms = st_api_parse_time(v);
    return ms > 0 ? ms : -1;
}

/* The query string's filters and paging; NULL, or the name of the bad parameter. */
static const char *parse_query(const char *q, query *out)
{
    memset(out, 0, sizeof *out);
    const char *bad = NULL;
    st_client_filter *f = &out->f;
    str_param(q, "clientid", f->clientid, sizeof f->clientid, &bad);
    str_param(q, "username", f->username, sizeof f->username, &bad);
    str_param(q, "like_clientid", f->like_clientid, sizeof f->like_clientid, &bad);
    str_param(q, "like_username", f->like_username, sizeof f->like_username, &bad);
    str_param(q, "ip_address", f->ip_address, sizeof f->ip_address, &bad);
    str_param(q, "node", out->node, sizeof out->node, &bad);
    char st[16] = "";
    st_http_param(q, "conn_state", st, sizeof st);
    f->connected = !st[0]                                                    ? -1
                   : strcmp(st, "connected") == 0 || strcmp(st, "idle") == 0 ? 1
                   : strcmp(st, "disconnected") == 0                         ? 0
                                                                             : -2;
    if (f->connected == -2 && !bad) bad = "conn_state";
    f->clean_start = bool_param(q, "clean_start");
    if (f->clean_start == -2 && !bad) bad = "clean_start";
    f->proto_ver = (int)st_api_num_param(q, "proto_ver", -1);
    if (f->proto_ver != -1 && (f->proto_ver < 3 || f->proto_ver > 5) && !bad) bad = "proto_ver";
    f->gte_connected_at = time_param(q, "gte_connected_at");
    f->lte_connected_at = time_param(q, "lte_connected_at");
    if ((f->gte_connected_at < 0 || f->lte_connected_at < 0) && !bad) bad = "connected_at";
    out->page = st_api_num_param(q, "page", 1);
    out->limit = st_api_num_param(q, "limit", 100);
    if ((out->page < 1 || out->limit < 1 || out->limit > MAX_LIMIT) && !bad) bad = "page_limit";
    return bad;
}

/* ---- one node's answer -------------------------------------------------------------------- */

static void time_field(sb *b, const char *name, int64_t ms)
{
    char t[40];
    if (!ms) {
        sb_printf(b, ",\"%s\":null", name);
        return;
    }
    st_api_rfc3339(ms, t, sizeof t);
    sb_printf(b, ",\"%s\":\"%s\"", name, t);
}

static void client_json(sb *b, const st_broker *br, const char *node, const st_client_info *c)
{
    const st_settings *cfg = &br->cfg;
    sb_printf(b, "{\"clientid\":");
    sb_json_str(b, c->clientid);
    sb_printf(b, ",\"username\":");
    if (c->username)
        sb_json_str(b, c->username);
    else
        sb_printf(b, "null");
    sb_printf(b, ",\"node\":");
    sb_json_str(b, node);
    sb_printf(b, ",\"connected\":%s", c->connected ? "true" : "false");
    if (c->connected) {
        const st_listener_conf *l =
            c->listener >= 0 && c->listener < cfg->n_listeners ? &cfg->listeners[c->listener] : 0;
        sb_printf(b, ",\"ip_address\":");
        sb_json_str(b, c->ip_address);
        sb_printf(b, ",\"port\":%d,\"proto_name\":\"%s\",\"proto_ver\":%d", c->port,
                  c->proto_ver == 3 ? "MQIsdp" : "MQTT", c->proto_ver);
        sb_printf(b, ",\"clean_start\":%s,\"keepalive\":%d", c->clean_start ? "true" : "false",
                  c->keepalive);
        if (l) sb_printf(b, ",\"listener\":\"%s:%s\"", st_listener_type(l), l->name);
    }
    time_field(b, "connected_at", c->connected ? c->connected_at : 0);
    time_field(b, "created_at", c->connected ? c->connected_at : 0);
    if (!c->connected) time_field(b, "disconnected_at", c->disconnected_at);
    sb_printf(b, ",\"expiry_interval\":%lld,\"is_persistent\":%s,\"durable\":%s",
              (long long)(c->expiry_interval_s < 0 ? 4294967295LL : c->expiry_interval_s),
              c->expiry_interval_s != 0 ? "true" : "false", c->durable ? "true" : "false");
    sb_printf(b,
              ",\"subscriptions_cnt\":%u,\"mqueue_len\":%u,\"inflight_cnt\":%u,"
              "\"awaiting_rel_cnt\":%u,\"mqueue_dropped\":%llu,\"inflight_max\":%u",
              c->subscriptions, c->mqueue_len, c->inflight, c->awaiting_rel,
              (unsigned long long)c->mqueue_dropped, cfg->max_inflight);
    if (cfg->max_mqueue_len == ST_UNLIMITED)
        sb_printf(b, ",\"mqueue_max\":\"infinity\"");
    else
        sb_printf(b, ",\"mqueue_max\":%lld", (long long)cfg->max_mqueue_len);
    sb_printf(b, "}");
}

static char *list_answer(const st_api *api, const char *arg, size_t arglen, size_t *len)
{
    long want;
    char *qs = st_api_page_query(arg, arglen, &want);
    query *q = qs ? malloc(sizeof *q) : NULL;
    const char *self = st_cluster_node_name(api->cluster);
    st_client_info *v = NULL;
    size_t n = 0, total = 0;
    int rc = q && want >= 0 && !parse_query(qs, q) && (!q->node[0] || strcmp(q->node, self) == 0)
                 ? st_clients_list(api->broker, &q->f, (size_t)want, WORKERS_MS, &v, &n, &total)
                 : 0;
    sb items = {0};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i) sb_printf(&items, ",");
        client_json(&items, api->broker, self, &v[i]);
    }
    char *out = rc < 0 ? strdup("{\"error\":\"its workers did not answer\"}")
                       : st_api_page_answer(total, &items, len);
    if (rc < 0 && out) *len = strlen(out);
    free(items.p);
    st_client_infos_free(v, n);
    free(q);
    free(qs);
    return out;
}

char *st_api_clients_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                            size_t *len)
{
    if (!api->broker || (what != ST_ASK_CLIENTS && what != ST_ASK_CLIENT_KICK)) return NULL;
    if (what == ST_ASK_CLIENTS) return list_answer(api, arg, arglen, len);
    sb b = {0};
    sb_printf(&b, "%d", st_clients_kick(api->broker, arg, arglen, WORKERS_MS) == 1);
    *len = b.len;
    return b.p;
}

/* ---- the API ------------------------------------------------------------------------------ */

static void list(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    query q;
    const char *qs = req->query;
    const char *bad = parse_query(qs, &q);
    if (bad) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s",
                 strcmp(bad, "page_limit") == 0
                     ? "page_limit_invalid: page must be at least 1, limit 1 to 10000"
                     : "");
        if (!msg[0]) snprintf(msg, sizeof msg, "bad value for query parameter %s", bad);
        st_api_error(resp, 400, "INVALID_PARAMETER", msg);
        return;
    }
    st_answer *ans = NULL;
    size_t n = st_api_ask_all(api, ST_ASK_CLIENTS, qs, q.page * q.limit, &ans);
    sb b = {0};
    st_api_merge_pages(&b, ans, n, q.page, q.limit, !q.f.like_clientid[0] && !q.f.like_username[0]);
    st_answers_free(ans, n);
    free(ans);
    st_api_reply(resp, 200, "application/json", &b);
}

/* The client id of /api/v5/clients/{clientid}, percent-decoded: its length, or -1. */
static long path_cid(const char *path, char *out, size_t cap)
{
    const char *p = path + strlen("/api/v5/clients/");
    return st_http_unescape(p, strlen(p), out, cap);
}

static void show(const st_api *api, const char *cid, st_http_resp *resp)
{
    sb qs = {0};
    sb_printf(&qs, "clientid=");
    for (const char *c = cid; *c; c++) /* the query is parsed again on every node */
        sb_printf(&qs, isalnum((unsigned char)*c) ? "%c" : "%%%02X", (unsigned char)*c);
    st_answer *ans = NULL;
    size_t n = qs.p ? st_api_ask_all(api, ST_ASK_CLIENTS, qs.p, 1, &ans) : 0;
    free(qs.p);
    sb b = {0};
    for (size_t k = 0; k < n && !b.len; k++) {
        st_api_parsed p = {0};
        int e = st_api_parse_page(&ans[k], &p) && p.t[p.data].size
                    ? st_json_at(p.t, (uint32_t)p.data, 0)
                    : -1;
        if (e >= 0)
            sb_printf(&b, "%.*s", (int)(p.t[e].end - p.t[e].start), ans[k].body + p.t[e].start);
        free(p.t);
    }
    st_answers_free(ans, n);
    free(ans);
    if (!b.len) {
        st_api_error(resp, 404, "CLIENTID_NOT_FOUND", "Client ID not found");
        return;
    }
    st_api_reply(resp, 200, "application/json", &b);
}

/* Kick client id cid wherever it is: 1 if a node had it. */
static int kick(const st_api *api, const char *cid)
{
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n = ans ? st_cluster_ask(api->cluster, ST_ASK_CLIENT_KICK, cid, strlen(cid), ans,
                                    MAX_ANSWERS, ASK_TIMEOUT_MS)
                   : 0;
    int yes = 0;
    for (size_t k = 0; k < n; k++)
        yes |= ans[k].len == 1 && ans[k].body[0] == '1';
    st_answers_free(ans, n);
    free(ans);
    return yes;
}

static void kick_bulk(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    st_jtok t[1025];
    int r = req->body ? st_json_parse(req->body, req->body_len, t, 1025) : -1;
    if (r <= 0 || t[0].type != ST_J_ARRAY) {
        st_api_error(resp, 400, "BAD_REQUEST", "the body must be a JSON array of client ids");
        return;
    }
    char cid[ST_CLIENTS_FILTER_MAX];
    for (uint32_t i = 0; i < t[0].size; i++) {
        int e = st_json_at(t, 0, i);
        if (e < 0 || t[e].type != ST_J_STRING ||
            st_json_str(req->body, &t[e], cid, sizeof cid) < 0) {
            st_api_error(resp, 400, "BAD_REQUEST", "the body must be a JSON array of client ids");
            return;
        }
    }
    for (uint32_t i = 0; i < t[0].size; i++) {
        st_json_str(req->body, &t[st_json_at(t, 0, i)], cid, sizeof cid);
        kick(api, cid);
    }
    st_api_reply(resp, 204, "application/json", &(sb){0});
}

int st_api_clients(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path, *m = req->method;
    if (strcmp(p, "/api/v5/clients") == 0) {
        if (strcmp(m, "GET") == 0)
            list(api, req, resp);
        else
            st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET is served here");
        return 1;
    }
    if (strcmp(p, "/api/v5/clients/kickout/bulk") == 0) {
        if (strcmp(m, "POST") == 0)
            kick_bulk(api, req, resp);
        else
            st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only POST is served here");
        return 1;
    }
    if (strncmp(p, "/api/v5/clients/", 16) != 0 || strchr(p + 16, '/')) return 0;
    char cid[ST_CLIENTS_FILTER_MAX];
    if (path_cid(p, cid, sizeof cid) <= 0) {
        st_api_error(resp, 400, "INVALID_PARAMETER", "bad client id in the path");
    } else if (strcmp(m, "GET") == 0) {
        show(api, cid, resp);
    } else if (strcmp(m, "DELETE") == 0) {
        if (kick(api, cid))
            st_api_reply(resp, 204, "application/json", &(sb){0});
        else
            st_api_error(resp, 404, "CLIENTID_NOT_FOUND", "Client ID not found");
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET and DELETE are served here");
    }
    return 1;
}
