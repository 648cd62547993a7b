/* auth.c — the authenticator chain at CONNECT (auth.h, docs/security.md §2). */
#include "auth/auth.h"
#include "auth/bans.h"
#include "auth/bootstrap.h"
#include "auth/jwt.h"
#include "auth/pool.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/strmap.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_auth {
    st_auth_cfg cfg;
    st_userdb *db[ST_AUTH_MAX];   /* built_in_database authenticators: who may connect */
    st_userdb *boot[ST_AUTH_MAX]; /* their bootstrap files' users (proposed to the cluster) */
    int slow;                     /* the chain has a slow hash: CONNECTs go to the pool */
    st_auth_pool *qpool;          /* authorization's http questions (authz.h) */
    st_bans *bans;                /* the cluster's banned table, this node's copy */
    st_ban *boot_bans;            /* banned.bootstrap_file's (proposed once a member) */
    size_t nboot_bans;
    pthread_mutex_t flap_mu; /* flapping detection: client id → its disconnects */
    st_strmap *flaps;
    st_ban_sink sink;
    void *sink_ctx;
    st_auth_pool *pool;
    st_jwt jwt[ST_AUTH_MAX]; /* jwt authenticators' keys */
    st_http_client *http;    /* http backends' kept connections */
    st_authz *authz;         /* authorization's sources */
};

/* banned.bootstrap_file: EMQX's CSV, header as,who,reason,at,until,by (only as and who are
 * needed; at and until in epoch seconds); a bad row stops the node with its line. */
static int read_bans(st_auth *a, char *err, size_t errlen)
{
    const char *path = a->cfg.bans_file;
    if (!*path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "banned.bootstrap_file: %s: cannot read it", path);
        return ST_ECONFIG;
    }
    char line[1024], *cols[8];
    int lineno = 0, ncols = 0, rc = 0, idx[6];
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        int n = 0;
        for (char *p = line; n < 8;) {
            cols[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma) break;
            *comma = 0;
            p = comma + 1;
        }
        if (!ncols) { /* the header */
            static const char *const names[] = {"as", "who", "reason", "at", "until", "by"};
            ncols = n;
            for (int k = 0; k < 6; k++) {
                idx[k] = -1;
                for (int j = 0; j < n; j++)
                    if (strcmp(cols[j], names[k]) == 0) idx[k] = j;
            }
            if (idx[0] < 0 || idx[1] < 0) {
                snprintf(err, errlen, "%s:%d: the header must name as and who", path, lineno);
                rc = ST_ECONFIG;
            }
            continue;
        }
        st_ban *b =
            a->nboot_bans < 10000 ? realloc(a->boot_bans, (a->nboot_bans + 1) * sizeof *b) : NULL;
        if (b) a->boot_bans = b;
        if (!b || n != ncols) {
            snprintf(err, errlen, "%s:%d: %d fields, the header has %d", path, lineno, n, ncols);
            rc = ST_ECONFIG;
            break;
        }
        st_ban *ban = &b[a->nboot_bans];
        memset(ban, 0, sizeof *ban);
        char why[200];
        ban->as = st_ban_as_of(cols[idx[0]]);
        snprintf(ban->who, sizeof ban->who, "%s", cols[idx[1]]);
        if (idx[2] >= 0) snprintf(ban->reason, sizeof ban->reason, "%s", cols[idx[2]]);
        snprintf(ban->by, sizeof ban->by, "%s",
                 idx[5] >= 0 && cols[idx[5]][0] ? cols[idx[5]] : "bootstrap");
        ban->at_ms = idx[3] >= 0 && cols[idx[3]][0] ? atoll(cols[idx[3]]) * 1000 : 0;
        ban->until_ms = idx[4] >= 0 && cols[idx[4]][0] ? atoll(cols[idx[4]]) * 1000 : 0;
        if (ban->as < 0 || st_ban_check(ban->as, ban->who, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno,
                     ban->as < 0 ? "as: clientid, username, peerhost, clientid_re, username_re "
                                   "or peerhost_net"
                                 : why);
            rc = ST_ECONFIG;
            break;
        }
        st_bans_put(a->bans, ban); /* until the cluster's table says more */
        a->nboot_bans++;
    }
    fclose(f);
    return rc;
}

typedef struct flap {
    int n;
    int64_t since;
} flap;

/* Forget the windows that began before cutoff (all: INT64_MAX). Under flap_mu. */
static void flaps_clear(st_auth *a, int64_t cutoff)
{
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    if (!a->flaps) return;
    while (st_strmap_next(a->flaps, &it, &k, &kl, &v))
        if (((flap *)v)->since < cutoff) free(st_strmap_del(a->flaps, k, kl));
}

void st_auth_set_ban_sink(st_auth *a, st_ban_sink sink, void *ctx)
{
    a->sink = sink;
    a->sink_ctx = ctx;
}

void st_auth_disconnected(st_auth *a, const char *cid, size_t len)
{
    if (!a->cfg.flapping || !len || len >= sizeof(((st_ban *)0)->who)) return;
    int64_t now = st_now_ms();
    int hit = 0;
    pthread_mutex_lock(&a->flap_mu);
    flap *f = st_strmap_get(a->flaps, cid, len);
    if (!f && st_strmap_count(a->flaps) >= 100000) flaps_clear(a, now - a->cfg.flap_window_ms);
    if (!f && (f = calloc(1, sizeof *f)) && st_strmap_put(a->flaps, cid, len, f) < 0) {
        free(f);
        f = NULL;
    }
    if (f && now - f->since > a->cfg.flap_window_ms) {
        f->n = 0;
        f->since = now;
    }
    if (f && ++f->n >= a->cfg.flap_max) {
        hit = 1;
        free(st_strmap_del(a->flaps, cid, len));
    }
    pthread_mutex_unlock(&a->flap_mu);
    if (!hit || !a->sink) return;
    st_ban ban;
    memset(&ban, 0, sizeof ban);
    ban.as = ST_BAN_CLIENTID;
    memcpy(ban.who, cid, len);
    snprintf(ban.by, sizeof ban.by, "flapping detector");
    snprintf(ban.reason, sizeof ban.reason, "flapping is detected");
    ban.at_ms = st_wall_ms();
    ban.until_ms = ban.at_ms + a->cfg.flap_ban_ms;
    a->sink(a->sink_ctx, &ban);
}

st_bans *st_auth_bans(st_auth *a)
{
    return a->bans;
}

const st_ban *st_auth_boot_bans(const st_auth *a, size_t *n)
{
    *n = a->nboot_bans;
    return a->boot_bans;
}

static void copy_user(void *ctx, const char *id, size_t len, const st_user *u)
{
    st_userdb_put(ctx, id, len, u);
}

st_auth *st_auth_new(const st_auth_cfg *cfg, char *err, size_t errlen)
{
    st_auth *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    pthread_mutex_init(&a->flap_mu, NULL);
    if (!(a->flaps = st_strmap_new()) || !(a->bans = st_bans_new()) ||
        read_bans(a, err, errlen) < 0 || !(a->authz = st_authz_new(&cfg->authz, err, errlen))) {
        if (!a->bans) snprintf(err, errlen, "out of memory");
        st_auth_free(a);
        return NULL;
    }
    for (int i = 0; i < cfg->n; i++) {
        const st_authn_cfg *m = &cfg->chain[i];
        char why[600];
        if (m->mechanism == ST_MECH_JWT) {
            st_jwt *j = &a->jwt[i];
            j->public_key = m->jwt_public;
            j->nclaims = m->nclaims;
            for (int k = 0; k < m->nclaims; k++) {
                memcpy(j->claim[k], m->claim[k], sizeof j->claim[k]);
                memcpy(j->value[k], m->claim_value[k], sizeof j->value[k]);
            }
            if (st_jwt_key(j, m->secret, m->secret_b64, m->public_key, why, sizeof why) < 0) {
                snprintf(err, errlen, "authentication.%d.%s", i, why);
                st_auth_free(a);
                return NULL;
            }
            continue;
        }
        if (m->backend == ST_BACKEND_HTTP && !a->http && !(a->http = st_http_client_new())) {
            snprintf(err, errlen, "authentication.%d: cannot set up its HTTP client", i);
            st_auth_free(a);
            return NULL;
        }
        if (m->backend != ST_BACKEND_BUILTIN) continue;
        int rc = (a->db[i] = st_userdb_new()) && (a->boot[i] = st_userdb_new())
                     ? st_auth_bootstrap(m, m->pepper, a->boot[i], why, sizeof why)
                     : ST_ENOMEM;
        if (rc >= 0) st_userdb_each(a->boot[i], copy_user, a->db[i]); /* until the cluster's */
        if (rc < 0) {
            snprintf(err, errlen, "authentication.%d.bootstrap_file: %s", i,
                     rc == ST_ENOMEM ? "out of memory" : why);
            st_auth_free(a);
            return NULL;
        }
    }
    for (int i = 0; i < cfg->n; i++)
        a->slow |= cfg->chain[i].enable && cfg->chain[i].mechanism == ST_MECH_PASSWORD &&
                   (cfg->chain[i].backend == ST_BACKEND_HTTP || st_pw_slow(&cfg->chain[i].algo));
    if (cfg->authz.http && !a->http && !(a->http = st_http_client_new())) {
        snprintf(err, errlen, "authorization: cannot set up its HTTP client");
        st_auth_free(a);
        return NULL;
    }
    /* authorization's questions have threads of their own: they wait on a service, use
     * next to no CPU, and must not queue behind a storm of logins */
    if (cfg->authz.http && !(a->qpool = st_auth_pool_new(a, ST_AUTHZ_HTTP_THREADS))) {
        snprintf(err, errlen, "authorization: cannot start its threads");
        st_auth_free(a);
        return NULL;
    }
    if (a->slow && !(a->pool = st_auth_pool_new(a, 0))) {
        snprintf(err, errlen, "authentication: cannot start its threads");
        st_auth_free(a);
        return NULL;
    }
    return a;
}

int st_auth_slow(const st_auth *a)
{
    return a->slow;
}

int st_auth_submit(st_auth *a, st_auth_job *j)
{
    st_auth_pool *p = j->work ? a->qpool : a->pool;
    return p ? st_auth_pool_submit(p, j) : ST_EFULL;
}

void st_auth_stop(st_auth *a)
{
    if (!a) return;
    st_auth_pool_stop(a->pool);
    st_auth_pool_stop(a->qpool);
}

void st_auth_free(st_auth *a)
{
    if (!a) return;
    st_auth_pool_free(a->pool);
    st_auth_pool_free(a->qpool);
    for (int i = 0; i < ST_AUTH_MAX; i++)
        st_jwt_free(&a->jwt[i]);
    st_http_client_free(a->http);
    st_authz_free(a->authz);
    st_bans_free(a->bans);
    free(a->boot_bans);
    flaps_clear(a, INT64_MAX);
    st_strmap_free(a->flaps);
    pthread_mutex_destroy(&a->flap_mu);
    for (int i = 0; i < ST_AUTH_MAX; i++) {
        st_userdb_free(a->db[i]);
        st_userdb_free(a->boot[i]);
    }
    free(a);
}

st_http_client *st_auth_http(st_auth *a)
{
    return a->http;
}

st_authz *st_auth_authz(st_auth *a)
{
    return a->authz;
}

const st_auth_cfg *st_auth_config(const st_auth *a)
{
    return &a->cfg;
}

st_userdb *st_auth_userdb(st_auth *a, int i)
{
    return i >= 0 && i < ST_AUTH_MAX ? a->db[i] : NULL;
}

st_userdb *st_auth_boot_users(st_auth *a, int i)
{
    return i >= 0 && i < ST_AUTH_MAX ? a->boot[i] : NULL;
}

enum { IGNORE, ALLOW, DENY, DENY_NOT_AUTHORIZED, SLOW };

/* password_based + built_in_database: the user's entry decides; no entry, next. fast: SLOW
 * rather than a slow hash. */
static int builtin(st_auth *a, int i, const st_credentials *cr, st_auth_result *out, int fast)
{
    const st_authn_cfg *m = &a->cfg.chain[i];
    const char *id = m->by_clientid ? cr->clientid : cr->username;
    size_t len = m->by_clientid ? cr->cidlen : cr->ulen;
    st_user u;
    if (!id || !len || !st_userdb_get(a->db[i], id, len, &u)) return IGNORE;
    if (fast && st_pw_slow(&m->algo)) {
        OPENSSL_cleanse(&u, sizeof u);
        return SLOW;
    }
    int ok = 0;
    if (cr->password) {
        char buf[1024];
        size_t pl = u.peppered ? strlen(m->pepper) : 0;
        if (pl + cr->plen <= sizeof buf) {
            memcpy(buf, m->pepper, pl);
            memcpy(buf + pl, cr->password, cr->plen);
            ok = st_pw_check(&m->algo, u.salt, u.hash, buf, pl + cr->plen);
            OPENSSL_cleanse(buf, pl + cr->plen);
        }
    }
    out->superuser = ok && u.superuser;
    OPENSSL_cleanse(&u, sizeof u);
    return ok ? ALLOW : DENY;
}

/* The rules an authenticator gave (EMQX's acl of a JWT or of an HTTP answer): -1 when they do
 * not parse (the client is refused, as EMQX does). */
static int own_rules(st_auth_result *out, const char *json, size_t len, int64_t expire_ms)
{
    char err[200];
    int legacy = 0;
    st_acl *a = st_acl_from_claim(json, len, &legacy, err, sizeof err);
    if (!a) return -1;
    out->own = (st_authz_own){a, legacy, expire_ms > 0 ? expire_ms : 0};
    return 0;
}

/* password_based + http: the service decides (on an auth thread: it may take a while). */
static int http(st_auth *a, int i, const st_credentials *cr, st_auth_result *out)
{
    st_http_who who = {.username = cr->username,
                       .clientid = cr->clientid,
                       .password = cr->password,
                       .peerhost = cr->peerhost,
                       .cn = cr->cn,
                       .ulen = cr->username ? cr->ulen : 0,
                       .cidlen = cr->cidlen,
                       .plen = cr->password ? cr->plen : 0};
    char why[300], *acl = NULL;
    int su = 0;
    double expire_at = 0;
    int v =
        st_http_ask(a->http, &a->cfg.chain[i].http, &who, &su, &acl, &expire_at, why, sizeof why);
    out->superuser = v == ST_HTTP_ALLOW && su;
    int bad = v == ST_HTTP_ALLOW && acl &&
              own_rules(out, acl, strlen(acl), (int64_t)(expire_at * 1000)) < 0;
    free(acl);
    if (bad) return DENY; /* an acl that does not parse: 0x86, as EMQX */
    return v == ST_HTTP_ALLOW ? ALLOW : v == ST_HTTP_DENY ? DENY_NOT_AUTHORIZED : IGNORE;
}

/* mechanism = jwt: the token in the password (or username). */
static int jwt(st_auth *a, int i, const st_credentials *cr, st_auth_result *out)
{
    const st_authn_cfg *m = &a->cfg.chain[i];
    const char *tok = m->from_username ? cr->username : cr->password;
    size_t len = m->from_username ? cr->ulen : cr->plen;
    char why[200];
    int su = 0;
    if (!tok || !len) return IGNORE;
    int v = st_jwt_check(&a->jwt[i], tok, len, cr->clientid, cr->cidlen, cr->username,
                         cr->username ? cr->ulen : 0, &su, why, sizeof why);
    out->superuser = v == ST_JWT_ALLOW && su;
    if (v == ST_JWT_ALLOW) { /* EMQX's acl claim: bad rules refuse the token */
        char acl[8192], exp[32];
        long n = st_jwt_claim(tok, len, "acl", acl, sizeof acl);
        int64_t until = st_jwt_claim(tok, len, "exp", exp, sizeof exp) > 0
                            ? (int64_t)(atof(exp[0] == '"' ? exp + 1 : exp) * 1000)
                            : 0;
        if (n > 0 && own_rules(out, acl, (size_t)n, until) < 0) v = ST_JWT_DENY;
    }
    return v == ST_JWT_ALLOW ? ALLOW : v == ST_JWT_DENY ? DENY : IGNORE;
}

/* The chain for a listener: its own if it has one ("tcp:default"), else the global one (""). */
static const char *scope(const st_auth *a, const char *listener)
{
    if (listener && *listener)
        for (int i = 0; i < a->cfg.n; i++)
            if (strcmp(a->cfg.chain[i].listener, listener) == 0) return listener;
    return "";
}

/* The chain; fast: SLOW as soon as an authenticator would hash slowly or ask a service. */
static int run_chain(st_auth *a, const st_credentials *cr, st_auth_result *out, int fast)
{
    memset(out, 0, sizeof *out);
    out->by = "";
    out->reason = ST_RC_NOT_AUTHORIZED;
    int anon = !cr->username && !cr->password;
    if (cr->mode == ST_AUTHN_OFF) {
        out->ok = out->anonymous = 1;
        return ALLOW;
    }
    if (cr->mode == ST_AUTHN_QUICK_DENY && (!cr->username || !cr->ulen)) return DENY;
    int enabled = 0;
    const char *sc = scope(a, cr->listener);
    for (int i = 0; i < a->cfg.n; i++) {
        const st_authn_cfg *m = &a->cfg.chain[i];
        if (!m->enable || strcmp(m->listener, sc) != 0) continue;
        enabled++;
        if (m->mechanism == ST_MECH_SCRAM) continue; /* only through AUTH packets */
        int v = m->mechanism == ST_MECH_JWT        ? jwt(a, i, cr, out)
                : m->backend == ST_BACKEND_BUILTIN ? builtin(a, i, cr, out, fast)
                : m->backend == ST_BACKEND_HTTP    ? (fast ? SLOW : http(a, i, cr, out))
                                                   : IGNORE;
        if (v == SLOW) return SLOW;
        if (v == IGNORE) continue;
        out->by = m->id;
        out->ok = v == ALLOW;
        out->reason = v == ALLOW                 ? 0
                      : v == DENY_NOT_AUTHORIZED ? ST_RC_NOT_AUTHORIZED
                                                 : ST_RC_BAD_CREDENTIALS;
        return v;
    }
    /* nobody decided: an empty chain lets everyone in unless allow_anonymous = false; a
     * chain lets in only a client without credentials, and only with allow_anonymous = true */
    int allow = enabled ? a->cfg.allow_anonymous == 1 && anon : a->cfg.allow_anonymous != 0;
    out->ok = out->anonymous = allow;
    if (allow) out->reason = 0;
    return allow ? ALLOW : DENY;
}

int st_auth_scram_user(st_auth *a, const char *listener, int sha512, const char *user, size_t ulen,
                       st_user *u, int *iterations)
{
    const char *sc = scope(a, listener);
    for (int i = 0; i < a->cfg.n; i++) {
        const st_authn_cfg *m = &a->cfg.chain[i];
        if (!m->enable || m->mechanism != ST_MECH_SCRAM || strcmp(m->listener, sc) != 0 ||
            (m->algo.mac_fun == ST_MAC_SHA512) != (sha512 != 0))
            continue;
        *iterations = m->algo.iterations;
        return st_userdb_get(a->db[i], user, ulen, u) ? 1 : 0;
    }
    return -1;
}

void st_auth_check(st_auth *a, const st_credentials *cr, st_auth_result *out)
{
    run_chain(a, cr, out, 0);
}

int st_auth_try(st_auth *a, const st_credentials *cr, st_auth_result *out)
{
    return run_chain(a, cr, out, 1) != SLOW;
}
