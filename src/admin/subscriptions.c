/* subscriptions.c — the cluster's subscriptions and topics, and a client's (subscriptions.h). */
#include "admin/subscriptions.h"
#include "admin/client_msgs.h"
#include "admin/paged.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/subsapi.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 5000
#define WORKERS_MS 2000
#define MAX_LIMIT 10000
#define MAX_BULK 1024

/* ---- the query ---------------------------------------------------------------------------- */

typedef struct query {
    st_sub_filter f;
    char node[256];
    long page, limit;
} query;

/* NULL, or what is wrong with the query string. */
static const char *parse_query(const char *qs, query *q)
{
    memset(q, 0, sizeof *q);
    st_http_param(qs, "clientid", q->f.clientid, sizeof q->f.clientid);
    st_http_param(qs, "topic", q->f.topic, sizeof q->f.topic);
    st_http_param(qs, "share_group", q->f.share_group, sizeof q->f.share_group);
    st_http_param(qs, "match_topic", q->f.match_topic, sizeof q->f.match_topic);
    st_http_param(qs, "node", q->node, sizeof q->node);
    q->f.qos = (int)st_api_num_param(qs, "qos", -1);
    q->page = st_api_num_param(qs, "page", 1);
    q->limit = st_api_num_param(qs, "limit", 100);
    if (q->page < 1 || q->limit < 1 || q->limit > MAX_LIMIT)
        return "page_limit_invalid: page must be at least 1, limit 1 to 10000";
    if (q->f.qos != -1 && (q->f.qos < 0 || q->f.qos > 2)) return "qos must be 0, 1 or 2";
    const char *m = q->f.match_topic;
    if (m[0] && (strncmp(m, "$share/", 7) == 0 || strncmp(m, "$queue/", 7) == 0 ||
                 mqtt_topic_filter_check((const uint8_t *)m, strlen(m)) != 0))
        return "match_topic_invalid";
    if (q->f.topic[0] &&
        mqtt_topic_filter_check((const uint8_t *)q->f.topic, strlen(q->f.topic)) != 0)
        return "topic_filter_invalid";
    return NULL;
}

/* ---- this node's answers ---------------------------------------------------------------- */

static void sub_json(sb *b, const char *node, const st_sub_info *s)
{
    sb_printf(b, "{\"node\":");
    sb_json_str(b, node);
    sb_printf(b, ",\"clientid\":");
    sb_json_str(b, s->clientid);
    sb_printf(b, ",\"topic\":");
    sb_json_str(b, s->topic);
    sb_printf(b, ",\"qos\":%d,\"nl\":%d,\"rap\":%d,\"rh\":0,\"durable\":%s}", s->qos, s->nl, s->rap,
              s->durable ? "true" : "false");
}

static int by_topic(const void *x, const void *y)
{
    return strcmp(((const st_sub_info *)x)->topic, ((const st_sub_info *)y)->topic);
}

static char *list_answer(const st_api *api, const char *arg, size_t arglen, size_t *len)
{
    long want;
    char *qs = st_api_page_query(arg, arglen, &want);
    const char *self = st_cluster_node_name(api->cluster);
    query q;
    char what[16] = "";
    st_sub_info *v = NULL;
    size_t n = 0, total = 0;
    if (qs) st_http_param(qs, "_list", what, sizeof what);
    if (qs && !parse_query(qs, &q) && (!q.node[0] || strcmp(q.node, self) == 0))
        st_subs_list_api(api->broker, &q.f, WORKERS_MS, &v, &n);
    int topics = strcmp(what, "topics") == 0;
    if (topics && n > 1) qsort(v, n, sizeof *v, by_topic);
    sb items = {0};
    for (size_t i = 0; i < n; i++) {
        if (topics && i && strcmp(v[i].topic, v[i - 1].topic) == 0) continue; /* distinct */
        if ((long)total++ >= want) continue;
        if (items.len) sb_printf(&items, ",");
        if (!topics) {
            sub_json(&items, self, &v[i]);
            continue;
        }
        sb_printf(&items, "{\"topic\":");
        sb_json_str(&items, v[i].topic);
        sb_printf(&items, ",\"node\":");
        sb_json_str(&items, self);
        sb_printf(&items, "}");
    }
    char *out = st_api_page_answer(total, &items, len);
    free(items.p);
    st_sub_infos_free(v, n);
    free(qs);
    return out;
}

/* "<op>\n<clientid>\n<body>": L lists, S subscribes ("<qos> <nl> <rap> <rh>\n<topic>"), U
 * unsubscribes ("<topic>"). "" when the session is not here. */
static char *client_answer(const st_api *api, const char *arg, size_t arglen, size_t *len)
{
    char *a = strndup(arg, arglen), *cid = a ? strchr(a, '\n') : NULL;
    char *body = cid ? strchr(cid + 1, '\n') : NULL;
    sb b = {0};
    if (cid) *cid++ = 0;
    if (body) *body++ = 0;
    const char *self = st_cluster_node_name(api->cluster);
    if (cid && a[0] == 'L') {
        st_sub_info *v = NULL;
        size_t n = 0;
        if (st_client_subs(api->broker, cid, WORKERS_MS, &v, &n) == 1) {
            sb_printf(&b, "[");
            for (size_t i = 0; i < n; i++) {
                if (i) sb_printf(&b, ",");
                sub_json(&b, self, &v[i]);
            }
            sb_printf(&b, "]");
        }
        st_sub_infos_free(v, n);
    } else if (cid && body && (a[0] == 'S' || a[0] == 'U')) {
        int qos = 0, nl = 0, rap = 0, rh = 0;
        char *topic = body;
        if (a[0] == 'S') {
            char *t = strchr(body, '\n');
            if (t && sscanf(body, "%d %d %d %d", &qos, &nl, &rap, &rh) == 4) topic = t + 1;
        }
        int rc =
            st_client_subscribe(api->broker, cid, topic, qos, nl, rap, rh, a[0] == 'U', WORKERS_MS);
        if (rc >= 0) sb_printf(&b, "%d", rc); /* ST_ENOENT (not here) and errors: "" */
    }
    free(a);
    *len = b.len;
    return b.p ? b.p : calloc(1, 1); /* "": not here */
}

char *st_api_subscriptions_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                                  size_t *len)
{
    if (!api->broker || (what != ST_ASK_SUBS && what != ST_ASK_CLIENT_SUBS)) return NULL;
    return what == ST_ASK_SUBS ? list_answer(api, arg, arglen, len)
                               : client_answer(api, arg, arglen, len);
}

/* ---- the API ------------------------------------------------------------------------------ */

static void list(const st_api *api, const st_http_req *req, st_http_resp *resp, int topics)
{
    query q;
    const char *bad = parse_query(req->query, &q);
    if (bad) {
        st_api_error(resp, 400, "INVALID_PARAMETER", bad);
        return;
    }
    sb qs = {0};
    sb_printf(&qs, "_list=%s&%s", topics ? "topics" : "subs", req->query);
    st_answer *ans = NULL;
    size_t n = qs.p ? st_api_ask_all(api, ST_ASK_SUBS, qs.p, q.page * q.limit, &ans) : 0;
    free(qs.p);
    sb b = {0};
    st_api_merge_pages(&b, ans, n, q.page, q.limit, 1);
    st_answers_free(ans, n);
    free(ans);
    st_api_reply(resp, 200, "application/json", &b);
}

static void escape(sb *b, const char *s)
{
    for (; *s; s++)
        sb_printf(b,
                  ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))
                      ? "%c"
                      : "%%%02X",
                  (unsigned char)*s);
}

/* GET /topics/{topic}: every node's route for that filter. */
static void topic(const st_api *api, const char *enc, st_http_resp *resp)
{
    char t[1024];
    if (st_http_unescape(enc, strlen(enc), t, sizeof t) <= 0 ||
        mqtt_topic_filter_check((const uint8_t *)t, strlen(t)) != 0) {
        st_api_error(resp, 400, "INVALID_PARAMTER", "topic_filter_invalid"); /* EMQX's spelling */
        return;
    }
    sb qs = {0};
    sb_printf(&qs, "_list=topics&topic=");
    escape(&qs, t);
    st_answer *ans = NULL;
    size_t n = qs.p ? st_api_ask_all(api, ST_ASK_SUBS, qs.p, MAX_LIMIT, &ans) : 0;
    free(qs.p);
    sb b = {0};
    sb_printf(&b, "[");
    for (size_t k = 0; k < n; k++) {
        st_api_parsed p = {0};
        int ok = st_api_parse_page(&ans[k], &p);
        for (uint32_t i = 0; ok && i < p.t[p.data].size; i++) {
            int e = st_json_at(p.t, (uint32_t)p.data, i);
            sb_printf(&b, "%s%.*s", b.len > 1 ? "," : "", (int)(p.t[e].end - p.t[e].start),
                      ans[k].body + p.t[e].start);
        }
        free(p.t);
    }
    sb_printf(&b, "]");
    st_answers_free(ans, n);
    free(ans);
    if (b.len == 2) {
        free(b.p);
        st_api_error(resp, 404, "TOPIC_NOT_FOUND", "Topic not found");
        return;
    }
    st_api_reply(resp, 200, "application/json", &b);
}

/* Ask every node about client cid (op and body): the one non-empty answer, or NULL. */
static char *ask_client(const st_api *api, char op, const char *cid, const char *body)
{
    sb arg = {0};
    sb_printf(&arg, "%c\n%s\n%s", op, cid, body);
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n = ans && arg.p ? st_cluster_ask(api->cluster, ST_ASK_CLIENT_SUBS, arg.p, arg.len, ans,
                                             MAX_ANSWERS, ASK_TIMEOUT_MS)
                            : 0;
    char *out = NULL;
    for (size_t k = 0; k < n && !out; k++)
        if (ans[k].len) out = strndup(ans[k].body, ans[k].len);
    free(arg.p);
    st_answers_free(ans, n);
    free(ans);
    return out;
}

static int num_field(const char *s, const st_jtok *t, int obj, const char *key, int def)
{
    int k = st_json_get(s, t, (uint32_t)obj, key);
    if (k < 0) return def;
    return t[k].type == ST_J_NUMBER ? (int)strtol(s + t[k].start, NULL, 10) : -1;
}

/* One subscribe request at token obj: its result object into b. 200, 400 (err set) or 404. */
static int subscribe_one(const st_api *api, const char *cid, const char *s, const st_jtok *t,
                         int obj, sb *b, const char **err)
{
    char topic[1024];
    int k = t[obj].type == ST_J_OBJECT ? st_json_get(s, t, (uint32_t)obj, "topic") : -1;
    int qos = num_field(s, t, obj, "qos", 0), nl = num_field(s, t, obj, "nl", 0),
        rap = num_field(s, t, obj, "rap", 0), rh = num_field(s, t, obj, "rh", 0);
    if (k < 0 || st_json_str(s, &t[k], topic, sizeof topic) <= 0 || qos < 0 || qos > 2 || nl < 0 ||
        nl > 1 || rap < 0 || rap > 1 || rh < 0 || rh > 2) {
        *err = "a subscription is {\"topic\", \"qos\" 0-2, \"nl\" 0-1, \"rap\" 0-1, \"rh\" 0-2}";
        return 400;
    }
    sb body = {0};
    sb_printf(&body, "%d %d %d %d\n%s", qos, nl, rap, rh, topic);
    char *r = body.p ? ask_client(api, 'S', cid, body.p) : NULL;
    free(body.p);
    int rc = r ? atoi(r) : -1;
    free(r);
    if (rc < 0) return 404;
    if (rc >= 0x80) {
        *err = rc == 0x97 ? "the client's subscriptions are at mqtt.max_subscriptions"
                          : "topic_filter_invalid (a $share filter cannot have nl = 1)";
        return 400;
    }
    sb_printf(b, "{\"topic\":");
    sb_json_str(b, topic);
    sb_printf(b, ",\"qos\":%d,\"nl\":%d,\"rap\":%d,\"rh\":%d,\"clientid\":", rc, nl, rap, rh);
    sb_json_str(b, cid);
    sb_printf(b, "}");
    return 200;
}

static void client_op(const st_api *api, const char *cid, const char *op, const st_http_req *req,
                      st_http_resp *resp)
{
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (strcmp(op, "subscriptions") == 0 && get) {
        char *r = ask_client(api, 'L', cid, "");
        sb b = {r, r ? strlen(r) : 0, r ? strlen(r) + 1 : 0};
        if (!r)
            st_api_error(resp, 404, "CLIENTID_NOT_FOUND", "Client ID not found");
        else
            st_api_reply(resp, 200, "application/json", &b);
        return;
    }
    if (get && (!strcmp(op, "mqueue_messages") || !strcmp(op, "inflight_messages"))) {
        st_api_client_msgs(api, cid, op, req, resp);
        return;
    }
    int sub = strcmp(op, "subscribe") == 0, sub_bulk = strcmp(op, "subscribe/bulk") == 0,
        unsub = strcmp(op, "unsubscribe") == 0, unsub_bulk = strcmp(op, "unsubscribe/bulk") == 0;
    if (!sub && !sub_bulk && !unsub && !unsub_bulk) {
        st_api_error(resp, get || post ? 404 : 405,
                     get || post ? "NOT_FOUND" : "METHOD_NOT_ALLOWED", "no such endpoint");
        return;
    }
    if (!post) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only POST is served here");
        return;
    }
    st_jtok *t = malloc(4 * MAX_BULK * sizeof *t);
    int r = t && req->body ? st_json_parse(req->body, req->body_len, t, 4 * MAX_BULK) : -1;
    int bulk = sub_bulk || unsub_bulk;
    if (r <= 0 || (bulk && t[0].type != ST_J_ARRAY) || (!bulk && t[0].type != ST_J_OBJECT)) {
        free(t);
        st_api_error(resp, 400, "BAD_REQUEST",
                     bulk ? "the body must be a JSON array" : "the body must be a JSON object");
        return;
    }
    size_t n = bulk ? t[0].size : 1;
    sb b = {0};
    int status = 200;
    const char *err = NULL;
    if (bulk && sub_bulk) sb_printf(&b, "[");
    for (size_t i = 0; i < n && status == 200; i++) {
        int obj = bulk ? st_json_at(t, 0, (uint32_t)i) : 0;
        if (sub_bulk && i) sb_printf(&b, ",");
        if (sub || sub_bulk) {
            status = subscribe_one(api, cid, req->body, t, obj, &b, &err);
            continue;
        }
        char topic[1024];
        int k = t[obj].type == ST_J_OBJECT ? st_json_get(req->body, t, (uint32_t)obj, "topic") : -1;
        if (k < 0 || st_json_str(req->body, &t[k], topic, sizeof topic) <= 0) {
            status = 400;
            err = "an unsubscription is {\"topic\"}";
            continue;
        }
        char *a = ask_client(api, 'U', cid, topic);
        status = a && atoi(a) != MQTT_RC_TOPIC_FILTER_INVALID ? 200 : a ? 400 : 404;
        if (status == 400) err = "topic_filter_invalid";
        free(a);
    }
    free(t);
    if (sub_bulk) sb_printf(&b, "]");
    if (status == 404) {
        free(b.p);
        st_api_error(resp, 404, "CLIENTID_NOT_FOUND", "Client ID not found");
    } else if (status == 400) {
        free(b.p);
        st_api_error(resp, 400, "INVALID_PARAMETER", err);
    } else if (unsub || unsub_bulk) {
        free(b.p);
        st_api_reply(resp, 204, "application/json", &(sb){0});
    } else {
        st_api_reply(resp, 200, "application/json", &b);
    }
}

int st_api_subscriptions(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    int subs = strcmp(p, "/api/v5/subscriptions") == 0, topics = strcmp(p, "/api/v5/topics") == 0;
    int one = strncmp(p, "/api/v5/topics/", 15) == 0 && p[15];
    const char *cid_at = strncmp(p, "/api/v5/clients/", 16) == 0 ? p + 16 : NULL;
    const char *op = cid_at ? strchr(cid_at, '/') : NULL;
    if (!subs && !topics && !one && !op) return 0;
    if (!api->broker) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no broker on this node");
    } else if (op) {
        char cid[512];
        if (st_http_unescape(cid_at, (size_t)(op - cid_at), cid, sizeof cid) <= 0)
            st_api_error(resp, 400, "INVALID_PARAMETER", "bad client id in the path");
        else
            client_op(api, cid, op + 1, req, resp);
    } else if (strcmp(req->method, "GET") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET is served here");
    } else if (one) {
        topic(api, p + 15, resp);
    } else {
        list(api, req, resp, topics);
    }
    return 1;
}
