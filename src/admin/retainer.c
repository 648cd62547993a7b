/* retainer.c — the retained messages through the API (retainer.h). */
#include "admin/retainer.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/inject.h"
#include "core/base64.h"
#include "core/clock.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 10000
#define WORKER_MS 5000
#define LIST "/api/v5/mqtt/retainer/messages"
#define ONE "/api/v5/mqtt/retainer/message/"

typedef struct all {
    st_msg **v;
    size_t n, cap;
    int oom;
} all;

/* Every retained message (not the tombstones of deleted ones), one reference each. */
static void collect(st_msg *m, void *ctx)
{
    all *a = ctx;
    if (!m->payload_len || a->oom) {
        st_msg_unref(m);
        return;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        st_msg **v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->oom = 1;
            st_msg_unref(m);
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = m;
}

static int by_topic(const void *x, const void *y)
{
    return strcmp((*(st_msg *const *)x)->topic, (*(st_msg *const *)y)->topic);
}

static void all_free(all *a)
{
    for (size_t i = 0; i < a->n; i++)
        st_msg_unref(a->v[i]);
    free(a->v);
}

/* One message as EMQX shows it (payload base64 when asked). */
static void msg_json(sb *b, const st_msg *m, int payload)
{
    sb_printf(b, "{\"topic\":");
    sb_json_str(b, m->topic);
    sb_printf(b, ",\"msgid\":\"%016llx%016llx\",\"qos\":%u", (unsigned long long)m->origin,
              (unsigned long long)m->oid, m->qos);
    sb_printf(b, ",\"from_clientid\":null,\"from_username\":null,\"publish_at\":");
    char at[40];
    if (m->rv >> 16) {
        st_api_rfc3339((int64_t)(m->rv >> 16), at, sizeof at); /* its version: HLC, ms << 16 */
        sb_printf(b, "\"%s\"", at);
    } else {
        sb_printf(b, "null");
    }
    if (payload) {
        size_t cap = (size_t)m->payload_len / 3 * 4 + 8;
        char *enc = malloc(cap);
        long n = enc ? st_b64_encode(m->payload, m->payload_len, enc, cap) : -1;
        sb_printf(b, ",\"payload\":\"%.*s\"", n < 0 ? 0 : (int)n, enc ? enc : "");
        free(enc);
    }
    sb_printf(b, "}");
}

static void list(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    long page = st_api_num_param(req->query, "page", 1),
         limit = st_api_num_param(req->query, "limit", 100);
    if (page < 1 || limit < 1 || limit > MAX_LIMIT) {
        st_api_error(resp, 400, "INVALID_PARAMETER",
                     "page_limit_invalid: page must be at least 1, limit 1 to 10000");
        return;
    }
    char filter[512];
    int filtered = st_http_param(req->query, "topic", filter, sizeof filter) >= 0;
    if (filtered && mqtt_topic_filter_check((const uint8_t *)filter, strlen(filter)) != 0) {
        st_api_error(resp, 400, "INVALID_PARAMETER", "topic: not a topic filter");
        return;
    }
    all a = {0};
    if (filtered)
        st_retain_match(api->broker->retain, filter, strlen(filter), st_now_ms(), collect, &a);
    else
        st_retain_dump(api->broker->retain, collect, &a);
    if (a.n > 1) qsort(a.v, a.n, sizeof *a.v, by_topic);
    size_t from = (size_t)((page - 1) * limit), shown = 0;
    int64_t now = st_now_ms();
    sb b = {0};
    sb_printf(&b, "{\"data\":[");
    size_t live = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (st_msg_expired(a.v[i], now)) continue;
        if (live++ < from || shown == (size_t)limit) continue;
        if (shown++) sb_printf(&b, ",");
        msg_json(&b, a.v[i], 0);
    }
    sb_printf(&b, "],\"meta\":{\"page\":%ld,\"limit\":%ld,\"count\":%zu,\"hasnext\":%s}}", page,
              limit, live, from + shown < live ? "true" : "false");
    all_free(&a);
    st_api_reply(resp, 200, "application/json", &b);
}

/* The retained message of topic (a new reference), or NULL. */
static st_msg *find(const st_api *api, const char *topic)
{
    all a = {0};
    st_msg *m = NULL;
    st_retain_match(api->broker->retain, topic, strlen(topic), st_now_ms(), collect, &a);
    for (size_t i = 0; i < a.n && !m; i++)
        if (strcmp(a.v[i]->topic, topic) == 0) m = st_msg_ref(a.v[i]);
    all_free(&a);
    return m;
}

static void one(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    char topic[512];
    const char *p = req->path + strlen(ONE);
    if (st_http_unescape(p, strlen(p), topic, sizeof topic) <= 0 ||
        mqtt_topic_name_check((const uint8_t *)topic, strlen(topic)) != 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "not a topic name");
        return;
    }
    st_msg *m = find(api, topic);
    if (!m) {
        st_api_error(resp, 404, "NOT_FOUND", "Viewed message doesn't exist");
        return;
    }
    sb b = {0};
    if (strcmp(req->method, "GET") == 0) {
        msg_json(&b, m, 1);
        st_msg_unref(m);
        st_api_reply(resp, 200, "application/json", &b);
        return;
    }
    st_msg_unref(m);
    st_msg *del = st_msg_new(topic, (uint32_t)strlen(topic), (const uint8_t *)"", 0, NULL, 0, 1,
                             st_now_ms(), 0);
    st_inject_result r;
    int rc = del ? st_inject(api->broker, del, WORKER_MS, &r) : -1;
    if (del) st_msg_unref(del);
    if (rc < 0)
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "the node's workers did not answer");
    else
        st_api_reply(resp, 204, "application/json", &b);
}

int st_api_retainer(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    int l = strcmp(req->path, LIST) == 0, o = strncmp(req->path, ONE, strlen(ONE)) == 0;
    if (!l && !o) return 0;
    int get = strcmp(req->method, "GET") == 0, del = strcmp(req->method, "DELETE") == 0;
    if (!api->broker)
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no broker on this node");
    else if (l && get)
        list(api, req, resp);
    else if (o && (get || del))
        one(api, req, resp);
    else
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED",
                     l ? "only GET is served here" : "only GET and DELETE are served here");
    return 1;
}
