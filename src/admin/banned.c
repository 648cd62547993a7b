/* banned.c — /api/v5/banned (banned.h). */
#include "admin/banned.h"
#include "admin/sb.h"
#include "auth/auth.h"
#include "auth/bans.h"
#include "cluster/cluster.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_TIMEOUT_MS 10000

static void ban_json(sb *b, const st_ban *ban)
{
    char at[40], until[40] = "infinity";
    st_api_rfc3339(ban->at_ms, at, sizeof at);
    if (ban->until_ms) st_api_rfc3339(ban->until_ms, until, sizeof until);
    sb_printf(b, "{\"as\":\"%s\",\"who\":", st_ban_as_name(ban->as));
    sb_json_str(b, ban->who);
    sb_printf(b, ",\"by\":");
    sb_json_str(b, ban->by);
    sb_printf(b, ",\"reason\":");
    sb_json_str(b, ban->reason);
    sb_printf(b, ",\"at\":\"%s\",\"until\":\"%s\"}", at, until);
}

static int write_ban(const st_api *api, uint16_t verb, const st_ban *ban, st_http_resp *resp)
{
    uint8_t key[300], val[420];
    size_t kl = st_ban_key(ban, key);
    size_t vl = verb == ST_V_KV_DEL ? 0 : st_ban_value(ban, val);
    int rc = st_cluster_kv_write(api->cluster, verb, ST_KV_BANS, key, kl,
                                 verb == ST_V_KV_DEL ? NULL : val, vl, WRITE_TIMEOUT_MS);
    static const st_api_kv_words words = {400, "ALREADY_EXISTS", "already banned", "NOT_FOUND",
                                          "Not found"};
    return st_api_kv_error(resp, rc, &words);
}

static int str_field(const char *body, const st_jtok *t, const char *name, char *out, size_t cap)
{
    int k = st_json_get(body, t, 0, name);
    return k >= 0 ? st_json_str(body, &t[k], out, cap) : 0;
}

static int64_t time_field(const char *body, const st_jtok *t, const char *name, int64_t def)
{
    int k = st_json_get(body, t, 0, name);
    char v[64];
    if (k < 0) return def;
    if (t[k].type == ST_J_NUMBER)
        snprintf(v, sizeof v, "%.*s", (int)(t[k].end - t[k].start), body + t[k].start);
    else if (st_json_str(body, &t[k], v, sizeof v) < 0)
        return -1;
    return st_api_parse_time(v);
}

static void create(const st_api *api, st_bans *bans, const st_http_req *req, st_http_resp *resp)
{
    st_jtok t[32];
    st_ban ban, old;
    char as[32] = "", why[200];
    memset(&ban, 0, sizeof ban);
    int n = req->body ? st_json_parse(req->body, req->body_len, t, 32) : -1;
    if (n <= 0 || t[0].type != ST_J_OBJECT || str_field(req->body, t, "as", as, sizeof as) < 0 ||
        str_field(req->body, t, "who", ban.who, sizeof ban.who) < 0 ||
        str_field(req->body, t, "reason", ban.reason, sizeof ban.reason) < 0 ||
        str_field(req->body, t, "by", ban.by, sizeof ban.by) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "a JSON object with as and who (strings)");
        return;
    }
    if ((ban.as = st_ban_as_of(as)) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST",
                     "as: clientid, username, peerhost, clientid_re, username_re or "
                     "peerhost_net");
        return;
    }
    if (st_ban_check(ban.as, ban.who, why, sizeof why) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", why);
        return;
    }
    if (!ban.by[0]) snprintf(ban.by, sizeof ban.by, "mgmt_api");
    int64_t now = st_wall_ms();
    ban.at_ms = time_field(req->body, t, "at", now);
    ban.until_ms = time_field(req->body, t, "until", 0);
    if (ban.at_ms < 0 || ban.until_ms < 0 || (ban.until_ms && ban.until_ms <= now)) {
        st_api_error(resp, 400, "BAD_REQUEST",
                     "at, until: RFC 3339, epoch seconds or infinity; until in the future");
        return;
    }
    if (st_bans_get(bans, ban.as, ban.who, &old)) {
        sb b = {0};
        ban_json(&b, &old);
        st_api_error(resp, 400, "ALREADY_EXISTS", b.p ? b.p : "already banned");
        free(b.p);
        return;
    }
    if (write_ban(api, ST_V_KV_ADD, &ban, resp) < 0) return;
    sb b = {0};
    ban_json(&b, &ban);
    st_api_reply(resp, 200, "application/json", &b);
}

#define LIST_MAX 10000

/* The list's filters (EMQX's): clientid=, username=, peerhost= name a ban exactly;
 * like_clientid=, like_username=, like_peerhost=, like_peerhost_net= a part of its who. */
static int wanted(const st_ban *ban, const char *query)
{
    static const struct {
        const char *name;
        int as, like;
    } f[] = {{"clientid", ST_BAN_CLIENTID, 0},
             {"username", ST_BAN_USERNAME, 0},
             {"peerhost", ST_BAN_PEERHOST, 0},
             {"like_clientid", ST_BAN_CLIENTID, 1},
             {"like_username", ST_BAN_USERNAME, 1},
             {"like_peerhost", ST_BAN_PEERHOST, 1},
             {"like_peerhost_net", ST_BAN_PEERHOST_NET, 1}};
    char v[256];
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (st_http_param(query, f[i].name, v, sizeof v) < 0) continue;
        if (ban->as != f[i].as) return 0;
        if (f[i].like ? !strstr(ban->who, v) : strcmp(ban->who, v) != 0) return 0;
    }
    return 1;
}

static void list(st_bans *bans, const st_http_req *req, st_http_resp *resp)
{
    long page = st_api_num_param(req->query, "page", 1),
         limit = st_api_num_param(req->query, "limit", 100);
    if (page < 1 || limit < 1 || limit > LIST_MAX) {
        st_api_error(resp, 400, "INVALID_PARAMETER", "page_limit_invalid");
        return;
    }
    st_ban *all = calloc(LIST_MAX, sizeof *all);
    size_t got = 0, count = 0, from = (size_t)((page - 1) * limit), shown = 0;
    if (all) st_bans_list(bans, 0, LIST_MAX, all, &got);
    sb b = {0};
    sb_printf(&b, "{\"data\":[");
    for (size_t i = 0; i < got; i++) {
        if (!wanted(&all[i], req->query)) continue;
        if (count++ < from || shown == (size_t)limit) continue;
        if (shown++) sb_printf(&b, ",");
        ban_json(&b, &all[i]);
    }
    sb_printf(&b, "],\"meta\":{\"page\":%ld,\"limit\":%ld,\"count\":%zu,\"hasnext\":%s}}", page,
              limit, count, from + shown < count ? "true" : "false");
    free(all);
    st_api_reply(resp, 200, "application/json", &b);
}

/* DELETE /banned: every ban, one row at a time. */
static void clear(const st_api *api, st_bans *bans, st_http_resp *resp)
{
    st_ban *all = calloc(10000, sizeof *all);
    size_t got = 0;
    if (all) st_bans_list(bans, 0, 10000, all, &got);
    for (size_t i = 0; i < got; i++)
        if (write_ban(api, ST_V_KV_DEL, &all[i], resp) < 0 && resp->status != 404) {
            free(all);
            return;
        }
    free(all);
    free(resp->body);
    resp->body = NULL;
    st_api_reply(resp, 204, "application/json", &(sb){0});
}

int st_api_banned(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    if (strncmp(p, "/api/v5/banned", 14) != 0 || (p[14] && p[14] != '/')) return 0;
    st_bans *bans = api->auth ? st_auth_bans(api->auth) : NULL;
    if (!bans) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no banned table on this node");
        return 1;
    }
    const char *m = req->method;
    if (!p[14] && strcmp(m, "GET") == 0) {
        list(bans, req, resp);
    } else if (!p[14] && strcmp(m, "POST") == 0) {
        create(api, bans, req, resp);
    } else if (!p[14] && strcmp(m, "DELETE") == 0) {
        clear(api, bans, resp);
    } else if (p[14] && strcmp(m, "DELETE") == 0) {
        const char *as = p + 15, *slash = strchr(as, '/');
        char asn[32], who[256];
        st_ban ban;
        memset(&ban, 0, sizeof ban);
        if (!slash || (size_t)(slash - as) >= sizeof asn ||
            st_http_unescape(slash + 1, strlen(slash + 1), who, sizeof who) <= 0) {
            st_api_error(resp, 400, "BAD_REQUEST", "DELETE /api/v5/banned/{as}/{who}");
            return 1;
        }
        snprintf(asn, sizeof asn, "%.*s", (int)(slash - as), as);
        ban.as = st_ban_as_of(asn);
        snprintf(ban.who, sizeof ban.who, "%s", who);
        if (ban.as < 0 || !st_bans_get(bans, ban.as, ban.who, &ban))
            st_api_error(resp, 404, "NOT_FOUND", "Not found");
        else if (write_ban(api, ST_V_KV_DEL, &ban, resp) == 0)
            st_api_reply(resp, 204, "application/json", &(sb){0});
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "not served on this path");
    }
    return 1;
}
