/* auth_cfg.c — the authenticator chain from the configuration (auth.h). */
#include "auth/auth.h"
#include "config/config.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *key(char *buf, size_t cap, const char *name, const char *k)
{
    snprintf(buf, cap, "authentication.%s.%s", name, k);
    return buf;
}

static int fail(char *err, size_t errlen, const st_config *c, const char *k, const char *fmt,
                const char *v)
{
    const char *at = st_config_origin(c, k);
    snprintf(err, errlen, "%s%s%s: ", strcmp(at, "default") ? at : "",
             strcmp(at, "default") ? ": " : "", k);
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, fmt, v);
    return ST_ECONFIG;
}

static void algo(st_pw_algo *a, const st_config *c, const char *name)
{
    char k[200];
    a->alg = st_pw_alg_of(st_config_str(c, key(k, sizeof k, name, "password_hash_algorithm.name")));
    a->salt_position = st_pw_salt_of(
        st_config_str(c, key(k, sizeof k, name, "password_hash_algorithm.salt_position")));
    a->salt_rounds =
        (int)st_config_int(c, key(k, sizeof k, name, "password_hash_algorithm.salt_rounds"));
    a->mac_fun =
        st_pw_mac_of(st_config_str(c, key(k, sizeof k, name, "password_hash_algorithm.mac_fun")));
    a->iterations =
        (int)st_config_int(c, key(k, sizeof k, name, "password_hash_algorithm.iterations"));
    a->dk_length =
        (int)st_config_int(c, key(k, sizeof k, name, "password_hash_algorithm.dk_length"));
}

/* A map of up to ST_HTTP_MAX_FIELDS strings under authentication.<name>.<what>. */
static int fields(const st_config *c, const char *name, const char *what, char (*keys)[64],
                  char (*vals)[256], int *n, char *err, size_t errlen)
{
    char prefix[120], k[300];
    const char *names[ST_HTTP_MAX_FIELDS + 1];
    snprintf(prefix, sizeof prefix, "authentication.%s.%s", name, what);
    size_t got = st_config_names(c, prefix, names, ST_HTTP_MAX_FIELDS + 1);
    if (got > ST_HTTP_MAX_FIELDS) return fail(err, errlen, c, prefix, "%s", "at most 8 fields");
    for (size_t i = 0; i < got; i++) {
        snprintf(k, sizeof k, "%s.%s", prefix, names[i]);
        snprintf(keys[i], 64, "%s", names[i]);
        snprintf(vals[i], 256, "%s", st_config_str(c, k));
    }
    *n = (int)got;
    return 0;
}

/* password_based + http: the service's URL, method, headers, body and timeouts. */
static int http(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[200];
    st_authn_http *h = &m->http;
    m->mechanism = ST_MECH_PASSWORD;
    m->backend = ST_BACKEND_HTTP;
    snprintf(m->id, sizeof m->id, "password_based:http");
    m->enable = st_config_bool(c, key(k, sizeof k, name, "enable"));
    h->get = strcmp(st_config_str(c, key(k, sizeof k, name, "method")), "get") == 0;
    snprintf(h->url, sizeof h->url, "%s", st_config_str(c, key(k, sizeof k, name, "url")));
    if (strncmp(h->url, "http://", 7) != 0 && strncmp(h->url, "https://", 8) != 0)
        return fail(err, errlen, c, k, "%s", "required: an http:// or https:// URL");
    h->request_timeout_ms = st_config_int(c, key(k, sizeof k, name, "request_timeout"));
    h->connect_timeout_ms = st_config_int(c, key(k, sizeof k, name, "connect_timeout"));
    if (fields(c, name, "headers", h->header, h->header_value, &h->nheaders, err, errlen) < 0 ||
        fields(c, name, "body", h->body, h->body_value, &h->nbody, err, errlen) < 0)
        return ST_ECONFIG;
    for (int i = 0; h->get && i < h->nheaders; i++)
        if (strcasecmp(h->header[i], "content-type") == 0)
            return fail(err, errlen, c, key(k, sizeof k, name, "headers"), "%s",
                        "a GET request has no content-type");
    return 0;
}

/* mechanism = jwt: its key and claims (the key's file is read by st_auth_new). */
static int jwt(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[200], prefix[120];
    const char *claims[9];
    m->mechanism = ST_MECH_JWT;
    snprintf(m->id, sizeof m->id, "jwt");
    m->enable = st_config_bool(c, key(k, sizeof k, name, "enable"));
    if (st_config_bool(c, key(k, sizeof k, name, "use_jwks")))
        return fail(err, errlen, c, k, "%s", "JWKS is not built yet: give a secret or public_key");
    m->jwt_public =
        strcmp(st_config_str(c, key(k, sizeof k, name, "algorithm")), "public-key") == 0;
    snprintf(m->secret, sizeof m->secret, "%s", st_config_str(c, key(k, sizeof k, name, "secret")));
    if (!m->jwt_public && !m->secret[0])
        return fail(err, errlen, c, k, "%s", "required with hmac-based");
    m->secret_b64 = st_config_bool(c, key(k, sizeof k, name, "secret_base64_encoded"));
    snprintf(m->public_key, sizeof m->public_key, "%s",
             st_config_str(c, key(k, sizeof k, name, "public_key")));
    if (m->jwt_public && !m->public_key[0])
        return fail(err, errlen, c, k, "%s", "required with public-key");
    m->from_username = strcmp(st_config_str(c, key(k, sizeof k, name, "from")), "username") == 0;
    snprintf(prefix, sizeof prefix, "authentication.%s.verify_claims", name);
    size_t n = st_config_names(c, prefix, claims, 9);
    if (n > 8)
        return fail(err, errlen, c, key(k, sizeof k, name, "verify_claims"), "%s",
                    "at most 8 claims");
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%s.%s", prefix, claims[i]);
        if (!strcmp(claims[i], "exp") || !strcmp(claims[i], "iat") || !strcmp(claims[i], "nbf"))
            return fail(err, errlen, c, k, "%s", "exp, iat and nbf are checked on their own");
        snprintf(m->claim[i], sizeof m->claim[i], "%s", claims[i]);
        snprintf(m->claim_value[i], sizeof m->claim_value[i], "%s", st_config_str(c, k));
    }
    m->nclaims = (int)n;
    return 0;
}

static int one(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[200];
    const char *mech = st_config_str(c, key(k, sizeof k, name, "mechanism"));
    if (!*mech)
        return fail(err, errlen, c, k, "%s",
                    "required: password_based or jwt (scram: not built yet)");
    if (strcmp(mech, "jwt") == 0) return jwt(m, c, name, err, errlen);
    if (strcmp(mech, "password_based") != 0)
        return fail(err, errlen, c, k,
                    "\"%s\" is not supported (password_based, jwt; scram is "
                    "not built yet)",
                    mech);
    const char *backend = st_config_str(c, key(k, sizeof k, name, "backend"));
    if (!*backend)
        return fail(err, errlen, c, k, "%s",
                    "required with password_based: built_in_database or http");
    if (strcmp(backend, "http") == 0) return http(m, c, name, err, errlen);
    if (strcmp(backend, "built_in_database") != 0)
        return fail(err, errlen, c, k,
                    "\"%s\" is not supported (built_in_database, http; mysql, "
                    "postgresql, mongodb, redis and ldap are not built)",
                    backend);
    m->mechanism = ST_MECH_PASSWORD;
    m->backend = ST_BACKEND_BUILTIN;
    snprintf(m->id, sizeof m->id, "%s:%s", mech, backend);
    m->enable = st_config_bool(c, key(k, sizeof k, name, "enable"));
    m->by_clientid =
        strcmp(st_config_str(c, key(k, sizeof k, name, "user_id_type")), "clientid") == 0;
    algo(&m->algo, c, name);
    snprintf(m->bootstrap_file, sizeof m->bootstrap_file, "%s",
             st_config_str(c, key(k, sizeof k, name, "bootstrap_file")));
    m->bootstrap_hash =
        strcmp(st_config_str(c, key(k, sizeof k, name, "bootstrap_type")), "hash") == 0;
    return 0;
}

int st_auth_cfg_load(st_auth_cfg *a, const st_config *c, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->allow_anonymous = strcmp(st_config_origin(c, "allow_anonymous"), "default") == 0
                             ? -1
                             : st_config_bool(c, "allow_anonymous");
    snprintf(a->pepper, sizeof a->pepper, "%s",
             st_config_str(c, "authentication.password_hash_salt"));
    snprintf(a->bans_file, sizeof a->bans_file, "%s", st_config_str(c, "banned.bootstrap_file"));
    a->flapping = st_config_bool(c, "flapping_detect.enable");
    a->flap_window_ms = st_config_int(c, "flapping_detect.window_time");
    a->flap_max = (int)st_config_int(c, "flapping_detect.max_count");
    a->flap_ban_ms = st_config_int(c, "flapping_detect.ban_time");
    if (st_authz_cfg_load(&a->authz, c, err, errlen) < 0) return ST_ECONFIG;
    const char *names[ST_AUTH_MAX + 1];
    size_t n = st_config_names(c, "authentication", names, ST_AUTH_MAX + 1);
    if (n > ST_AUTH_MAX) {
        snprintf(err, errlen, "authentication: at most %d authenticators", ST_AUTH_MAX);
        return ST_ECONFIG;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = one(&a->chain[i], c, names[i], err, errlen);
        if (rc < 0) return rc;
        char k[200];
        const char *own = st_config_str(c, key(k, sizeof k, names[i], "password_hash_salt"));
        snprintf(a->chain[i].pepper, sizeof a->chain[i].pepper, "%s", *own ? own : a->pepper);
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->chain[j].id, a->chain[i].id) == 0) {
                return fail(err, errlen, c, key(k, sizeof k, names[i], "mechanism"),
                            "a second authenticator %s (each may appear once)", a->chain[i].id);
            }
        a->n++;
    }
    return 0;
}
