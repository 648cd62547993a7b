/* authz_rules.c — EMQX's /api/v5/authorization/sources/built_in_database/rules (authz.h):
 *   GET /rules/users?page&limit&like_username, POST /rules/users [{username, rules}],
 *   GET/PUT/DELETE /rules/users/{username}; the same for clients (clientid);
 *   GET/POST/DELETE /rules/all {rules}; DELETE /rules (every row).
 * Writes go through the cluster's replicated table (namespace ST_KV_ACL). */
#include "admin/authz.h"
#include "admin/sb.h"
#include "auth/auth.h"
#include "cluster/cluster.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_TIMEOUT_MS 10000
#define MAX_TOKENS 8192
#define LIST_MAX 10000

typedef struct kind {
    int letter;
    const char *field; /* the JSON field naming the row: "username", "clientid" */
} kind;

static const kind USERS = {ST_AUTHZ_USER, "username"}, CLIENTS = {ST_AUTHZ_CLIENT, "clientid"},
                  ALL = {ST_AUTHZ_ALL, NULL};

static int write_row(const st_api *api, uint16_t verb, const kind *k, const char *name,
                     const char *json, st_http_resp *resp)
{
    uint8_t key[ST_AUTHZ_NAME_MAX + 1];
    size_t kl = st_authz_db_key(k->letter, name, strlen(name), key);
    int rc = st_cluster_kv_write(api->cluster, verb, ST_KV_ACL, key, kl, json,
                                 json ? strlen(json) : 0, WRITE_TIMEOUT_MS);
    static const st_api_kv_words words = {409, "ALREADY_EXISTS", "the rules exist already",
                                          "NOT_FOUND", "Not found"};
    return st_api_kv_error(resp, rc, &words);
}

static void no_content(st_http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
    st_api_reply(resp, 204, "application/json", &(sb){0});
}

/* The "rules" of the object at o checked and made whole (every field): malloc'd, or NULL
 * with a 400 answered. */
static char *rules_of(const st_api *api, const char *s, const st_jtok *t, int o, st_http_resp *resp)
{
    int r = o >= 0 && t[o].type == ST_J_OBJECT ? st_json_get(s, t, (uint32_t)o, "rules") : -1;
    char err[300], *normal = NULL;
    if (r < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "\"rules\" is required: a list of rules");
        return NULL;
    }
    int max = st_authz_config(st_auth_authz(api->auth))->max_rules;
    st_acl *a =
        st_acl_from_json(s + t[r].start, t[r].end - t[r].start, max, &normal, err, sizeof err);
    if (!a) {
        st_api_error(resp, 400, "BAD_REQUEST", err);
        return NULL;
    }
    st_acl_free(a);
    return normal;
}

/* The name field of the object at o, into name; -1 with a 400 answered. */
static int name_of(const kind *k, const char *s, const st_jtok *t, int o, char *name,
                   st_http_resp *resp)
{
    int f = st_json_get(s, t, (uint32_t)o, k->field);
    if (f < 0 || st_json_str(s, &t[f], name, ST_AUTHZ_NAME_MAX + 1) <= 0) {
        char m[80];
        snprintf(m, sizeof m, "\"%s\" is required: a string of 1 to %d bytes", k->field,
                 ST_AUTHZ_NAME_MAX);
        st_api_error(resp, 400, "BAD_REQUEST", m);
        return -1;
    }
    return 0;
}

static st_jtok *parse_body(const st_http_req *req, int type, st_http_resp *resp)
{
    st_jtok *t = malloc(sizeof *t * MAX_TOKENS);
    int n = t && req->body ? st_json_parse(req->body, req->body_len, t, MAX_TOKENS) : -1;
    if (n <= 0 || t[0].type != type) {
        st_api_error(resp, 400, "BAD_REQUEST",
                     type == ST_J_ARRAY ? "expected a JSON array" : "expected a JSON object");
        free(t);
        return NULL;
    }
    return t;
}

/* POST /rules/users (or clients): every row new (ADD), the first taken one answers 409. */
static void create(const st_api *api, const kind *k, const st_http_req *req, st_http_resp *resp)
{
    st_jtok *t = parse_body(req, ST_J_ARRAY, resp);
    for (uint32_t i = 0; t && i < t[0].size; i++) {
        int o = st_json_at(t, 0, i);
        char name[ST_AUTHZ_NAME_MAX + 1], *json;
        if (t[o].type != ST_J_OBJECT) {
            st_api_error(resp, 400, "BAD_REQUEST", "each element is {name, rules}");
            break;
        }
        if (name_of(k, req->body, t, o, name, resp) < 0) break;
        if (!(json = rules_of(api, req->body, t, o, resp))) break;
        int rc = write_row(api, ST_V_KV_ADD, k, name, json, resp);
        free(json);
        if (rc < 0) break;
        if (i + 1 == t[0].size) no_content(resp);
    }
    if (t && t[0].size == 0) no_content(resp);
    free(t);
}

/* PUT /rules/users/{name}, POST /rules/all: the row replaced (PUT). */
static void replace(const st_api *api, const kind *k, const char *name, const st_http_req *req,
                    st_http_resp *resp)
{
    st_jtok *t = parse_body(req, ST_J_OBJECT, resp);
    char *json = t ? rules_of(api, req->body, t, 0, resp) : NULL;
    if (json && write_row(api, ST_V_KV_PUT, k, name, json, resp) == 0) no_content(resp);
    free(json);
    free(t);
}

static void one_json(sb *b, const kind *k, const char *name, const char *rules)
{
    sb_printf(b, "{\"%s\":", k->field);
    sb_json_str(b, name);
    sb_printf(b, ",\"rules\":%s}", rules ? rules : "[]");
}

static void list(st_authz_db *d, const kind *k, const st_http_req *req, st_http_resp *resp)
{
    long page = st_api_num_param(req->query, "page", 1);
    long limit = st_api_num_param(req->query, "limit", 100);
    char like[ST_AUTHZ_NAME_MAX + 1] = "", param[40];
    snprintf(param, sizeof param, "like_%s", k->field);
    if (st_http_param(req->query, param, like, sizeof like) < 0) like[0] = 0;
    if (page < 1 || limit < 1 || limit > LIST_MAX) {
        st_api_error(resp, 400, "BAD_REQUEST", "page and limit: positive numbers");
        return;
    }
    char(*names)[ST_AUTHZ_NAME_MAX + 1] = calloc((size_t)limit, sizeof *names);
    size_t total = 0, got = names
                                ? st_authz_db_list(d, k->letter, like, (size_t)((page - 1) * limit),
                                                   (size_t)limit, names, &total)
                                : 0;
    sb b = {0};
    sb_printf(&b, "{\"data\":[");
    for (size_t i = 0; i < got; i++) {
        char *rules = st_authz_db_json(d, k->letter, names[i], strlen(names[i]));
        sb_printf(&b, "%s", i ? "," : "");
        one_json(&b, k, names[i], rules);
        free(rules);
    }
    sb_printf(&b, "],\"meta\":{\"page\":%ld,\"limit\":%ld,\"count\":%zu,\"hasnext\":%s}}", page,
              limit, total, (size_t)(page - 1) * (size_t)limit + got < total ? "true" : "false");
    free(names);
    st_api_reply(resp, 200, "application/json", &b);
}

/* DELETE /rules: every row, one at a time. */
static void clear(const st_api *api, st_authz_db *d, st_http_resp *resp)
{
    static const kind *kinds[] = {&USERS, &CLIENTS};
    char(*names)[ST_AUTHZ_NAME_MAX + 1] = calloc(LIST_MAX, sizeof *names);
    for (int i = 0; names && i < 2; i++) {
        size_t total, got = st_authz_db_list(d, kinds[i]->letter, "", 0, LIST_MAX, names, &total);
        for (size_t j = 0; j < got; j++)
            if (write_row(api, ST_V_KV_DEL, kinds[i], names[j], NULL, resp) < 0 &&
                resp->status != 404) {
                free(names);
                return;
            }
    }
    free(names);
    if (write_row(api, ST_V_KV_DEL, &ALL, "", NULL, resp) < 0 && resp->status != 404) return;
    no_content(resp);
}

/* /rules/users[/{name}] and /rules/clients[/{name}] */
static void named(const st_api *api, st_authz_db *d, const kind *k, const char *rest,
                  const st_http_req *req, st_http_resp *resp)
{
    const char *m = req->method;
    char name[ST_AUTHZ_NAME_MAX + 1];
    if (!*rest) {
        if (!strcmp(m, "GET"))
            list(d, k, req, resp);
        else if (!strcmp(m, "POST"))
            create(api, k, req, resp);
        else
            st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "not served on this path");
        return;
    }
    if (*rest != '/' || st_http_unescape(rest + 1, strlen(rest + 1), name, sizeof name) <= 0) {
        st_api_error(resp, 404, "NOT_FOUND", "Not found");
        return;
    }
    if (!strcmp(m, "GET")) {
        char *rules = st_authz_db_json(d, k->letter, name, strlen(name));
        if (!rules) {
            st_api_error(resp, 404, "NOT_FOUND", "Not found");
            return;
        }
        sb b = {0};
        one_json(&b, k, name, rules);
        free(rules);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (!strcmp(m, "PUT")) {
        replace(api, k, name, req, resp);
    } else if (!strcmp(m, "DELETE")) {
        if (write_row(api, ST_V_KV_DEL, k, name, NULL, resp) == 0) no_content(resp);
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "not served on this path");
    }
}

void st_api_authz_rules(const st_api *api, st_authz *z, const char *p, const st_http_req *req,
                        st_http_resp *resp)
{
    st_authz_db *d = st_authz_database(z);
    const char *m = req->method;
    if (!d) {
        st_api_error(resp, 404, "NOT_FOUND", "no built_in_database source is configured");
    } else if (!strncmp(p, "/users", 6)) {
        named(api, d, &USERS, p + 6, req, resp);
    } else if (!strncmp(p, "/clients", 8)) {
        named(api, d, &CLIENTS, p + 8, req, resp);
    } else if (!strcmp(p, "/all") && !strcmp(m, "GET")) {
        char *rules = st_authz_db_json(d, ST_AUTHZ_ALL, "", 0);
        sb b = {0};
        sb_printf(&b, "{\"rules\":%s}", rules ? rules : "[]");
        free(rules);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (!strcmp(p, "/all") && !strcmp(m, "POST")) {
        replace(api, &ALL, "", req, resp);
    } else if (!strcmp(p, "/all") && !strcmp(m, "DELETE")) {
        if (write_row(api, ST_V_KV_DEL, &ALL, "", NULL, resp) == 0 || resp->status == 404)
            no_content(resp);
    } else if (!*p && !strcmp(m, "DELETE")) {
        clear(api, d, resp);
    } else {
        st_api_error(resp, 404, "NOT_FOUND", "Not found");
    }
}
