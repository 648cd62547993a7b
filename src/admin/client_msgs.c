/* client_msgs.c — a client's queue and inflight window through the API (client_msgs.h). */
#include "admin/client_msgs.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/clients.h"
#include "core/base64.h"
#include "core/json.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 5000
#define WORKERS_MS 2000
#define MAX_LIMIT 10000

enum { PAYLOAD_BASE64, PAYLOAD_PLAIN, PAYLOAD_NONE };

static void msg_json(sb *b, const st_client_msg *m, int mode, long max, int inflight)
{
    sb_printf(b, "{\"msgid\":\"%016llx%016llx\",\"topic\":",
              (unsigned long long)(m->msg ? m->msg->origin : 0),
              (unsigned long long)(m->msg ? m->msg->oid : 0));
    sb_json_str(b, m->msg ? m->msg->topic : "");
    sb_printf(b,
              ",\"qos\":%d,\"publish_at\":null,\"inserted_at\":null,\"from_clientid\":null,"
              "\"from_username\":null",
              m->qos);
    if (inflight) sb_printf(b, ",\"packet_id\":%u", m->pid);
    size_t n = m->msg ? m->msg->payload_len : 0;
    if (mode == PAYLOAD_NONE) {
        sb_printf(b, "}");
        return;
    }
    if ((long)n > max) n = (size_t)max; /* max_payload_bytes: cut */
    if (mode == PAYLOAD_PLAIN) {
        char *s = strndup(m->msg ? (const char *)m->msg->payload : "", n);
        sb_printf(b, ",\"payload\":");
        sb_json_str(b, s ? s : "");
        free(s);
    } else {
        size_t cap = n / 3 * 4 + 8;
        char *enc = malloc(cap);
        long k = enc && m->msg ? st_b64_encode(m->msg->payload, n, enc, cap) : 0;
        sb_printf(b, ",\"payload\":\"%.*s\"", k < 0 ? 0 : (int)k, enc ? enc : "");
        free(enc);
    }
    sb_printf(b, "}");
}

char *st_api_client_msgs_answer(const st_api *api, const char *arg, size_t arglen, size_t *len)
{
    char *a = strndup(arg, arglen), *cid = a ? strchr(a, '\n') : NULL;
    char *params = cid ? strchr(cid + 1, '\n') : NULL;
    sb b = {0};
    long from = 0, limit = 0, max = 0;
    int mode = 0;
    if (cid) *cid++ = 0;
    if (params) *params++ = 0;
    if (params && sscanf(params, "%ld %ld %d %ld", &from, &limit, &mode, &max) == 4 &&
        api->broker) {
        int inflight = a[0] == 'I';
        st_client_msg *v = NULL;
        size_t n = 0, total = 0;
        if (st_client_msgs(api->broker, cid, inflight, (size_t)from, (size_t)limit, WORKERS_MS, &v,
                           &n, &total) == 1) {
            sb_printf(&b, "{\"total\":%zu,\"data\":[", total);
            for (size_t i = 0; i < n; i++) {
                if (i) sb_printf(&b, ",");
                msg_json(&b, &v[i], mode, max, inflight);
            }
            sb_printf(&b, "]}");
        }
        st_client_msgs_free(v, n);
    }
    free(a);
    *len = b.len;
    return b.p ? b.p : calloc(1, 1); /* "": not here */
}

void st_api_client_msgs(const st_api *api, const char *cid, const char *op, const st_http_req *req,
                        st_http_resp *resp)
{
    char pos[32] = "none", pl[16] = "base64";
    long limit = st_api_num_param(req->query, "limit", 100),
         max = st_api_num_param(req->query, "max_payload_bytes", 1 << 20), from = 0;
    st_http_param(req->query, "position", pos, sizeof pos);
    st_http_param(req->query, "payload", pl, sizeof pl);
    int mode = !strcmp(pl, "base64")  ? PAYLOAD_BASE64
               : !strcmp(pl, "plain") ? PAYLOAD_PLAIN
               : !strcmp(pl, "none")  ? PAYLOAD_NONE
                                      : -1;
    char *end = NULL;
    if (strcmp(pos, "none") != 0) from = strtol(pos, &end, 10);
    if (limit < 1 || limit > MAX_LIMIT || max < 0 || mode < 0 || from < 0 || (end && *end)) {
        st_api_error(resp, 400, "INVALID_PARAMETER",
                     "limit 1 to 10000, position none or a number from a previous meta, payload "
                     "base64, plain or none, max_payload_bytes >= 0");
        return;
    }
    sb arg = {0};
    sb_printf(&arg, "%c\n%s\n%ld %ld %d %ld", strcmp(op, "inflight_messages") ? 'Q' : 'I', cid,
              from, limit, mode, max);
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n = ans && arg.p ? st_cluster_ask(api->cluster, ST_ASK_CLIENT_MSGS, arg.p, arg.len, ans,
                                             MAX_ANSWERS, ASK_TIMEOUT_MS)
                            : 0;
    free(arg.p);
    const st_answer *mine = NULL;
    for (size_t k = 0; k < n && !mine; k++)
        if (ans[k].len) mine = &ans[k];
    st_jtok *t = mine ? malloc((mine->len / 2 + 8) * sizeof *t) : NULL;
    int r = t ? st_json_parse(mine->body, mine->len, t, (uint32_t)(mine->len / 2 + 8)) : -1;
    int tot = r > 0 ? st_json_get(mine->body, t, 0, "total") : -1,
        data = r > 0 ? st_json_get(mine->body, t, 0, "data") : -1;
    if (tot < 0 || data < 0) {
        st_api_error(resp, 404, "CLIENTID_NOT_FOUND", "Client ID not found");
    } else {
        long total = strtol(mine->body + t[tot].start, NULL, 10), got = (long)t[data].size;
        sb b = {0};
        sb_printf(&b, "{\"data\":%.*s,\"meta\":{\"start\":\"%ld\",\"position\":",
                  (int)(t[data].end - t[data].start), mine->body + t[data].start, from);
        if (from + got < total)
            sb_printf(&b, "\"%ld\"}}", from + got);
        else
            sb_printf(&b, "\"none\"}}");
        st_api_reply(resp, 200, "application/json", &b);
    }
    free(t);
    st_answers_free(ans, n);
    free(ans);
}
