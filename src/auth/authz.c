/* authz.c — the authorization sources in force, and one client's decisions (authz.h). */
#include "auth/authz.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_authz {
    st_authz_cfg cfg;
    pthread_mutex_t mu; /* guards acl: a reload swaps it while workers compile from it */
    st_acl *acl;        /* the file source's rules (one reference), or NULL */
    st_authz_db *db;    /* the built_in_database source's rows, or NULL */
    atomic_uint gen;    /* bumped by a reload or a cache clear: clients recompile */
};

typedef struct centry {
    uint64_t h;
    int64_t expires;
    char *topic;
    uint32_t len;
    uint8_t key; /* action | qos << 2 | retain << 4 */
    uint8_t allow;
} centry;

struct st_authz_client {
    unsigned gen;
    int superuser, broken; /* broken: out of memory while compiling: deny */
    st_acl_list *list;     /* the file source's rules for it */
    st_acl_list *db[3];    /* the built_in_database's: its client id's, its username's, all */
    st_authz_own own;      /* its authenticator's rules */
    st_acl_list *own_list;
    char *cid, *user, *host, *cn;
    centry *cache;
    int ncache, next;
    centry *answers; /* the http source's, for the packet being handled (allow: the result) */
    int nanswers;
};

int st_authz_cfg_load(st_authz_cfg *z, const st_config *c, char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    z->no_match_deny = strcmp(st_config_str(c, "authorization.no_match"), "deny") == 0;
    z->deny_disconnect = strcmp(st_config_str(c, "authorization.deny_action"), "disconnect") == 0;
    z->cache = st_config_bool(c, "authorization.cache.enable");
    z->cache_max = (int)st_config_int(c, "authorization.cache.max_size");
    z->cache_ttl_ms = st_config_int(c, "authorization.cache.ttl");
    const char *names[17];
    size_t n = st_config_names(c, "authorization.sources", names, 17);
    int seen_db = 0, seen_file = 0, seen_http = 0;
    for (size_t i = 0; i < n; i++) {
        char k[160], e[160];
        snprintf(k, sizeof k, "authorization.sources.%s.type", names[i]);
        snprintf(e, sizeof e, "authorization.sources.%s.enable", names[i]);
        const char *type = st_config_str(c, k);
        const char *at = st_config_origin(c, k);
        int db = strcmp(type, "built_in_database") == 0, http = strcmp(type, "http") == 0;
        if (strcmp(type, "file") != 0 && !db && !http) {
            snprintf(err, errlen, "%s%s%s: %s", strcmp(at, "default") ? at : "",
                     strcmp(at, "default") ? ": " : "", k,
                     *type ? "not a source here (file, built_in_database, http; mysql, "
                             "postgresql, redis, mongodb and ldap are not built)"
                           : "required: file, built_in_database or http");
            return ST_ECONFIG;
        }
        int *seen = db ? &seen_db : http ? &seen_http : &seen_file;
        if (*seen) {
            snprintf(err, errlen, "%s: %s: a second %s source", at, k, type);
            return ST_ECONFIG;
        }
        *seen = 1;
        if (!st_config_bool(c, e)) continue;
        z->order[z->norder++] = db ? ST_AUTHZ_SRC_DB : http ? ST_AUTHZ_SRC_HTTP : ST_AUTHZ_SRC_FILE;
        if (http) {
            snprintf(k, sizeof k, "authorization.sources.%s", names[i]);
            if (st_http_cfg_load(&z->http_cfg, c, k, err, errlen) < 0) return ST_ECONFIG;
            z->http = 1;
            continue;
        }
        if (db) {
            snprintf(k, sizeof k, "authorization.sources.%s.max_rules", names[i]);
            z->max_rules = (int)st_config_int(c, k);
            z->db = 1;
            z->db_first = !z->file[0];
            continue;
        }
        snprintf(k, sizeof k, "authorization.sources.%s.path", names[i]);
        snprintf(z->file, sizeof z->file, "%s", st_config_str(c, k));
        if (!z->file[0]) {
            snprintf(err, errlen, "%s: %s: required: the acl.conf's path", at, k);
            return ST_ECONFIG;
        }
    }
    return 0;
}

st_authz *st_authz_new(const st_authz_cfg *cfg, char *err, size_t errlen)
{
    st_authz *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    z->cfg = *cfg;
    pthread_mutex_init(&z->mu, NULL);
    atomic_init(&z->gen, 1);
    if (cfg->db && !(z->db = st_authz_db_new())) snprintf(err, errlen, "out of memory");
    if ((cfg->db && !z->db) || (cfg->file[0] && !(z->acl = st_acl_load(cfg->file, err, errlen)))) {
        st_authz_free(z);
        return NULL;
    }
    return z;
}

void st_authz_free(st_authz *z)
{
    if (!z) return;
    st_acl_free(z->acl);
    st_authz_db_free(z->db);
    pthread_mutex_destroy(&z->mu);
    free(z);
}

const st_authz_cfg *st_authz_config(const st_authz *z)
{
    return &z->cfg;
}

int st_authz_reload(st_authz *z, char *err, size_t errlen)
{
    if (!z->cfg.file[0]) {
        snprintf(err, errlen, "no file source is configured");
        return -1;
    }
    st_acl *a = st_acl_load(z->cfg.file, err, errlen);
    if (!a) return -1;
    pthread_mutex_lock(&z->mu);
    st_acl *old = z->acl;
    z->acl = a;
    pthread_mutex_unlock(&z->mu);
    st_acl_free(old);
    atomic_fetch_add(&z->gen, 1);
    return 0;
}

void st_authz_clear_cache(st_authz *z)
{
    atomic_fetch_add(&z->gen, 1);
}

size_t st_authz_rules(st_authz *z)
{
    pthread_mutex_lock(&z->mu);
    size_t n = st_acl_count(z->acl);
    pthread_mutex_unlock(&z->mu);
    return n;
}

st_authz_db *st_authz_database(st_authz *z)
{
    return z->db;
}

void st_authz_on_rows(st_authz *z, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    if (!z->db) return;
    if (st_authz_db_row(z->db, key, klen, val, vlen))
        atomic_fetch_add(&z->gen, 1); /* every client compiles its rules again */
}

static void lists_free(st_authz_client *cl)
{
    st_acl_list_free(cl->list);
    cl->list = NULL;
    st_acl_list_free(cl->own_list);
    cl->own_list = NULL;
    for (int i = 0; i < 3; i++) {
        st_acl_list_free(cl->db[i]);
        cl->db[i] = NULL;
    }
}

static void cache_clear(st_authz_client *cl)
{
    for (int i = 0; i < cl->ncache; i++)
        free(cl->cache[i].topic);
    cl->ncache = cl->next = 0;
}

void st_authz_client_free(st_authz_client *cl)
{
    if (!cl) return;
    cache_clear(cl);
    free(cl->cache);
    st_authz_answers_clear(cl);
    free(cl->answers);
    lists_free(cl);
    st_acl_free(cl->own.acl);
    free(cl->cid);
    free(cl->user);
    free(cl->host);
    free(cl->cn);
    free(cl);
}

static int dup_or_null(char **dst, const char *s)
{
    return !s || (*dst = strdup(s)) ? 0 : -1;
}

st_authz_client *st_authz_client_new(st_authz *z, const st_acl_who *who, int superuser,
                                     st_authz_own *own)
{
    st_authz_client *cl = calloc(1, sizeof *cl);
    if (!cl) {
        if (own) st_acl_free(own->acl);
        return NULL;
    }
    if (own) cl->own = *own;
    cl->superuser = superuser;
    if (dup_or_null(&cl->cid, who->clientid) < 0 || dup_or_null(&cl->user, who->username) < 0 ||
        dup_or_null(&cl->host, who->peerhost) < 0 || dup_or_null(&cl->cn, who->cn) < 0 ||
        (z->cfg.cache && !(cl->cache = calloc((size_t)z->cfg.cache_max, sizeof *cl->cache)))) {
        st_authz_client_free(cl);
        return NULL;
    }
    return cl;
}

/* The built_in_database's rows for this client: its client id's, its username's, all. */
static int compile_db(st_authz *z, st_authz_client *cl, const st_acl_who *w)
{
    static const int kinds[3] = {ST_AUTHZ_CLIENT, ST_AUTHZ_USER, ST_AUTHZ_ALL};
    const char *names[3] = {cl->cid, cl->user, ""};
    for (int i = 0; i < 3; i++) {
        st_acl *a = names[i] ? st_authz_db_acl(z->db, kinds[i], names[i], strlen(names[i])) : NULL;
        if (!a) continue;
        cl->db[i] = st_acl_compile(a, w);
        st_acl_free(a);
        if (!cl->db[i]) return -1;
    }
    return 0;
}

/* The rules in force compiled for this client, after a change or at its first check. */
static void refresh(st_authz *z, st_authz_client *cl, unsigned gen)
{
    cache_clear(cl);
    lists_free(cl);
    cl->gen = gen;
    cl->broken = 0;
    st_acl_who w = {cl->cid, cl->user, cl->host, cl->cn};
    pthread_mutex_lock(&z->mu);
    st_acl *a = z->acl ? st_acl_ref(z->acl) : NULL;
    pthread_mutex_unlock(&z->mu);
    if (a) {
        cl->list = st_acl_compile(a, &w);
        cl->broken = !cl->list;
        st_acl_free(a);
    }
    if (z->db && compile_db(z, cl, &w) < 0) cl->broken = 1;
    if (cl->own.acl && !(cl->own_list = st_acl_compile(cl->own.acl, &w))) cl->broken = 1;
}

static int answered(const st_authz_client *cl, uint8_t key, const char *topic, size_t len)
{
    for (int i = 0; i < cl->nanswers; i++) {
        const centry *e = &cl->answers[i];
        if (e->key == key && e->len == len && memcmp(e->topic, topic, len) == 0) return e->allow;
    }
    return -1;
}

/* One source's say: ST_ACL_ALLOW, ST_ACL_DENY, ST_ACL_NOMATCH, or -1: ask the service. */
static int source(st_authz_client *cl, int src, int action, const char *topic, size_t len, int qos,
                  int retain)
{
    int r = ST_ACL_NOMATCH;
    if (src == ST_AUTHZ_SRC_HTTP)
        return answered(cl, (uint8_t)(action | (qos & 3) << 2 | (retain ? 1 : 0) << 4), topic, len);
    if (src == ST_AUTHZ_SRC_FILE)
        return cl->list ? st_acl_check(cl->list, action, topic, len, qos, retain) : r;
    for (int i = 0; i < 3 && r == ST_ACL_NOMATCH; i++)
        if (cl->db[i]) r = st_acl_check(cl->db[i], action, topic, len, qos, retain);
    return r;
}

/* The sources in their order: the first that has a rule for it decides. 1 allow, 0 deny,
 * ST_AUTHZ_ASK (or with wait = 0, an unanswered question counts as no match, and *skipped
 * is set). */
static int decide(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                  int qos, int retain, int wait, int *skipped)
{
    int r =
        cl->own_list ? st_acl_check(cl->own_list, action, topic, len, qos, retain) : ST_ACL_NOMATCH;
    if (r == ST_ACL_NOMATCH && cl->own_list && cl->own.legacy) return 0;
    for (int i = 0; i < z->cfg.norder && r == ST_ACL_NOMATCH; i++) {
        if ((r = source(cl, z->cfg.order[i], action, topic, len, qos, retain)) >= 0) continue;
        if (wait) return ST_AUTHZ_ASK;
        *skipped = 1;
        r = ST_ACL_NOMATCH;
    }
    return r == ST_ACL_ALLOW || (r == ST_ACL_NOMATCH && !z->cfg.no_match_deny);
}

static uint64_t hash(const char *s, size_t n, uint8_t key)
{
    uint64_t h = 1469598103934665603ull ^ key;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static centry *cache_find(st_authz_client *cl, uint64_t h, uint8_t key, const char *t, size_t n,
                          int64_t now)
{
    for (int i = 0; i < cl->ncache; i++) {
        centry *e = &cl->cache[i];
        if (e->h == h && e->key == key && e->len == n && e->expires > now &&
            memcmp(e->topic, t, n) == 0)
            return e;
    }
    return NULL;
}

static void cache_put(st_authz *z, st_authz_client *cl, uint64_t h, uint8_t key, const char *t,
                      size_t n, int allow, int64_t now)
{
    char *copy = malloc(n + 1);
    if (!copy) return;
    memcpy(copy, t, n);
    int i = cl->ncache;
    if (i < z->cfg.cache_max) {
        cl->ncache++;
    } else { /* full: the oldest goes */
        i = cl->next;
        free(cl->cache[i].topic);
        cl->next = (i + 1) % z->cfg.cache_max;
    }
    cl->cache[i] = (centry){h, now + z->cfg.cache_ttl_ms, copy, (uint32_t)n, key, (uint8_t)allow};
}

static int allow(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                 int qos, int retain, int64_t now_ms, int wait)
{
    if (cl->superuser) return 1;
    unsigned gen = atomic_load_explicit(&z->gen, memory_order_acquire);
    if (gen != cl->gen) refresh(z, cl, gen);
    if (cl->broken) return 0;
    if (cl->own.expire_ms && st_wall_ms() >= cl->own.expire_ms) return 0;
    uint8_t key = (uint8_t)(action | (qos & 3) << 2 | (retain ? 1 : 0) << 4);
    uint64_t h = 0;
    if (z->cfg.cache) {
        h = hash(topic, len, key);
        centry *e = cache_find(cl, h, key, topic, len, now_ms);
        if (e) return e->allow;
    }
    int skipped = 0, r = decide(z, cl, action, topic, len, qos, retain, wait, &skipped);
    if (z->cfg.cache && r != ST_AUTHZ_ASK && !skipped)
        cache_put(z, cl, h, key, topic, len, r, now_ms);
    return r;
}

int st_authz_allow(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                   int qos, int retain, int64_t now_ms)
{
    return allow(z, cl, action, topic, len, qos, retain, now_ms, 1);
}

int st_authz_allow_now(st_authz *z, st_authz_client *cl, int action, const char *topic, size_t len,
                       int qos, int retain, int64_t now_ms)
{
    return allow(z, cl, action, topic, len, qos, retain, now_ms, 0);
}

int st_authz_ask(st_authz *z, st_http_client *h, const st_http_who *who)
{
    char why[300], *acl = NULL;
    int su = 0;
    double expire_at = 0;
    int v = st_http_ask(h, &z->cfg.http_cfg, who, &su, &acl, &expire_at, why, sizeof why);
    free(acl);
    return v == ST_HTTP_ALLOW ? ST_ACL_ALLOW : v == ST_HTTP_DENY ? ST_ACL_DENY : ST_ACL_NOMATCH;
}

void st_authz_client_who(const st_authz_client *cl, st_http_who *who)
{
    *who = (st_http_who){.username = cl->user,
                         .clientid = cl->cid,
                         .peerhost = cl->host,
                         .cn = cl->cn,
                         .ulen = cl->user ? strlen(cl->user) : 0,
                         .cidlen = cl->cid ? strlen(cl->cid) : 0};
}

void st_authz_answer(st_authz_client *cl, int action, const char *topic, size_t len, int qos,
                     int retain, int result)
{
    centry *a = realloc(cl->answers, (size_t)(cl->nanswers + 1) * sizeof *a);
    char *copy = malloc(len + 1);
    if (a) cl->answers = a;
    if (!a || !copy) { /* asked again: the client waits rather than being decided wrongly */
        free(copy);
        return;
    }
    memcpy(copy, topic, len);
    copy[len] = 0;
    uint8_t key = (uint8_t)(action | (qos & 3) << 2 | (retain ? 1 : 0) << 4);
    cl->answers[cl->nanswers++] = (centry){0, 0, copy, (uint32_t)len, key, (uint8_t)result};
}

void st_authz_answers_clear(st_authz_client *cl)
{
    for (int i = 0; i < cl->nanswers; i++)
        free(cl->answers[i].topic);
    cl->nanswers = 0;
}
