/* authz.c — /api/v5/authorization (authz.h). */
#include "admin/authz.h"
#include "admin/sb.h"
#include "auth/auth.h"
#include "cluster/cluster.h"
#include "core/file.h"
#include "core/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RULES_TEXT (4u << 20)
#define MAX_NODES 257
#define ASK_MS 3000

/* The file's text, NUL-terminated; NULL with the reason in err. */
static char *read_text(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_RULES_TEXT + 1);
    size_t n = buf ? fread(buf, 1, MAX_RULES_TEXT, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    else
        snprintf(err, errlen, "out of memory");
    return buf;
}

static void source_json(sb *b, const st_authz_cfg *cfg)
{
    char err[600];
    char *text = read_text(cfg->file, err, sizeof err);
    sb_printf(b, "{\"type\":\"file\",\"enable\":true,\"path\":");
    sb_json_str(b, cfg->file);
    sb_printf(b, ",\"rules\":");
    sb_json_str(b, text ? text : "");
    sb_printf(b, "}");
    free(text);
}

/* PUT sources/file: {"rules": "..."}: checked, then written next to the file and renamed
 * over it, then read as a reload. */
static void put_rules(st_authz *z, const st_http_req *req, st_http_resp *resp)
{
    st_jtok t[64];
    char err[600];
    const char *path = st_authz_config(z)->file;
    int n = req->body ? st_json_parse(req->body, req->body_len, t, 64) : -1;
    int r = n > 0 && t[0].type == ST_J_OBJECT ? st_json_get(req->body, t, 0, "rules") : -1;
    if (r < 0 || t[r].type != ST_J_STRING) {
        st_api_error(resp, 400, "BAD_REQUEST", "expected {\"type\":\"file\",\"rules\":\"...\"}");
        return;
    }
    size_t cap = t[r].end - t[r].start + 1;
    char *text = malloc(cap);
    int len = text ? st_json_str(req->body, &t[r], text, cap) : -1;
    st_acl *a = len >= 0 ? st_acl_parse(text, (size_t)len, "rules", err, sizeof err) : NULL;
    if (!a) {
        st_api_error(resp, 400, "BAD_REQUEST", len >= 0 ? err : "the rules are not a string");
        free(text);
        return;
    }
    st_acl_free(a);
    int ok = st_file_replace(path, text, (size_t)len, 0666) == 0;
    free(text);
    if (!ok) {
        snprintf(err, sizeof err, "%s: cannot write it: %s", path, strerror(errno));
        st_api_error(resp, 500, "INTERNAL_ERROR", err);
    } else if (st_authz_reload(z, err, sizeof err) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", err);
    } else {
        st_api_reply(resp, 204, "application/json", &(sb){0});
    }
}

char *st_api_authz_answer(const st_api *api, uint8_t what, size_t *len)
{
    st_authz *z = api->auth ? st_auth_authz(api->auth) : NULL;
    char err[600];
    sb b = {0};
    if (!z) {
        sb_printf(&b, "{\"error\":\"no authorization on this node\"}");
    } else if (what == ST_ASK_AUTHZ_CACHE) {
        st_authz_clear_cache(z);
        sb_printf(&b, "{}");
    } else if (st_authz_reload(z, err, sizeof err) < 0) {
        sb_printf(&b, "{\"error\":");
        sb_json_str(&b, err);
        sb_printf(&b, "}");
    } else {
        sb_printf(&b, "{\"rules\":%zu}", st_authz_rules(z));
    }
    *len = b.len;
    return b.p;
}

/* A cache clean or a reload on every node: 204 (cache) or 200 with each node's rule count;
 * 400 naming the nodes that failed, with why. */
static void everywhere(const st_api *api, uint8_t what, st_http_resp *resp)
{
    st_answer *ans = calloc(MAX_NODES, sizeof *ans);
    size_t n = ans ? st_cluster_ask(api->cluster, what, "", 0, ans, MAX_NODES, ASK_MS) : 0;
    sb ok = {0}, bad = {0};
    size_t good = 0;
    sb_printf(&ok, "{\"nodes\":[");
    for (size_t k = 0; k < n; k++) {
        st_jtok t[8];
        int r = st_json_parse(ans[k].body, ans[k].len, t, 8);
        int e = r > 0 && t[0].type == ST_J_OBJECT ? st_json_get(ans[k].body, t, 0, "error") : -1;
        if (e >= 0) {
            sb_printf(&bad, "%s%s: %.*s", bad.len ? "; " : "", ans[k].node,
                      (int)(t[e].end - t[e].start), ans[k].body + t[e].start);
            continue;
        }
        sb_printf(&ok, "%s{\"node\":", good++ ? "," : "");
        sb_json_str(&ok, ans[k].node);
        sb_printf(&ok, ",\"result\":%.*s}", (int)ans[k].len, ans[k].body);
    }
    sb_printf(&ok, "]}");
    if (!n)
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no node answered");
    else if (bad.len)
        st_api_error(resp, 400, "BAD_REQUEST", bad.p);
    else if (what == ST_ASK_AUTHZ_CACHE)
        st_api_reply(resp, 204, "application/json", &(sb){0});
    else
        st_api_reply(resp, 200, "application/json", &ok); /* the reply owns ok.p */
    if (ans) st_answers_free(ans, n);
    free(ans);
    if (resp->body != ok.p) free(ok.p);
    free(bad.p);
}

/* The http source as EMQX shows it (no secrets in it: headers are shown by name only). */
static void http_json(sb *b, const st_authn_http *h)
{
    sb_printf(b, "{\"type\":\"http\",\"enable\":true,\"method\":\"%s\",\"url\":",
              h->get ? "get" : "post");
    sb_json_str(b, h->url);
    sb_printf(b, ",\"request_timeout\":\"%lldms\",\"headers\":[", (long long)h->request_timeout_ms);
    for (int i = 0; i < h->nheaders; i++) {
        if (i) sb_printf(b, ",");
        sb_json_str(b, h->header[i]);
    }
    sb_printf(b, "]}");
}

int st_api_authz(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path, *m = req->method;
    if (strncmp(p, "/api/v5/authorization/", 22) != 0) return 0;
    st_authz *z = api->auth ? st_auth_authz(api->auth) : NULL;
    if (!z) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no authorization on this node");
        return 1;
    }
    const st_authz_cfg *cfg = st_authz_config(z);
    p += 22;
    if (!strcmp(p, "cache") && !strcmp(m, "DELETE")) {
        everywhere(api, ST_ASK_AUTHZ_CACHE, resp);
    } else if (!strcmp(p, "sources") && !strcmp(m, "GET")) {
        sb b = {0};
        sb_printf(&b, "{\"sources\":[");
        for (int i = 0; i < cfg->norder; i++) {
            if (i) sb_printf(&b, ",");
            if (cfg->order[i] == ST_AUTHZ_SRC_DB)
                sb_printf(&b, "{\"type\":\"built_in_database\",\"enable\":true,\"max_rules\":%d}",
                          cfg->max_rules);
            else if (cfg->order[i] == ST_AUTHZ_SRC_HTTP)
                http_json(&b, &cfg->http_cfg);
            else
                source_json(&b, cfg);
        }
        sb_printf(&b, "]}");
        st_api_reply(resp, 200, "application/json", &b);
    } else if (!strncmp(p, "sources/built_in_database/rules", 31)) {
        st_api_authz_rules(api, z, p + 31, req, resp);
    } else if (strncmp(p, "sources/file", 12) != 0 || (p[12] && strcmp(p + 12, "/reload"))) {
        st_api_error(resp, 404, "NOT_FOUND", "Not found");
    } else if (!cfg->file[0]) {
        st_api_error(resp, 404, "NOT_FOUND", "no file source is configured");
    } else if (!p[12] && !strcmp(m, "GET")) {
        sb b = {0};
        source_json(&b, cfg);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (!p[12] && !strcmp(m, "PUT")) {
        put_rules(z, req, resp);
    } else if (p[12] && !strcmp(m, "POST")) {
        everywhere(api, ST_ASK_AUTHZ_RELOAD, resp);
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "not served on this path");
    }
    return 1;
}
