/* configs.c — /api/v5/configs (configs.h): EMQX's config endpoints over admin/conf.h.
 *   GET  /api/v5/configs[?key=<path>]   HOCON (text/plain), or JSON with Accept: application/json
 *   PUT  /api/v5/configs?mode=merge|replace&ignore_readonly=  a HOCON body
 *   GET  /api/v5/configs/<root>         the root as JSON (also global_zone: {"mqtt": ...})
 *   PUT  /api/v5/configs/<root>         a JSON body that replaces what the API set for it
 *   POST /api/v5/configs/reload         this node's file read again (`ctl conf reload`) */
#include "admin/configs.h"
#include "admin/conf.h"
#include "admin/sb.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void failed(st_http_resp *resp, int rc, const char *err)
{
    if (rc == ST_EIO)
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", err);
    else if (rc == ST_ENOMEM)
        st_api_error(resp, 503, "OUT_OF_MEMORY", "out of memory");
    else
        st_api_error(resp, 400, "UPDATE_FAILED", err);
}

static void show(const st_api *api, const char *prefix, int json, st_http_resp *resp)
{
    sb b = {0};
    int rc = st_conf_show(api->conf, prefix, json, &b);
    if (rc == ST_ENOENT) {
        char msg[300];
        snprintf(msg, sizeof msg, "no config key under '%.200s'", prefix);
        free(b.p);
        st_api_error(resp, 404, "NOT_FOUND", msg);
    } else if (rc < 0) {
        free(b.p);
        failed(resp, rc, "");
    } else {
        st_api_reply(resp, 200, json ? "application/json" : "text/plain", &b);
    }
}

static void change(const st_api *api, const char *body, size_t len, int replace, int ignore,
                   st_http_resp *resp)
{
    sb b = {0};
    char err[2048];
    int rc = st_conf_change(api->conf, body, len, replace, ignore, &b, err, sizeof err);
    if (rc < 0) {
        free(b.p);
        failed(resp, rc, err);
        return;
    }
    st_api_reply(resp, 200, "application/json", &b);
}

/* GET / PUT /api/v5/configs */
static void whole(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    char key[256] = "", mode[16] = "merge", ro[8] = "false";
    if (strcmp(req->method, "GET") == 0) {
        if (st_http_param(req->query, "key", key, sizeof key) < 0) key[0] = 0;
        int json = strstr(req->accept, "application/json") != NULL;
        if (req->accept[0] && !json && !strstr(req->accept, "text/plain") &&
            !strstr(req->accept, "*/*")) {
            st_api_error(resp, 400, "INVALID_ACCEPT",
                         "Accept: text/plain (HOCON) or application/json");
            return;
        }
        show(api, key, json, resp);
        return;
    }
    if (strcmp(req->method, "PUT") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET and PUT are served here");
        return;
    }
    st_http_param(req->query, "mode", mode, sizeof mode);
    st_http_param(req->query, "ignore_readonly", ro, sizeof ro);
    if (strcmp(mode, "merge") != 0 && strcmp(mode, "replace") != 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "mode: merge or replace");
        return;
    }
    if (strcmp(ro, "true") != 0 && strcmp(ro, "false") != 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "ignore_readonly: true or false");
        return;
    }
    change(api, req->body ? req->body : "", req->body ? req->body_len : 0,
           strcmp(mode, "replace") == 0, strcmp(ro, "true") == 0, resp);
}

/* GET / PUT /api/v5/configs/<root> (JSON) */
static void one_root(const st_api *api, const st_http_req *req, const char *root,
                     st_http_resp *resp)
{
    int zone = strcmp(root, "global_zone") == 0;
    if (strcmp(req->method, "GET") == 0) {
        show(api, zone ? "mqtt" : root, zone ? 1 : ST_CONFIG_JSON_VALUE, resp);
        return;
    }
    if (strcmp(req->method, "PUT") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET and PUT are served here");
        return;
    }
    size_t len = req->body ? req->body_len : 0;
    if (len == 0 || req->body[0] != '{') {
        st_api_error(resp, 400, "BAD_REQUEST", "the body must be a JSON object");
        return;
    }
    sb body = {0}, ok = {0};
    if (!zone) sb_printf(&body, "\"%s\" = ", root);
    sb_printf(&body, "%.*s", (int)len, req->body);
    char err[2048];
    int rc = body.p ? st_conf_change(api->conf, body.p, body.len, !zone, 0, &ok, err, sizeof err)
                    : ST_ENOMEM;
    free(body.p);
    free(ok.p);
    if (rc < 0) {
        failed(resp, rc, err);
        return;
    }
    show(api, zone ? "mqtt" : root, zone ? 1 : ST_CONFIG_JSON_VALUE, resp);
}

int st_api_configs(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    static const char pre[] = "/api/v5/configs";
    if (strncmp(req->path, pre, sizeof pre - 1) != 0) return 0;
    const char *rest = req->path + sizeof pre - 1;
    if (rest[0] != '\0' && rest[0] != '/') return 0;
    if (!api->conf) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "config through the API is not served here");
        return 1;
    }
    if (rest[0] == '\0') {
        whole(api, req, resp);
    } else if (strcmp(rest, "/reload") == 0) {
        sb b = {0};
        char err[2048];
        int rc =
            strcmp(req->method, "POST") != 0 ? 1 : st_conf_reload(api->conf, &b, err, sizeof err);
        if (rc == 1)
            st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only POST is served here");
        else if (rc < 0)
            failed(resp, rc, err);
        else
            st_api_reply(resp, 200, "application/json", &b);
        if (rc) free(b.p);
    } else if (rest[1] && !strchr(rest + 1, '/') && strlen(rest + 1) < 64) {
        one_root(api, req, rest + 1, resp);
    } else {
        st_api_error(resp, 404, "NOT_FOUND", "no such endpoint");
    }
    return 1;
}
