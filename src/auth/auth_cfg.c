/* auth_cfg.c — the authenticator chain from the configuration (auth.h). */
#include "auth/auth.h"
#include "config/config.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

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

static int one(st_authn_cfg *m, const st_config *c, const char *name, char *err, size_t errlen)
{
    char k[200];
    const char *mech = st_config_str(c, key(k, sizeof k, name, "mechanism"));
    if (!*mech)
        return fail(err, errlen, c, k, "%s",
                    "required: password_based (jwt, scram: not built yet)");
    if (strcmp(mech, "password_based") != 0)
        return fail(err, errlen, c, k,
                    "\"%s\" is not supported (password_based; jwt and scram are "
                    "not built yet)",
                    mech);
    const char *backend = st_config_str(c, key(k, sizeof k, name, "backend"));
    if (!*backend)
        return fail(err, errlen, c, k, "%s", "required with password_based: built_in_database");
    if (strcmp(backend, "built_in_database") != 0)
        return fail(err, errlen, c, k,
                    "\"%s\" is not supported (built_in_database; http is not "
                    "built yet)",
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
