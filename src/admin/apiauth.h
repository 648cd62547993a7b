/* apiauth.h — who may use the HTTP API (docs/security.md §6), EMQX's way:
 * - API keys: `Authorization: Basic base64(api_key:api_secret)`, from api_key.bootstrap_file
 *   (EMQX's `key:secret[:role]` lines);
 * - dashboard users: `POST /api/v5/login` with a username and password gives a bearer token
 *   (an HS256 JWT with `exp` in ms, as EMQX's) that every node accepts: it is signed with a
 *   key derived from node.cookie. The default user (dashboard.default_username / _password)
 *   is created once, and the node warns while its password is the default;
 * - `starling ctl`: a secret the node writes to node.data_dir/ctl.secret (mode 0600) at
 *   start, accepted only from a loopback address.
 * Keys and users are rows of the cluster's replicated table: every node checks against the
 * same. Failed attempts from one address are answered 429 for a while after ten in a minute.
 * The API's thread checks; the cluster thread updates the mirror (a mutex). */
#ifndef ST_ADMIN_APIAUTH_H
#define ST_ADMIN_APIAUTH_H

#include "admin/http.h"
#include "core/log.h"

#include <stddef.h>
#include <stdint.h>

typedef struct st_apiauth_cfg {
    char bootstrap_file[512]; /* api_key.bootstrap_file ("": none) */
    char default_user[64];
    char default_password[128];
    int64_t token_ttl_ms;
    char cookie[256];   /* signs the tokens */
    char data_dir[512]; /* ctl.secret goes there */
} st_apiauth_cfg;

typedef struct st_apiauth st_apiauth;
struct st_cluster;

/* Reads the bootstrap file and writes ctl's secret: NULL with the file, line and why. */
st_apiauth *st_apiauth_new(const st_apiauth_cfg *cfg, const st_log *log, char *err, size_t errlen);
/* Mirror the cluster's keys and users, and seed them (before st_cluster_start). */
int st_apiauth_attach(st_apiauth *a, struct st_cluster *c);
void st_apiauth_free(st_apiauth *a);

/* May this request go on? 0 yes; -1 no, resp holds the 401 (or 429). peer: the client's
 * address (text), loopback: it is this machine. */
int st_apiauth_check(st_apiauth *a, const st_http_req *req, const char *peer, int loopback,
                     st_http_resp *resp);
/* POST /api/v5/login and /api/v5/logout. */
void st_apiauth_login(st_apiauth *a, const st_http_req *req, const char *peer, const char *version,
                      st_http_resp *resp);
void st_apiauth_logout(st_apiauth *a, const st_http_req *req, st_http_resp *resp);

/* /api/v5/users[/{name}[/change_pwd]] (EMQX's; bearer tokens only, and `starling ctl`'s
 * secret, which may set a password without the old one: `ctl admins passwd`): 1 if the path
 * was one of these (resp filled), else 0. After st_apiauth_check let the request through. */
int st_apiauth_users(st_apiauth *a, const st_http_req *req, st_http_resp *resp);

/* /api/v5/api_key[/{name}] (EMQX's; bearer tokens only): 1 if the path was one of these. */
int st_apiauth_keys(st_apiauth *a, const st_http_req *req, st_http_resp *resp);

/* What `starling ctl` sends: its Authorization header's value from data_dir's secret, or
 * -1 (it cannot read the file: why in err). */
int st_apiauth_ctl_header(const char *data_dir, char *out, size_t cap, char *err, size_t errlen);

#endif
