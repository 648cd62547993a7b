/* authz.h — authorization (docs/security.md §9): EMQX 5's `authorization { sources,
 * no_match, deny_action, cache }`, and the decision for one client's PUBLISH or SUBSCRIBE.
 * Built: the file source (acl.h). Each client keeps its compiled share of the rules and a
 * small cache of decisions; a reload makes every client recompile at its next check. */
#ifndef ST_AUTHZ_H
#define ST_AUTHZ_H

#include "auth/acl.h"
#include "auth/authz_db.h"

#include <stddef.h>
#include <stdint.h>

struct st_config;

typedef struct st_authz_cfg {
    char file[512];      /* the enabled file source's path, or "" */
    int db;              /* an enabled built_in_database source */
    int db_first;        /* it comes before the file source */
    int max_rules;       /* its max_rules: per client, per user, for all */
    int no_match_deny;   /* no_match = deny */
    int deny_disconnect; /* deny_action = disconnect */
    int cache;           /* cache.enable */
    int cache_max;
    int64_t cache_ttl_ms;
} st_authz_cfg;

/* From a loaded configuration; ST_ECONFIG with "key: why" in err. */
int st_authz_cfg_load(st_authz_cfg *z, const struct st_config *c, char *err, size_t errlen);

typedef struct st_authz st_authz;

/* Reads the file source: NULL with "file:line: why" in err. */
st_authz *st_authz_new(const st_authz_cfg *cfg, char *err, size_t errlen);
void st_authz_free(st_authz *z);
const st_authz_cfg *st_authz_config(const st_authz *z);
/* Read the file again; on an error the rules in force stay, and err says why (-1). */
int st_authz_reload(st_authz *z, char *err, size_t errlen);
/* Forget every client's cached decisions. */
void st_authz_clear_cache(st_authz *z);
/* Rules in force (the file source's). */
size_t st_authz_rules(st_authz *z);
/* The built_in_database source's rows (NULL without one). */
st_authz_db *st_authz_database(st_authz *z);
/* The replicated table's rows of namespace ST_KV_ACL as they change (ns 0: all gone): a
 * mirror of the cluster (cluster.h), on its thread. */
void st_authz_on_rows(st_authz *z, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen);

/* Rules an authenticator gave a client (a JWT's acl claim, an HTTP service's "acl"): tried
 * before the sources; from expire_ms on (wall clock, ms; 0: never) they deny everything. */
typedef struct st_authz_own {
    st_acl *acl;
    int legacy; /* {"pub", "sub", "all"}: what they do not allow is denied */
    int64_t expire_ms;
} st_authz_own;

/* One client's state: who it is, its rules, its cache. Used on its worker only. own (may be
 * NULL): the authenticator's rules, taken (also on failure). */
typedef struct st_authz_client st_authz_client;
st_authz_client *st_authz_client_new(st_authz *z, const st_acl_who *who, int superuser,
                                     st_authz_own *own);
void st_authz_client_free(st_authz_client *cl);

/* 1 allowed, 0 denied. topic: a PUBLISH's topic or a SUBSCRIBE's filter without
 * $share/<group>/. now_ms: the caller's clock (for the cache's ttl). */
int st_authz_allow(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                   int qos, int retain, int64_t now_ms);

#endif
