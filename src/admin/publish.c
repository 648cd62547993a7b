/* publish.c — messages published through the API (publish.h). */
#include "admin/publish.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/inject.h"
#include "core/base64.h"
#include "core/clock.h"
#include "core/json.h"
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 4096
#define WORKER_MS 5000
#define MAX_STR 65535

/* One message of a request, parsed; its strings are malloc'd. */
typedef struct pub {
    char *topic, *payload, *ctype, *rtopic, *corr;
    uint8_t *user; /* MQTT user property entries */
    size_t plen, ulen;
    int qos, retain, pfi; /* pfi -1: none */
    int64_t expiry;       /* -1: none */
    int code;             /* 0 ok, else EMQX's reason code for the error */
    const char *error;
} pub;

static void pub_free(pub *p)
{
    free(p->topic);
    free(p->payload);
    free(p->ctype);
    free(p->rtopic);
    free(p->corr);
    free(p->user);
}

static char *str_of(const char *s, const st_jtok *t, int k)
{
    if (k < 0 || t[k].type != ST_J_STRING) return NULL;
    size_t cap = t[k].end - t[k].start + 1;
    char *out = malloc(cap);
    if (out && st_json_str(s, &t[k], out, cap) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int bad(pub *p, int code, const char *why)
{
    if (!p->code) {
        p->code = code;
        p->error = why;
    }
    return -1;
}

/* user_properties: {"k": "v", ...} as MQTT's 0x26 entries. */
static int user_props(pub *p, const char *s, const st_jtok *t, int obj)
{
    uint32_t k = (uint32_t)obj + 1;
    st_buf b = {0};
    for (uint32_t m = 0; m < t[obj].size; m++) {
        uint32_t v = k + 1;
        char *key = str_of(s, t, (int)k), *val = str_of(s, t, (int)v);
        if (!key || !val || strlen(key) > MAX_STR || strlen(val) > MAX_STR) {
            free(key);
            free(val);
            st_buf_free(&b);
            return bad(p, 131, "bad user_properties: an object of strings");
        }
        uint8_t id = MQTT_PROP_USER;
        st_buf_put(&b, &id, 1);
        st_buf_str(&b, key);
        st_buf_str(&b, val);
        free(key);
        free(val);
        k = t[v].next;
    }
    p->user = b.p;
    p->ulen = b.len;
    return b.oom ? bad(p, 131, "out of memory") : 0;
}

static int props_of(pub *p, const char *s, const st_jtok *t, int obj)
{
    int k = st_json_get(s, t, (uint32_t)obj, "payload_format_indicator");
    p->pfi = k < 0 ? -1 : (int)strtol(s + t[k].start, NULL, 10);
    if (k >= 0 && (t[k].type != ST_J_NUMBER || p->pfi < 0 || p->pfi > 1))
        return bad(p, 131, "payload_format_indicator must be 0 or 1");
    k = st_json_get(s, t, (uint32_t)obj, "message_expiry_interval");
    p->expiry = k < 0 ? -1 : strtoll(s + t[k].start, NULL, 10);
    if (k >= 0 && (t[k].type != ST_J_NUMBER || p->expiry < 0 || p->expiry > UINT32_MAX))
        return bad(p, 131, "message_expiry_interval must be 0 to 4294967295 seconds");
    int c = st_json_get(s, t, (uint32_t)obj, "content_type"),
        r = st_json_get(s, t, (uint32_t)obj, "response_topic"),
        d = st_json_get(s, t, (uint32_t)obj, "correlation_data");
    if ((c >= 0 && !(p->ctype = str_of(s, t, c))) || (r >= 0 && !(p->rtopic = str_of(s, t, r))) ||
        (d >= 0 && !(p->corr = str_of(s, t, d))))
        return bad(p, 131, "content_type, response_topic and correlation_data are strings");
    if (p->rtopic && mqtt_topic_name_check((const uint8_t *)p->rtopic, strlen(p->rtopic)) != 0)
        return bad(p, 131, "response_topic is not a topic name");
    int u = st_json_get(s, t, (uint32_t)obj, "user_properties");
    if (u >= 0 && t[u].type != ST_J_OBJECT)
        return bad(p, 131, "bad user_properties: an object of strings");
    return u >= 0 ? user_props(p, s, t, u) : 0;
}

/* The message at token obj of the request. 0, or -1 with p->code and p->error set. */
static int parse_pub(const st_api *api, const char *s, const st_jtok *t, int obj, pub *p)
{
    memset(p, 0, sizeof *p);
    p->pfi = -1;
    p->expiry = -1;
    if (t[obj].type != ST_J_OBJECT) return bad(p, 131, "a message is a JSON object");
    p->topic = str_of(s, t, st_json_get(s, t, (uint32_t)obj, "topic"));
    if (!p->topic || !p->topic[0] ||
        mqtt_topic_name_check((const uint8_t *)p->topic, strlen(p->topic)) != 0)
        return bad(p, 144, "topic_name_invalid");
    p->payload = str_of(s, t, st_json_get(s, t, (uint32_t)obj, "payload"));
    if (!p->payload) return bad(p, 131, "payload (a string) is required");
    p->plen = strlen(p->payload);
    char enc[16] = "plain";
    int k = st_json_get(s, t, (uint32_t)obj, "payload_encoding");
    if (k >= 0 && st_json_str(s, &t[k], enc, sizeof enc) < 0) enc[0] = 0;
    if (strcmp(enc, "base64") == 0) {
        char *raw = malloc(p->plen + 1);
        long n = raw ? st_b64_decode(p->payload, p->plen, (uint8_t *)raw, p->plen + 1) : -1;
        free(p->payload);
        p->payload = raw;
        if (n < 0) return bad(p, 131, "the payload is not base64");
        p->plen = (size_t)n;
    } else if (strcmp(enc, "plain") != 0) {
        return bad(p, 131, "payload_encoding must be plain or base64");
    }
    k = st_json_get(s, t, (uint32_t)obj, "qos");
    p->qos = k < 0 ? 0 : (int)strtol(s + t[k].start, NULL, 10);
    if (k >= 0 && (t[k].type != ST_J_NUMBER || p->qos < 0 || p->qos > 2))
        return bad(p, 131, "qos must be 0, 1 or 2");
    k = st_json_get(s, t, (uint32_t)obj, "retain");
    if (k >= 0 && t[k].type != ST_J_TRUE && t[k].type != ST_J_FALSE)
        return bad(p, 131, "retain must be true or false");
    p->retain = k >= 0 && t[k].type == ST_J_TRUE;
    k = st_json_get(s, t, (uint32_t)obj, "properties");
    if (k >= 0 && (t[k].type != ST_J_OBJECT || props_of(p, s, t, k) < 0))
        return bad(p, 131, "properties must be an object");
    if (p->plen + strlen(p->topic) + p->ulen > api->broker->cfg.max_packet_size)
        return bad(p, 151, "packet_too_large");
    return 0;
}

static st_bytes bytes_of(const char *s)
{
    return s ? (st_bytes){(const uint8_t *)s, (uint32_t)strlen(s)} : (st_bytes){NULL, 0};
}

/* Publish p: its result object into b. 200, or 202 when nobody received it, or 503. */
static int publish_one(const st_api *api, const pub *p, sb *b)
{
    mqtt_props pr;
    memset(&pr, 0, sizeof pr);
    if (p->pfi >= 0)
        pr.present |= MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT), pr.payload_format = (uint8_t)p->pfi;
    if (p->expiry >= 0)
        pr.present |= MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY), pr.message_expiry = (uint32_t)p->expiry;
    if (p->ctype)
        pr.present |= MQTT_HAS(MQTT_PROP_CONTENT_TYPE), pr.content_type = bytes_of(p->ctype);
    if (p->rtopic)
        pr.present |= MQTT_HAS(MQTT_PROP_RESPONSE_TOPIC), pr.response_topic = bytes_of(p->rtopic);
    if (p->corr)
        pr.present |= MQTT_HAS(MQTT_PROP_CORRELATION_DATA), pr.correlation_data = bytes_of(p->corr);
    if (p->ulen) pr.user = (st_bytes){p->user, (uint32_t)p->ulen};
    const st_settings *cfg = &api->broker->cfg;
    int64_t dexp = cfg->message_expiry_ms == ST_UNLIMITED ? 0 : cfg->message_expiry_ms;
    st_msg *m =
        st_msg_new(p->topic, (uint32_t)strlen(p->topic), (const uint8_t *)p->payload,
                   (uint32_t)p->plen, &pr, (uint8_t)p->qos, (uint8_t)p->retain, st_now_ms(), dexp);
    st_inject_result r;
    int rc = m ? st_inject(api->broker, m, WORKER_MS, &r) : -1;
    if (m) st_msg_unref(m);
    if (rc < 0) {
        sb_printf(b, "{\"reason_code\":131,\"message\":\"failed_to_dispatch\"}");
        return 503;
    }
    if (!r.targets) {
        sb_printf(b, "{\"reason_code\":16,\"message\":\"no_matching_subscribers\"}");
        return 202;
    }
    sb_printf(b, "{\"id\":\"%016llx%016llx\"}", (unsigned long long)r.origin,
              (unsigned long long)r.oid);
    return 200;
}

static void error(st_http_resp *resp, const pub *p)
{
    sb b = {0};
    sb_printf(&b, "{\"reason_code\":%d,\"message\":", p->code);
    sb_json_str(&b, p->error);
    sb_printf(&b, "}");
    st_api_reply(resp, 400, "application/json", &b);
}

static void handle(const st_api *api, const st_http_req *req, st_http_resp *resp, int bulk)
{
    st_jtok *t = malloc(MAX_TOKENS * sizeof *t);
    int r = t && req->body ? st_json_parse(req->body, req->body_len, t, MAX_TOKENS) : -1;
    size_t n = r <= 0 ? 0 : !bulk ? 1 : t[0].type == ST_J_ARRAY ? t[0].size : 0;
    pub *v = n ? calloc(n, sizeof *v) : NULL;
    int bad_at = n && v ? -1 : 0;
    pub none = {.code = 131,
                .error = bulk ? "the body must be a non-empty JSON array of messages"
                              : "the body must be a JSON object"};
    for (size_t i = 0; v && i < n && bad_at < 0; i++)
        if (parse_pub(api, req->body, t, bulk ? st_json_at(t, 0, (uint32_t)i) : 0, &v[i]) < 0)
            bad_at = (int)i;
    if (bad_at >= 0) {
        error(resp, v ? &v[bad_at] : &none);
    } else {
        sb b = {0};
        int status = 200, worst = 200;
        if (bulk) sb_printf(&b, "[");
        for (size_t i = 0; i < n; i++) {
            if (bulk && i) sb_printf(&b, ",");
            status = publish_one(api, &v[i], &b);
            worst = status == 503 || worst == 503 ? 503 : status == 202 ? 202 : worst;
        }
        if (bulk) sb_printf(&b, "]");
        st_api_reply(resp, bulk ? worst : status, "application/json", &b);
    }
    for (size_t i = 0; v && i < n; i++)
        pub_free(&v[i]);
    free(v);
    free(t);
}

int st_api_publish(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    int one = strcmp(req->path, "/api/v5/publish") == 0,
        bulk = strcmp(req->path, "/api/v5/publish/bulk") == 0;
    if (!one && !bulk) return 0;
    if (strcmp(req->method, "POST") != 0)
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only POST is served here");
    else if (!api->broker)
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no broker on this node");
    else
        handle(api, req, resp, bulk);
    return 1;
}
