/* auth_cfg.c — the authenticator chain from the configuration (auth.h). */
#include "auth/auth.h"
#include "config/config.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *key(char *buf, size_t cap, const char *name, const char *k)
{
    snprintf(buf, cap, "%s.%s", name, k); /* name: "authentication.0", or a listener's */
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
    char k[320];
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

/* A map of up to ST_HTTP_MAX_FIELDS strings under <prefix>.<what>. */
static int fields(const st_config *c, const char *pre, const char *what, char (*keys)[64],
                  char (*vals)[256], int *n, char *err, size_t errlen)
{
    char prefix[300], k[400];
    const char *names[ST_HTTP_MAX_FIELDS + 1];
    snprintf(prefix, sizeof prefix, "%s.%s", pre, what);
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

int st_http_cfg_load(st_authn_http *h, const st_config *c, const char *pre, char *err,
                     size_t errlen)
{
    char k[320];
#define K(name) (snprintf(k, sizeof k, "%s.%s", pre, name), k)
    h->get = strcmp(st_config_str(c, K("method")), "get") == 0;
    snprintf(h->url, sizeof h->url, "%s", st_config_str(c, K("url")));
    if (strncmp(h->url, "http://", 7) != 0 && strncmp(h->url, "https://", 8) != 0)
        return fail(err, errlen, c, k, "%s", "required: an http:// or https:// URL");
    h->request_timeout_ms = st_config_int(c, K("request_timeout"));
    h->connect_timeout_ms = st_config_int(c, K("connect_timeout"));
    if (fields(c, pre, "headers", h->header, h->header_value, &h->nheaders, err, errlen) < 0 ||
        fields(c, pre, "body", h->body, h->body_value, &h->nbody, err, errlen) < 0)
        return ST_ECONFIG;
    for (int i = 0; h->get && i < h->nheaders; i++)
        if (strcasecmp(h->header[i], "content-type") == 0)
            return fail(err, errlen, c, K("headers"), "%s", "a GET request has no content-type");
#undef K
    return 0;
}

/* password_based + http: the service's URL, method, headers, body and timeouts. */
static int http(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[320];
    m->mechanism = ST_MECH_PASSWORD;
    m->backend = ST_BACKEND_HTTP;
    snprintf(m->id, sizeof m->id, "password_based:http");
    m->enable = st_config_bool(c, key(k, sizeof k, name, "enable"));
    return st_http_cfg_load(&m->http, c, name, err, errlen);
}

/* mechanism = jwt: its key and claims (the key's file is read by st_auth_new). */
static int jwt(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[320], prefix[300];
    const char *claims[9];
    m->mechanism = ST_MECH_JWT;
    snprintf(m->id, sizeof m->id, "jwt");
    m->enable = st_config_bool(c, key(k, sizeof k, name, "enable"));
    if (st_config_bool(c, key(k, sizeof k, name, "use_jwks")))
        return fail(err, errlen, c, k, "%s", "JWKS is not built yet: give a secret or public_key");
    const char *alg = st_config_str(c, key(k, sizeof k, name, "algorithm"));
    if (strcmp(alg, "hmac-based") != 0 && strcmp(alg, "public-key") != 0)
        return fail(err, errlen, c, k, "\"%s\": jwt's algorithm is hmac-based or public-key", alg);
    m->jwt_public = strcmp(alg, "public-key") == 0;
    snprintf(m->secret, sizeof m->secret, "%s", st_config_str(c, key(k, sizeof k, name, "secret")));
    if (!m->jwt_public && !m->secret[0])
        return fail(err, errlen, c, k, "%s", "required with hmac-based");
    m->secret_b64 = st_config_bool(c, key(k, sizeof k, name, "secret_base64_encoded"));
    snprintf(m->public_key, sizeof m->public_key, "%s",
             st_config_str(c, key(k, sizeof k, name, "public_key")));
    if (m->jwt_public && !m->public_key[0])
        return fail(err, errlen, c, k, "%s", "required with public-key");
    m->from_username = strcmp(st_config_str(c, key(k, sizeof k, name, "from")), "username") == 0;
    snprintf(prefix, sizeof prefix, "%s.verify_claims", name);
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

/* mechanism = scram, backend = built_in_database: users kept as SCRAM's keys. */
static int scram(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[320];
    const char *backend = st_config_str(c, key(k, sizeof k, name, "backend"));
    if (*backend && strcmp(backend, "built_in_database") != 0)
        return fail(err, errlen, c, k, "\"%s\": scram keeps its users in built_in_database",
                    backend);
    const char *alg = st_config_str(c, key(k, sizeof k, name, "algorithm"));
    if (strcmp(alg, "sha256") != 0 && strcmp(alg, "sha512") != 0 && strcmp(alg, "hmac-based") != 0)
        return fail(err, errlen, c, k, "\"%s\": scram's algorithm is sha256 or sha512", alg);
    m->mechanism = ST_MECH_SCRAM;
    m->backend = ST_BACKEND_BUILTIN;
    snprintf(m->id, sizeof m->id, "scram:built_in_database");
    m->enable = st_config_bool(c, key(k, sizeof k, name, "enable"));
    m->algo = (st_pw_algo){.alg = ST_PW_SCRAM,
                           .mac_fun = strcmp(alg, "sha512") == 0 ? ST_MAC_SHA512 : ST_MAC_SHA256,
                           .iterations =
                               (int)st_config_int(c, key(k, sizeof k, name, "iteration_count"))};
    snprintf(m->bootstrap_file, sizeof m->bootstrap_file, "%s",
             st_config_str(c, key(k, sizeof k, name, "bootstrap_file")));
    if (strcmp(st_config_str(c, key(k, sizeof k, name, "bootstrap_type")), "hash") == 0)
        return fail(err, errlen, c, k, "%s", "scram: plain only (its keys are made here)");
    return 0;
}

static int one(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[320];
    const char *mech = st_config_str(c, key(k, sizeof k, name, "mechanism"));
    if (!*mech) return fail(err, errlen, c, k, "%s", "required: password_based, jwt or scram");
    if (strcmp(mech, "jwt") == 0) return jwt(m, c, name, err, errlen);
    if (strcmp(mech, "scram") == 0) return scram(m, c, name, err, errlen);
    if (strcmp(mech, "password_based") != 0)
        return fail(err, errlen, c, k, "\"%s\" is not supported (password_based, jwt, scram)",
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

/* The authenticators under base (a list), for listener lid ("": the global chain). */
static int chain(st_auth_cfg *a, const st_config *c, const char *base, const char *lid, char *err,
                 size_t errlen)
{
    const char *names[ST_AUTH_MAX + 1];
    size_t n = st_config_names(c, base, names, ST_AUTH_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        char pre[240], k[320];
        snprintf(pre, sizeof pre, "%s.%s", base, names[i]);
        if (a->n >= ST_AUTH_MAX)
            return fail(err, errlen, c, pre, "at most %s authenticators in all", ST_AUTH_MAX_S);
        st_authn_cfg *m = &a->chain[a->n];
        int rc = one(m, c, pre, err, errlen);
        if (rc < 0) return rc;
        const char *own = st_config_str(c, key(k, sizeof k, pre, "password_hash_salt"));
        char pepper[sizeof m->pepper];
        snprintf(pepper, sizeof pepper, "%s", *own ? own : a->pepper);
        memcpy(m->pepper, pepper, sizeof pepper);
        snprintf(m->listener, sizeof m->listener, "%s", lid);
        char rowkey[sizeof m->key];
        snprintf(rowkey, sizeof rowkey, "%s%s%s", lid, *lid ? "/" : "", m->id);
        memcpy(m->key, rowkey, sizeof rowkey);
        for (int j = 0; j < a->n; j++)
            if (strcmp(a->chain[j].key, m->key) == 0)
                return fail(err, errlen, c, key(k, sizeof k, pre, "mechanism"),
                            "a second authenticator %s (each may appear once)", m->id);
        a->n++;
    }
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
    if (chain(a, c, "authentication", "", err, errlen) < 0) return ST_ECONFIG;
    static const char *const types[] = {"tcp", "ssl", "ws", "wss"};
    for (int t = 0; t < 4; t++) { /* listeners.<type>.<name>.authentication: its own chain */
        char base[200], lid[100];
        const char *names[65];
        snprintf(base, sizeof base, "listeners.%s", types[t]);
        size_t n = st_config_names(c, base, names, 65);
        for (size_t i = 0; i < n && i < 64; i++) {
            snprintf(base, sizeof base, "listeners.%s.%s.authentication", types[t], names[i]);
            snprintf(lid, sizeof lid, "%s:%s", types[t], names[i]);
            if (chain(a, c, base, lid, err, errlen) < 0) return ST_ECONFIG;
        }
    }
    return 0;
}
