/* authz.h — authorization (docs/security.md §9): EMQX 5's `authorization { sources,
 * no_match, deny_action, cache }`, and the decision for one client's PUBLISH or SUBSCRIBE.
 * Built: the file source (acl.h). Each client keeps its compiled share of the rules and a
 * small cache of decisions; a reload makes every client recompile at its next check. */
#ifndef ST_AUTHZ_H
#define ST_AUTHZ_H

#include "auth/acl.h"
#include "auth/authz_db.h"
#include "auth/http.h"

#include <stddef.h>
#include <stdint.h>

struct st_config;

enum { ST_AUTHZ_SRC_FILE = 1, ST_AUTHZ_SRC_DB, ST_AUTHZ_SRC_HTTP };

typedef struct st_authz_cfg {
    char file[512];   /* the enabled file source's path, or "" */
    int db;           /* an enabled built_in_database source */
    int db_first;     /* it comes before the file source */
    int http;         /* an enabled http source */
    uint8_t order[3]; /* the enabled sources in their order (ST_AUTHZ_SRC_*) */
    int norder;
    st_authn_http http_cfg;
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
/* A row of the replicated table's namespace ST_KV_ACL as it changes (val NULL: deleted): a
 * mirror of the cluster (cluster.h), on its thread. */
void st_authz_on_rows(st_authz *z, const uint8_t *key, size_t klen, const uint8_t *val,
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

/* 1 allowed, 0 denied, ST_AUTHZ_ASK: the http source must be asked first (it is reached and
 * has not answered this question: st_authz_ask, then st_authz_answer). topic: a PUBLISH's
 * topic or a SUBSCRIBE's filter without $share/<group>/. now_ms: the caller's clock (for the
 * cache's ttl). */
#define ST_AUTHZ_ASK 2
#define ST_AUTHZ_HTTP_THREADS 8 /* threads that ask the service (EMQX's pool_size) */
int st_authz_allow(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                   int qos, int retain, int64_t now_ms);
/* The same for a caller that cannot wait (the will at CONNECT): the http source, unless it
 * has answered, has no say (the next sources and no_match decide; not cached). 1 or 0. */
int st_authz_allow_now(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                       int qos, int retain, int64_t now_ms);

/* The http source (docs/security.md §9). Its answers are kept by the client until the
 * packet they were asked for has been handled (st_authz_answers_clear); the decision they
 * lead to is cached as any other. */
/* Ask the service (on an auth thread: it blocks up to request_timeout): ST_ACL_ALLOW,
 * ST_ACL_DENY, or ST_ACL_NOMATCH (ignore, an error, a timeout: the next source decides). */
int st_authz_ask(st_authz *z, st_http_client *h, const st_http_who *who);
/* Who the client is, for the question. */
void st_authz_client_who(const st_authz_client *cl, st_http_who *who);
void st_authz_answer(st_authz_client *cl, int action, const char *topic, size_t len, int qos,
                     int retain, int result);
void st_authz_answers_clear(st_authz_client *cl);

#endif
