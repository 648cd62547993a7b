/* users.c — /api/v5/authentication/{id}/users and a listener's own chain's,
 * /api/v5/listeners/{listener_id}/authentication/{id}/users (users.h). */
#include "admin/users.h"
#include "admin/sb.h"
#include "auth/auth.h"
#include "auth/bootstrap.h"
#include "auth/users.h"
#include "cluster/cluster.h"
#include "core/err.h"
#include "core/json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/api/v5/authentication/"
#define LPREFIX "/api/v5/listeners/" /* {listener_id}/authentication/{id}/users */
#define WRITE_TIMEOUT_MS 10000
#define PAGE_MAX 10000

/* What a request's body says (each field only if present). */
typedef struct user_body {
    char user_id[ST_USER_ID_MAX];
    char password[512];
    int has_id, has_password, has_superuser, superuser;
} user_body;

static int parse_body(const st_http_req *req, user_body *u, st_http_resp *resp)
{
    st_jtok t[32];
    memset(u, 0, sizeof *u);
    int n = req->body ? st_json_parse(req->body, req->body_len, t, 32) : -1;
    if (n < 0 || t[0].type != ST_J_OBJECT) {
        st_api_error(resp, 400, "BAD_REQUEST", "the body must be a JSON object");
        return -1;
    }
    int k = st_json_get(req->body, t, 0, "user_id");
    if (k >= 0 && st_json_str(req->body, &t[k], u->user_id, sizeof u->user_id) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "user_id: a string of at most 255 bytes");
        return -1;
    }
    u->has_id = k >= 0;
    k = st_json_get(req->body, t, 0, "password");
    if (k >= 0 && st_json_str(req->body, &t[k], u->password, sizeof u->password) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "password: a string of at most 511 bytes");
        return -1;
    }
    u->has_password = k >= 0;
    k = st_json_get(req->body, t, 0, "is_superuser");
    if (k >= 0 && t[k].type != ST_J_TRUE && t[k].type != ST_J_FALSE) {
        st_api_error(resp, 400, "BAD_REQUEST", "is_superuser: true or false");
        return -1;
    }
    u->has_superuser = k >= 0;
    u->superuser = k >= 0 && t[k].type == ST_J_TRUE;
    return 0;
}

static void user_json(st_http_resp *resp, int status, const char *id, int superuser)
{
    sb b = {0};
    sb_printf(&b, "{\"user_id\":");
    sb_json_str(&b, id);
    sb_printf(&b, ",\"is_superuser\":%s}", superuser ? "true" : "false");
    st_api_reply(resp, status, "application/json", &b);
}

static const st_api_kv_words WORDS = {409, "ALREADY_EXISTS", "User already exists", "NOT_FOUND",
                                      "User not found"};

static int write_user(const st_api *api, uint16_t verb, const st_authn_cfg *m, const char *id,
                      const st_user *u, st_http_resp *resp)
{
    uint8_t key[ST_USER_KEY_MAX], val[ST_USER_VAL_MAX];
    size_t kl = st_user_key(m->key, id, strlen(id), key);
    size_t vl = u ? st_user_value(u, val) : 0;
    int rc = st_cluster_kv_write(api->cluster, verb, ST_KV_USERS, key, kl, u ? val : NULL, vl,
                                 WRITE_TIMEOUT_MS);
    OPENSSL_cleanse(val, sizeof val);
    return st_api_kv_error(resp, rc, &WORDS);
}

static void create(const st_api *api, const st_authn_cfg *m, st_userdb *db, const st_http_req *req,
                   st_http_resp *resp)
{
    user_body b;
    st_user u, old;
    if (parse_body(req, &b, resp) < 0) return;
    if (!b.has_id || !b.user_id[0] || !b.has_password) {
        st_api_error(resp, 400, "BAD_REQUEST", "user_id and password are required");
    } else if (st_userdb_get(db, b.user_id, strlen(b.user_id), &old)) {
        st_api_error(resp, 409, "ALREADY_EXISTS", "User already exists");
    } else if (st_auth_user_of(m, m->pepper, b.password, strlen(b.password), b.superuser, &u) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "password: cannot hash it");
    } else if (write_user(api, ST_V_KV_ADD, m, b.user_id, &u, resp) == 0) {
        user_json(resp, 201, b.user_id, b.superuser);
    }
    OPENSSL_cleanse(&b, sizeof b);
    OPENSSL_cleanse(&u, sizeof u);
    OPENSSL_cleanse(&old, sizeof old);
}

static void update(const st_api *api, const st_authn_cfg *m, st_userdb *db, const char *id,
                   const st_http_req *req, st_http_resp *resp)
{
    user_body b;
    st_user u;
    if (parse_body(req, &b, resp) < 0) return;
    if (!b.has_password && !b.has_superuser) {
        st_api_error(resp, 400, "BAD_REQUEST", "give password, is_superuser or both");
    } else if (!st_userdb_get(db, id, strlen(id), &u)) {
        st_api_error(resp, 404, "NOT_FOUND", "User not found");
    } else {
        int su = b.has_superuser ? b.superuser : u.superuser;
        int ok = !b.has_password ||
                 st_auth_user_of(m, m->pepper, b.password, strlen(b.password), su, &u) == 0;
        u.superuser = su;
        if (!ok)
            st_api_error(resp, 400, "BAD_REQUEST", "password: cannot hash it");
        else if (write_user(api, ST_V_KV_PUT, m, id, &u, resp) == 0)
            user_json(resp, 200, id, su);
    }
    OPENSSL_cleanse(&b, sizeof b);
    OPENSSL_cleanse(&u, sizeof u);
}

/* GET .../users?page&limit&like_user_id&is_superuser: EMQX's paged shape. */
typedef struct lister {
    const char *like;
    int su_filter; /* -1 any, 0, 1 */
    size_t from, limit, count;
    sb *b;
} lister;

static void list_one(void *ctx, const char *id, size_t len, const st_user *u)
{
    lister *l = ctx;
    char name[ST_USER_ID_MAX];
    snprintf(name, sizeof name, "%.*s", (int)len, id);
    if (l->like[0] && !strstr(name, l->like)) return;
    if (l->su_filter >= 0 && (u->superuser != 0) != l->su_filter) return;
    size_t i = l->count++;
    if (i < l->from || i >= l->from + l->limit) return;
    sb_printf(l->b, "%s{\"user_id\":", i > l->from ? "," : "");
    sb_json_str(l->b, name);
    sb_printf(l->b, ",\"is_superuser\":%s}", u->superuser ? "true" : "false");
}

static void list(st_userdb *db, const st_http_req *req, st_http_resp *resp)
{
    long page = st_api_num_param(req->query, "page", 1),
         limit = st_api_num_param(req->query, "limit", 100);
    char like[ST_USER_ID_MAX] = "", su[8] = "";
    if (page < 1 || limit < 1 || limit > PAGE_MAX) {
        st_api_error(resp, 400, "INVALID_PARAMETER", "page_limit_invalid");
        return;
    }
    st_http_param(req->query, "like_user_id", like, sizeof like);
    st_http_param(req->query, "is_superuser", su, sizeof su);
    sb b = {0};
    lister l = {
        like, !su[0] ? -1 : strcmp(su, "true") == 0, (size_t)((page - 1) * limit), (size_t)limit, 0,
        &b};
    sb_printf(&b, "{\"data\":[");
    st_userdb_each(db, list_one, &l);
    sb_printf(&b, "],\"meta\":{\"page\":%ld,\"limit\":%ld,\"count\":%zu,\"hasnext\":%s}}", page,
              limit, l.count, l.from + l.limit < l.count ? "true" : "false");
    st_api_reply(resp, 200, "application/json", &b);
}

int st_api_users(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    char lid[100] = "", key[240]; /* longer than any authenticator's: not found */
    if (strncmp(p, LPREFIX, strlen(LPREFIX)) == 0) { /* a listener's own chain */
        p += strlen(LPREFIX);
        const char *end = strchr(p, '/');
        if (!end || strncmp(end, "/authentication/", 16) != 0) return 0;
        if (st_http_unescape(p, (size_t)(end - p), lid, sizeof lid) <= 0) {
            st_api_error(resp, 400, "BAD_REQUEST", "bad listener id in the path");
            return 1;
        }
        p = end + 16;
    } else if (strncmp(p, PREFIX, strlen(PREFIX)) == 0) {
        p += strlen(PREFIX);
    } else {
        return 0;
    }
    const char *slash = strchr(p, '/');
    if (!slash || strncmp(slash, "/users", 6) != 0 || (slash[6] && slash[6] != '/')) return 0;
    char id[128], user[ST_USER_ID_MAX] = "";
    if (st_http_unescape(p, (size_t)(slash - p), id, sizeof id) < 0 ||
        (slash[6] && st_http_unescape(slash + 7, strlen(slash + 7), user, sizeof user) <= 0)) {
        st_api_error(resp, 400, "BAD_REQUEST", "bad authenticator or user id in the path");
        return 1;
    }
    snprintf(key, sizeof key, "%s%s%s", lid, *lid ? "/" : "", id);
    int i = api->auth ? st_auth_find(api->auth, key) : -1;
    st_userdb *db = i >= 0 ? st_auth_userdb(api->auth, i) : NULL;
    if (!db) {
        char msg[300];
        snprintf(msg, sizeof msg, "Authenticator '%s' does not exist", key);
        st_api_error(resp, 404, "NOT_FOUND", msg);
        return 1;
    }
    const st_authn_cfg *m = &st_auth_config(api->auth)->chain[i];
    const char *method = req->method;
    st_user u;
    if (!user[0] && strcmp(method, "GET") == 0)
        list(db, req, resp);
    else if (!user[0] && strcmp(method, "POST") == 0)
        create(api, m, db, req, resp);
    else if (!user[0])
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "GET and POST are served here");
    else if (strcmp(method, "GET") == 0 && st_userdb_get(db, user, strlen(user), &u))
        user_json(resp, 200, user, u.superuser);
    else if (strcmp(method, "GET") == 0)
        st_api_error(resp, 404, "NOT_FOUND", "User not found");
    else if (strcmp(method, "PUT") == 0)
        update(api, m, db, user, req, resp);
    else if (strcmp(method, "DELETE") == 0 && !st_userdb_get(db, user, strlen(user), &u))
        st_api_error(resp, 404, "NOT_FOUND", "User not found");
    else if (strcmp(method, "DELETE") == 0 &&
             write_user(api, ST_V_KV_DEL, m, user, NULL, resp) == 0)
        st_api_reply(resp, 204, "application/json", &(sb){0});
    else if (strcmp(method, "DELETE") != 0)
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "GET, PUT and DELETE are served here");
    OPENSSL_cleanse(&u, sizeof u);
    return 1;
}
