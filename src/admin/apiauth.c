/* apiauth.c — the HTTP API's credentials (apiauth.h). */
#include "admin/apiauth.h"
#include "admin/sb.h"
#include "auth/passwd.h"
#include "cluster/cluster.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/file.h"
#include "core/json.h"
#include "core/strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CTL_USER "starling-ctl"
#define MAX_FAILS 10
#define FAIL_WINDOW_MS 60000
#define MAX_REVOKED 1024
#define MAX_BOOT 1024

/* An API key or a dashboard user, as mirrored from the table. */
typedef struct cred {
    char hash[ST_PW_MAX];
    char salt[64];
    int enable;
    int64_t expires_ms; /* 0: never */
    char name[64];      /* API keys: the key's name, its description, when it was made */
    char desc[128];
    int64_t created_ms;
} cred;

#define CRED_MAX (ST_PW_MAX + 64 + 64 + 128 + 32)

typedef struct fails {
    int n;
    int64_t since;
} fails;

typedef struct boot_row {
    char key[256];
    cred c;
} boot_row;

struct st_apiauth {
    st_apiauth_cfg cfg;
    const st_log *log;
    pthread_mutex_t mu;
    st_strmap *keys, *admins; /* key / username → cred* (the cluster's) */
    boot_row *boot_keys;      /* the bootstrap file's, and the default user: for a reset */
    size_t nboot_keys;
    boot_row boot_admin;
    st_strmap *fails; /* address → fails* (the API's thread only) */
    char ctl_secret[65];
    uint8_t token_key[32];
    char revoked[MAX_REVOKED][44]; /* logged-out tokens' signatures (this node) */
    size_t nrevoked;
    struct st_cluster *cluster; /* writes users */
    char caller[128];           /* the last checked request's token user ("": an API key) */
    int by_ctl;                 /* the last checked request is `starling ctl`'s */
};

static const st_pw_algo SHA = {.alg = ST_PW_SHA256, .salt_position = ST_SALT_PREFIX};

static int make_cred(const char *secret, cred *c)
{
    memset(c, 0, sizeof *c);
    c->enable = 1;
    return st_pw_salt_new(&SHA, c->salt, sizeof c->salt) < 0 ||
                   st_pw_hash(&SHA, c->salt, secret, strlen(secret), c->hash, sizeof c->hash) < 0
               ? -1
               : 0;
}

/* ---- rows of the table: str hash, str salt, u8 enable, u64 expires (ms, 0 never) ---- */

static size_t u64(uint8_t *out, int64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    return 8;
}

static int64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* hash, salt, u8 enable, u64 expires, name, desc, u64 created */
static size_t cred_value(const cred *c, uint8_t *out)
{
    size_t n = st_put_str16(out, c->hash);
    n += st_put_str16(out + n, c->salt);
    out[n++] = (uint8_t)(c->enable ? 1 : 0);
    n += u64(out + n, c->expires_ms);
    n += st_put_str16(out + n, c->name);
    n += st_put_str16(out + n, c->desc);
    return n + u64(out + n, c->created_ms);
}

static int cred_decode(const uint8_t *p, size_t n, cred *c)
{
    memset(c, 0, sizeof *c);
    size_t a = st_get_str16(p, n, c->hash, sizeof c->hash);
    size_t b = a ? st_get_str16(p + a, n - a, c->salt, sizeof c->salt) : 0;
    size_t off = a + b + 9;
    if (!a || !b || off > n) return -1;
    c->enable = p[a + b] == 1;
    c->expires_ms = get_u64(p + a + b + 1);
    size_t d = st_get_str16(p + off, n - off, c->name, sizeof c->name);
    size_t e = d ? st_get_str16(p + off + d, n - off - d, c->desc, sizeof c->desc) : 0;
    if (!d || !e || off + d + e + 8 != n) return -1;
    c->created_ms = get_u64(p + off + d + e);
    return 0;
}

static void put(st_strmap *m, const char *key, size_t klen, const cred *c)
{
    cred *copy = malloc(sizeof *copy);
    if (!copy) return;
    *copy = *c;
    free(st_strmap_get(m, key, klen));
    if (st_strmap_put(m, key, klen, copy) < 0) free(copy);
}

static void clear(st_strmap *m)
{
    if (!m) return;
    size_t it = 0;
    void *v;
    while (st_strmap_next(m, &it, NULL, NULL, &v))
        free(v);
    st_strmap_free(m);
}

/* The bootstrap's rows, before the table's arrive. */
static void reset(st_apiauth *a)
{
    clear(a->keys);
    clear(a->admins);
    a->keys = st_strmap_new();
    a->admins = st_strmap_new();
    for (size_t i = 0; a->keys && i < a->nboot_keys; i++)
        put(a->keys, a->boot_keys[i].key, strlen(a->boot_keys[i].key), &a->boot_keys[i].c);
    if (a->admins) put(a->admins, a->boot_admin.key, strlen(a->boot_admin.key), &a->boot_admin.c);
}

/* The bootstrap's row of this key (a key of api_key.bootstrap_file, the default user), or
 * NULL. */
static const cred *boot_row_of(st_apiauth *a, uint8_t ns, const uint8_t *key, size_t klen)
{
    size_t n = ns == ST_KV_API_KEYS ? a->nboot_keys : 1;
    for (size_t i = 0; i < n; i++) {
        const boot_row *r = ns == ST_KV_API_KEYS ? &a->boot_keys[i] : &a->boot_admin;
        if (strlen(r->key) == klen && memcmp(r->key, key, klen) == 0) return &r->c;
    }
    return NULL;
}

static void on_rows(void *ctx, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t vlen, int replaced)
{
    st_apiauth *a = ctx;
    pthread_mutex_lock(&a->mu);
    st_strmap *m = ns == ST_KV_API_KEYS ? a->keys : a->admins;
    cred c;
    const cred *boot = !val && replaced ? boot_row_of(a, ns, key, klen) : NULL;
    if (boot && m)
        put(m, (const char *)key, klen, boot);
    else if (!val)
        free(st_strmap_del(m, (const char *)key, klen));
    else if (m && cred_decode(val, vlen, &c) == 0)
        put(m, (const char *)key, klen, &c);
    if (val && ns == ST_KV_ADMINS && klen == strlen(a->cfg.default_user) &&
        memcmp(key, a->cfg.default_user, klen) == 0 && cred_decode(val, vlen, &c) == 0 &&
        st_pw_check(&SHA, c.salt, c.hash, a->cfg.default_password, strlen(a->cfg.default_password)))
        LOG_WARN(a->log,
                 "the API's user %s still has its default password: anyone who knows it "
                 "can change this cluster. Change it (dashboard.default_password, or the "
                 "API) and bind the API to an address only operators reach.",
                 a->cfg.default_user);
    pthread_mutex_unlock(&a->mu);
}

/* ---- set-up ---- */

/* api_key.bootstrap_file: `key:secret[:role]` lines (role: administrator only, as in CE). */
static int read_keys(st_apiauth *a, char *err, size_t errlen)
{
    const char *path = a->cfg.bootstrap_file;
    if (!*path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "api_key.bootstrap_file: %s: %s", path, strerror(errno));
        return ST_ECONFIG;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "\r\n")] = 0;
        for (char *e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t');)
            *--e = 0;
        if (!*s) continue;
        char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 && strcmp(c2 + 1, "administrator") != 0) {
            snprintf(err, errlen, "%s:%d: role \"%s\": only administrator", path, lineno, c2 + 1);
            rc = ST_ECONFIG;
            break;
        }
        if (c2) *c2 = 0;
        if (!c1 || c1 == s || !c1[1] || (size_t)(c1 - s) >= sizeof a->boot_keys[0].key ||
            a->nboot_keys == MAX_BOOT) {
            snprintf(err, errlen, "%s:%d: expected api_key:api_secret[:role]", path, lineno);
            rc = ST_ECONFIG;
            break;
        }
        *c1 = 0;
        boot_row *r = &a->boot_keys[a->nboot_keys++];
        snprintf(r->key, sizeof r->key, "%s", s);
        if (make_cred(c1 + 1, &r->c) < 0) rc = ST_ECONFIG;
        uint8_t md[64];
        unsigned int ml = 0; /* EMQX's name for a file's key */
        EVP_Digest(s, strlen(s), md, &ml, EVP_sha512(), NULL);
        snprintf(r->c.name, sizeof r->c.name,
                 "from_bootstrap_file_%02x%02x%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3],
                 md[4], md[5], md[6], md[7]);
        snprintf(r->c.desc, sizeof r->c.desc, "Bootstrapped From File");
        r->c.created_ms = st_wall_ms();
        OPENSSL_cleanse(line, sizeof line);
    }
    fclose(f);
    return rc;
}

/* node.data_dir/ctl.secret, mode 0600, written anew at each start. */
static int write_ctl_secret(st_apiauth *a, char *err, size_t errlen)
{
    uint8_t r[32];
    if (RAND_bytes(r, sizeof r) != 1) return ST_EIO;
    for (int i = 0; i < 32; i++)
        snprintf(a->ctl_secret + 2 * i, 3, "%02x", r[i]);
    char path[600];
    snprintf(path, sizeof path, "%s/ctl.secret", a->cfg.data_dir);
    mkdir(a->cfg.data_dir, 0755);
    if (st_file_replace(path, a->ctl_secret, 64, 0600) < 0) {
        snprintf(err, errlen, "node.data_dir: cannot write %s: %s", path, strerror(errno));
        return ST_EIO;
    }
    return 0;
}

st_apiauth *st_apiauth_new(const st_apiauth_cfg *cfg, const st_log *log, char *err, size_t errlen)
{
    st_apiauth *a = calloc(1, sizeof *a);
    if (!a || !(a->boot_keys = calloc(MAX_BOOT, sizeof *a->boot_keys))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    a->log = log;
    pthread_mutex_init(&a->mu, NULL);
    a->fails = st_strmap_new();
    unsigned int kl = 0;
    HMAC(EVP_sha256(), cfg->cookie, (int)strlen(cfg->cookie),
         (const unsigned char *)"starling API token", 18, a->token_key, &kl);
    snprintf(a->boot_admin.key, sizeof a->boot_admin.key, "%s", cfg->default_user);
    int rc = make_cred(cfg->default_password, &a->boot_admin.c) < 0 ? ST_EIO : 0;
    if (rc == 0) rc = read_keys(a, err, errlen);
    if (rc == 0) rc = write_ctl_secret(a, err, errlen);
    if (rc == 0) reset(a);
    if (rc < 0 || !a->fails || !a->keys || !a->admins) {
        if (rc == 0) snprintf(err, errlen, "out of memory");
        st_apiauth_free(a);
        return NULL;
    }
    return a;
}

int st_apiauth_attach(st_apiauth *a, struct st_cluster *c)
{
    uint8_t(*vals)[CRED_MAX] = calloc(a->nboot_keys + 1, sizeof *vals);
    st_kv_item *items = calloc(a->nboot_keys + 1, sizeof *items);
    int rc = vals && items ? 0 : ST_ENOMEM;
    for (size_t i = 0; rc == 0 && i < a->nboot_keys; i++)
        items[i] = (st_kv_item){a->boot_keys[i].key, vals[i], strlen(a->boot_keys[i].key),
                                cred_value(&a->boot_keys[i].c, vals[i])};
    /* the file's keys win over the table's (PUT), the default user only fills a gap (ADD) */
    if (rc == 0 && a->nboot_keys)
        rc = st_cluster_seed(c, ST_KV_API_KEYS, ST_V_KV_PUT, items, a->nboot_keys);
    if (rc == 0) {
        items[0] = (st_kv_item){a->boot_admin.key, vals[0], strlen(a->boot_admin.key),
                                cred_value(&a->boot_admin.c, vals[0])};
        rc = st_cluster_seed(c, ST_KV_ADMINS, ST_V_KV_ADD, items, 1);
    }
    a->cluster = c;
    if (rc == 0) rc = st_cluster_mirror(c, ST_KV_API_KEYS, on_rows, a);
    if (rc == 0) rc = st_cluster_mirror(c, ST_KV_ADMINS, on_rows, a);
    free(vals);
    free(items);
    return rc;
}

void st_apiauth_free(st_apiauth *a)
{
    if (!a) return;
    if (a->keys) clear(a->keys);
    if (a->admins) clear(a->admins);
    if (a->fails) clear(a->fails);
    OPENSSL_cleanse(a->boot_keys, MAX_BOOT * sizeof *a->boot_keys);
    free(a->boot_keys);
    pthread_mutex_destroy(&a->mu);
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
}

/* ---- checking ---- */

static void deny(st_http_resp *resp, const char *code, const char *msg)
{
    st_api_error(resp, 401, code, msg);
}

/* Too many failures from peer lately? Then 429. */
static int throttled(st_apiauth *a, const char *peer, st_http_resp *resp)
{
    fails *f = st_strmap_get(a->fails, peer, strlen(peer));
    if (!f || f->n < MAX_FAILS || st_now_ms() - f->since > FAIL_WINDOW_MS) return 0;
    st_api_error(resp, 429, "TOO_MANY_REQUESTS",
                 "too many failed attempts from this address: try again in a minute");
    return 1;
}

static void failed(st_apiauth *a, const char *peer)
{
    int64_t now = st_now_ms();
    fails *f = st_strmap_get(a->fails, peer, strlen(peer));
    if (!f && st_strmap_count(a->fails) < 65536 && (f = calloc(1, sizeof *f)) &&
        st_strmap_put(a->fails, peer, strlen(peer), f) < 0) {
        free(f);
        f = NULL;
    }
    if (!f) return;
    if (now - f->since > FAIL_WINDOW_MS) {
        f->n = 0;
        f->since = now;
    }
    if (++f->n == MAX_FAILS)
        LOG_WARN(a->log, "API: %d failed attempts from %s in a minute: refusing it for a while",
                 MAX_FAILS, peer);
}

static int same(const char *x, const char *y)
{
    size_t n = strlen(x);
    return n == strlen(y) && CRYPTO_memcmp(x, y, n) == 0;
}

/* A credential of m (under the lock) that matches secret, enabled and not expired. */
static int cred_ok(st_strmap *m, const char *key, const char *secret)
{
    const cred *c = st_strmap_get(m, key, strlen(key));
    if (!c || !c->enable || (c->expires_ms && c->expires_ms < st_wall_ms())) return 0;
    return st_pw_check(&SHA, c->salt, c->hash, secret, strlen(secret));
}

static int basic(st_apiauth *a, const char *b64, int loopback)
{
    char plain[600];
    long n = st_b64_decode(b64, strlen(b64), (uint8_t *)plain, sizeof plain - 1);
    if (n <= 0) return 0;
    plain[n] = 0;
    char *colon = strchr(plain, ':');
    if (!colon || memchr(plain, 0, (size_t)n)) return 0;
    *colon = 0;
    int ok;
    if (strcmp(plain, CTL_USER) == 0) {
        ok = a->by_ctl = loopback && same(colon + 1, a->ctl_secret);
    } else {
        pthread_mutex_lock(&a->mu);
        ok = cred_ok(a->keys, plain, colon + 1);
        pthread_mutex_unlock(&a->mu);
    }
    OPENSSL_cleanse(plain, sizeof plain);
    return ok;
}

/* ---- tokens: base64url(header).base64url(claims).base64url(HMAC-SHA256) ---- */

static const char HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static void sign(const st_apiauth *a, const char *msg, size_t n, char *out, size_t cap)
{
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), a->token_key, sizeof a->token_key, (const unsigned char *)msg, n, mac, &ml);
    st_b64url_encode(mac, ml, out, cap);
}

static int make_token(st_apiauth *a, const char *user, char *out, size_t cap)
{
    char claims[512], h[128], c[700], sig[64];
    uint8_t jti[8];
    RAND_bytes(jti, sizeof jti);
    snprintf(claims, sizeof claims,
             "{\"iss\":\"EMQX\",\"exp\":%lld,\"username\":\"%s\",\"jti\":\"%02x%02x%02x%02x%02x%"
             "02x%02x%02x\"}",
             (long long)(st_wall_ms() + a->cfg.token_ttl_ms), user, jti[0], jti[1], jti[2], jti[3],
             jti[4], jti[5], jti[6], jti[7]);
    if (st_b64url_encode(HEADER, strlen(HEADER), h, sizeof h) < 0 ||
        st_b64url_encode(claims, strlen(claims), c, sizeof c) < 0)
        return -1;
    int n = snprintf(out, cap, "%s.%s", h, c);
    if (n < 0 || (size_t)n >= cap) return -1;
    sign(a, out, (size_t)n, sig, sizeof sig);
    return snprintf(out + n, cap - (size_t)n, ".%s", sig) < (int)(cap - (size_t)n) ? 0 : -1;
}

enum { TOKEN_OK, TOKEN_BAD, TOKEN_EXPIRED };

static int check_token(st_apiauth *a, const char *tok, char *who, size_t cap)
{
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    char sig[64], claims[512];
    if (!d2 || strchr(d2 + 1, '.')) return TOKEN_BAD;
    sign(a, tok, (size_t)(d2 - tok), sig, sizeof sig);
    if (!same(sig, d2 + 1)) return TOKEN_BAD;
    for (size_t i = 0; i < a->nrevoked; i++)
        if (strcmp(a->revoked[i], sig) == 0) return TOKEN_BAD;
    long n = st_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (uint8_t *)claims, sizeof claims - 1);
    st_jtok t[16];
    if (n <= 0 || st_json_parse(claims, (size_t)n, t, 16) <= 0) return TOKEN_BAD;
    claims[n] = 0;
    int e = st_json_get(claims, t, 0, "exp"), u = st_json_get(claims, t, 0, "username");
    char user[128];
    if (e < 0 || u < 0 || st_json_str(claims, &t[u], user, sizeof user) < 0) return TOKEN_BAD;
    if (strtoll(claims + t[e].start, NULL, 10) < st_wall_ms()) return TOKEN_EXPIRED;
    pthread_mutex_lock(&a->mu);
    int known = st_strmap_get(a->admins, user, strlen(user)) != NULL; /* not deleted since */
    pthread_mutex_unlock(&a->mu);
    snprintf(who, cap, "%s", user);
    return known ? TOKEN_OK : TOKEN_BAD;
}

int st_apiauth_check(st_apiauth *a, const st_http_req *req, const char *peer, int loopback,
                     st_http_resp *resp)
{
    const char *h = req->authorization;
    a->caller[0] = 0;
    a->by_ctl = 0;
    if (throttled(a, peer, resp)) return -1;
    if (strncasecmp(h, "Basic ", 6) == 0) {
        if (basic(a, h + 6, loopback)) return 0;
        failed(a, peer);
        deny(resp, "BAD_API_KEY_OR_SECRET", "Check api_key/api_secret");
        return -1;
    }
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        int r = check_token(a, h + 7, a->caller, sizeof a->caller);
        if (r == TOKEN_OK) return 0;
        failed(a, peer);
        if (r == TOKEN_EXPIRED)
            deny(resp, "TOKEN_TIME_OUT", "Token expired, get new token by POST /login");
        else
            deny(resp, "BAD_TOKEN", "Get a token by POST /login");
        return -1;
    }
    deny(resp, "AUTHORIZATION_HEADER_ERROR", "Support authorization: basic/bearer ");
    return -1;
}

void st_apiauth_login(st_apiauth *a, const st_http_req *req, const char *peer, const char *version,
                      st_http_resp *resp)
{
    st_jtok t[16];
    char user[128], pw[256], tok[1024];
    if (throttled(a, peer, resp)) return;
    int n = req->body ? st_json_parse(req->body, req->body_len, t, 16) : -1;
    int u = n > 0 ? st_json_get(req->body, t, 0, "username") : -1;
    int p = n > 0 ? st_json_get(req->body, t, 0, "password") : -1;
    if (u < 0 || p < 0 || st_json_str(req->body, &t[u], user, sizeof user) < 0 ||
        st_json_str(req->body, &t[p], pw, sizeof pw) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "username and password are required");
        return;
    }
    pthread_mutex_lock(&a->mu);
    int ok = cred_ok(a->admins, user, pw);
    pthread_mutex_unlock(&a->mu);
    int dflt =
        ok && strcmp(user, a->cfg.default_user) == 0 && strcmp(pw, a->cfg.default_password) == 0;
    OPENSSL_cleanse(pw, sizeof pw);
    if (!ok || strchr(user, '"') || make_token(a, user, tok, sizeof tok) < 0) {
        failed(a, peer);
        deny(resp, "BAD_USERNAME_OR_PWD", "Auth failed");
        return;
    }
    if (dflt) LOG_WARN(a->log, "API: %s logged in with the default password; change it", user);
    sb b = {0};
    sb_printf(&b, "{\"token\":\"%s\",\"version\":\"%s\",\"license\":{\"edition\":\"opensource\"}}",
              tok, version);
    st_api_reply(resp, 200, "application/json", &b);
}

void st_apiauth_logout(st_apiauth *a, const st_http_req *req, st_http_resp *resp)
{
    const char *h = req->authorization;
    const char *dot = strncasecmp(h, "Bearer ", 7) == 0 ? strrchr(h, '.') : NULL;
    if (!dot) {
        deny(resp, "BAD_TOKEN", "Get a token by POST /login");
        return;
    }
    size_t i = a->nrevoked < MAX_REVOKED ? a->nrevoked++ : (size_t)(st_now_ms() % MAX_REVOKED);
    snprintf(a->revoked[i], sizeof a->revoked[i], "%s", dot + 1);
    st_api_reply(resp, 204, "application/json", &(sb){0});
}

int st_apiauth_ctl_header(const char *data_dir, char *out, size_t cap, char *err, size_t errlen)
{
    char path[600], secret[65] = "", plain[100];
    snprintf(path, sizeof path, "%s/ctl.secret", data_dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(secret, 1, 64, f) : 0;
    if (f) fclose(f);
    if (n != 64) {
        snprintf(err, errlen,
                 "cannot read %s (%s): run ctl as the node's user on the node's machine", path,
                 f ? "too short" : strerror(errno));
        return -1;
    }
    snprintf(plain, sizeof plain, "%s:%s", CTL_USER, secret);
    int len = snprintf(out, cap, "Basic ");
    return st_b64_encode(plain, strlen(plain), out + len, cap - (size_t)len) < 0 ? -1 : 0;
}

/* ---- /api/v5/users: the dashboard's users (bearer tokens only, as in EMQX) ---- */

/* EMQX's rule: 8 to 64 ASCII characters of at least two kinds (letters, digits, others). */
static int strong(const char *pw)
{
    size_t n = strlen(pw);
    int kinds[3] = {0};
    for (const char *p = pw; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c > 0x7e) return 0;
        kinds[(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? 0
              : c >= '0' && c <= '9'                           ? 1
                                                               : 2] = 1;
    }
    return n >= 8 && n <= 64 && kinds[0] + kinds[1] + kinds[2] >= 2;
}

static int write_admin(st_apiauth *a, uint16_t verb, const char *user, const char *pw,
                       st_http_resp *resp)
{
    cred c;
    uint8_t val[CRED_MAX];
    if (pw && make_cred(pw, &c) < 0) {
        st_api_error(resp, 500, "INTERNAL_ERROR", "cannot hash the password");
        return -1;
    }
    int rc = st_cluster_kv_write(a->cluster, verb, ST_KV_ADMINS, user, strlen(user),
                                 pw ? val : NULL, pw ? cred_value(&c, val) : 0, 10000);
    OPENSSL_cleanse(&c, sizeof c);
    static const st_api_kv_words words = {409, "ALREADY_EXISTS", "Username already exists",
                                          "USER_NOT_FOUND", "User not found"};
    return st_api_kv_error(resp, rc, &words);
}

static int json_field(const st_http_req *req, const char *name, char *out, size_t cap)
{
    st_jtok t[16];
    int n = req->body ? st_json_parse(req->body, req->body_len, t, 16) : -1;
    int k = n > 0 && t[0].type == ST_J_OBJECT ? st_json_get(req->body, t, 0, name) : -1;
    return k >= 0 && st_json_str(req->body, &t[k], out, cap) >= 0 ? 0 : -1;
}

static int known_admin_locked(st_apiauth *a, const char *user)
{
    return a->admins && st_strmap_get(a->admins, user, strlen(user)) != NULL;
}

static int known_admin(st_apiauth *a, const char *user)
{
    pthread_mutex_lock(&a->mu);
    int known = st_strmap_get(a->admins, user, strlen(user)) != NULL;
    pthread_mutex_unlock(&a->mu);
    return known;
}

static void user_list(st_apiauth *a, st_http_resp *resp)
{
    sb b = {0};
    size_t it = 0, i = 0;
    const char *k;
    size_t kl;
    sb_printf(&b, "[");
    pthread_mutex_lock(&a->mu);
    while (a->admins && st_strmap_next(a->admins, &it, &k, &kl, NULL)) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)kl, k);
        sb_printf(&b, "%s{\"username\":", i++ ? "," : "");
        sb_json_str(&b, name);
        sb_printf(&b, ",\"description\":\"\"}");
    }
    pthread_mutex_unlock(&a->mu);
    sb_printf(&b, "]");
    st_api_reply(resp, 200, "application/json", &b);
}

int st_apiauth_users(st_apiauth *a, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    if (strncmp(p, "/api/v5/users", 13) != 0 || (p[13] && p[13] != '/')) return 0;
    if (!a->caller[0] && !a->by_ctl) { /* ctl: `starling ctl admins` */
        st_api_error(resp, 401, "API_KEY_NOT_ALLOW",
                     "Please use bearer Token instead, using API key/secret in users path is not "
                     "permitted");
        return 1;
    }
    char user[128] = "", pw[128] = "", old[128] = "";
    const char *rest = p[13] ? p + 14 : "";
    const char *slash = strchr(rest, '/');
    size_t ul = slash ? (size_t)(slash - rest) : strlen(rest);
    if (ul >= sizeof user || (ul && st_http_unescape(rest, ul, user, sizeof user) < 0)) {
        st_api_error(resp, 400, "BAD_REQUEST", "bad user name in the path");
        return 1;
    }
    int post = strcmp(req->method, "POST") == 0;
    if (!user[0] && strcmp(req->method, "GET") == 0) {
        user_list(a, resp);
    } else if (!user[0] && post) {
        if (json_field(req, "username", user, sizeof user) < 0 || !user[0] ||
            json_field(req, "password", pw, sizeof pw) < 0)
            st_api_error(resp, 400, "BAD_REQUEST", "username and password are required");
        else if (!strong(pw))
            st_api_error(resp, 400, "BAD_REQUEST",
                         "the password must have 8 to 64 ASCII characters of at least two kinds "
                         "(letters, digits, others)");
        else if (write_admin(a, ST_V_KV_ADD, user, pw, resp) == 0) {
            sb b = {0};
            sb_printf(&b, "{\"username\":");
            sb_json_str(&b, user);
            sb_printf(&b, ",\"description\":\"\"}");
            st_api_reply(resp, 200, "application/json", &b);
        }
    } else if (slash && strcmp(slash, "/change_pwd") == 0 && post) {
        pthread_mutex_lock(&a->mu);
        int known = known_admin_locked(a, user);
        int ok =
            known &&
            (a->by_ctl || /* `ctl admins passwd`: the operator of the machine */
             (json_field(req, "old_pwd", old, sizeof old) == 0 && cred_ok(a->admins, user, old)));
        pthread_mutex_unlock(&a->mu);
        if (!known && a->by_ctl)
            st_api_error(resp, 404, "USER_NOT_FOUND", "User not found");
        else if (!ok)
            st_api_error(resp, 400, "ERROR_PWD_NOT_MATCH", "The old password does not match");
        else if (json_field(req, "new_pwd", pw, sizeof pw) < 0 || !strong(pw))
            st_api_error(resp, 400, "BAD_REQUEST",
                         "new_pwd: 8 to 64 ASCII characters of at least two kinds");
        else if (write_admin(a, ST_V_KV_PUT, user, pw, resp) == 0)
            st_api_reply(resp, 204, "application/json", &(sb){0});
    } else if (!slash && strcmp(req->method, "DELETE") == 0) {
        if (strcmp(user, a->cfg.default_user) == 0 || strcmp(user, a->caller) == 0)
            st_api_error(resp, 400, "NOT_ALLOWED",
                         "The default user and the user logged in cannot be deleted");
        else if (!known_admin(a, user))
            st_api_error(resp, 404, "USER_NOT_FOUND", "User not found");
        else if (write_admin(a, ST_V_KV_DEL, user, NULL, resp) == 0)
            st_api_reply(resp, 204, "application/json", &(sb){0});
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "not served on this path");
    }
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(old, sizeof old);
    return 1;
}

/* ---- /api/v5/api_key: API keys by name (bearer tokens only, as in EMQX) ---- */

static void app_json(sb *b, const char *key, const cred *c, const char *secret)
{
    char at[40], exp[40];
    st_api_rfc3339(c->created_ms, at, sizeof at);
    if (c->expires_ms)
        st_api_rfc3339(c->expires_ms, exp, sizeof exp);
    else
        snprintf(exp, sizeof exp, "infinity");
    sb_printf(b, "{\"name\":");
    sb_json_str(b, c->name);
    sb_printf(b, ",\"api_key\":");
    sb_json_str(b, key);
    if (secret) {
        sb_printf(b, ",\"api_secret\":");
        sb_json_str(b, secret);
    }
    sb_printf(b, ",\"enable\":%s,\"expired_at\":\"%s\",\"created_at\":\"%s\",\"desc\":",
              c->enable ? "true" : "false", exp, at);
    sb_json_str(b, c->desc);
    sb_printf(b, ",\"expired\":%s}",
              c->expires_ms && c->expires_ms < st_wall_ms() ? "true" : "false");
}

/* The key named name: 1 (key and c filled), 0 none. */
static int key_by_name(st_apiauth *a, const char *name, char *key, size_t cap, cred *c)
{
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    int found = 0;
    pthread_mutex_lock(&a->mu);
    while (!found && a->keys && st_strmap_next(a->keys, &it, &k, &kl, &v))
        if (strcmp(((const cred *)v)->name, name) == 0 && kl < cap) {
            memcpy(key, k, kl);
            key[kl] = 0;
            *c = *(const cred *)v;
            found = 1;
        }
    pthread_mutex_unlock(&a->mu);
    return found;
}

static int valid_name(const char *n)
{
    if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z')) || strlen(n) >= 64) return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int write_key(st_apiauth *a, uint16_t verb, const char *key, const cred *c,
                     st_http_resp *resp)
{
    uint8_t val[CRED_MAX];
    int rc = st_cluster_kv_write(a->cluster, verb, ST_KV_API_KEYS, key, strlen(key), c ? val : NULL,
                                 c ? cred_value(c, val) : 0, 10000);
    static const st_api_kv_words words = {400, "BAD_REQUEST", "name already in use", "NOT_FOUND",
                                          "Name NOT FOUND"};
    return st_api_kv_error(resp, rc, &words);
}

/* enable, expired_at, desc of a POST or PUT body into c (those given). 0, or -1 (resp). */
static int app_fields(const st_http_req *req, cred *c, st_http_resp *resp)
{
    st_jtok t[32];
    int n = req->body ? st_json_parse(req->body, req->body_len, t, 32) : -1;
    if (n <= 0 || t[0].type != ST_J_OBJECT) {
        st_api_error(resp, 400, "BAD_REQUEST", "the body must be a JSON object");
        return -1;
    }
    int k = st_json_get(req->body, t, 0, "enable");
    if (k >= 0) c->enable = t[k].type == ST_J_TRUE;
    k = st_json_get(req->body, t, 0, "desc");
    if (k >= 0) st_json_str(req->body, &t[k], c->desc, sizeof c->desc);
    k = st_json_get(req->body, t, 0, "expired_at");
    if (k >= 0) {
        char v[64] = "";
        if (t[k].type == ST_J_NUMBER)
            snprintf(v, sizeof v, "%.*s", (int)(t[k].end - t[k].start), req->body + t[k].start);
        else
            st_json_str(req->body, &t[k], v, sizeof v);
        int64_t ms = st_api_parse_time(v);
        if (ms < 0) {
            st_api_error(resp, 400, "BAD_REQUEST", "expired_at: infinity, RFC 3339 or seconds");
            return -1;
        }
        c->expires_ms = ms;
    }
    return 0;
}

static void key_create(st_apiauth *a, const st_http_req *req, st_http_resp *resp)
{
    cred c, old;
    char name[64] = "", key[40], secret[48];
    uint8_t r[32], md[64];
    memset(&c, 0, sizeof c);
    c.enable = 1;
    if (json_field(req, "name", name, sizeof name) < 0 || !valid_name(name)) {
        st_api_error(resp, 400, "BAD_REQUEST", "name: a letter, then letters, digits, - or _");
        return;
    }
    if (key_by_name(a, name, key, sizeof key, &old)) {
        st_api_error(resp, 400, "BAD_REQUEST", "name already in use");
        return;
    }
    if (app_fields(req, &c, resp) < 0) return;
    unsigned int ml = 0;
    EVP_Digest(name, strlen(name), md, &ml, EVP_sha512(), NULL); /* EMQX's api_key of a name */
    for (int i = 0; i < 8; i++)
        snprintf(key + 2 * i, 3, "%02x", md[i]);
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    RAND_bytes(r, sizeof r);
    for (int i = 0; i < 32; i++)
        secret[i] = b62[r[i] % 62];
    secret[32] = 0;
    snprintf(c.name, sizeof c.name, "%s", name);
    c.created_ms = st_wall_ms();
    if (st_pw_salt_new(&SHA, c.salt, sizeof c.salt) < 0 ||
        st_pw_hash(&SHA, c.salt, secret, 32, c.hash, sizeof c.hash) < 0) {
        st_api_error(resp, 500, "INTERNAL_ERROR", "cannot hash the secret");
        return;
    }
    if (write_key(a, ST_V_KV_ADD, key, &c, resp) < 0) return;
    sb b = {0};
    app_json(&b, key, &c, secret); /* the only time the secret is shown */
    st_api_reply(resp, 200, "application/json", &b);
    OPENSSL_cleanse(secret, sizeof secret);
}

static void key_list(st_apiauth *a, st_http_resp *resp)
{
    sb b = {0};
    size_t it = 0, i = 0;
    const char *k;
    size_t kl;
    void *v;
    sb_printf(&b, "[");
    pthread_mutex_lock(&a->mu);
    while (a->keys && st_strmap_next(a->keys, &it, &k, &kl, &v)) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kl, k);
        if (i++) sb_printf(&b, ",");
        app_json(&b, key, v, NULL);
    }
    pthread_mutex_unlock(&a->mu);
    sb_printf(&b, "]");
    st_api_reply(resp, 200, "application/json", &b);
}

int st_apiauth_keys(st_apiauth *a, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    if (strncmp(p, "/api/v5/api_key", 15) != 0 || (p[15] && p[15] != '/')) return 0;
    if (!a->caller[0]) {
        st_api_error(resp, 401, "API_KEY_NOT_ALLOW",
                     "Please use bearer Token instead, using API key/secret in api_key path is "
                     "not permitted");
        return 1;
    }
    char name[64] = "", key[40];
    cred c;
    if (p[15] && st_http_unescape(p + 16, strlen(p + 16), name, sizeof name) < 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "bad name in the path");
        return 1;
    }
    const char *m = req->method;
    if (!name[0] && strcmp(m, "GET") == 0) {
        key_list(a, resp);
    } else if (!name[0] && strcmp(m, "POST") == 0) {
        key_create(a, req, resp);
    } else if (!name[0] || !key_by_name(a, name, key, sizeof key, &c)) {
        if (name[0])
            st_api_error(resp, 404, "NOT_FOUND", "Name NOT FOUND");
        else
            st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "GET and POST are served here");
    } else if (strcmp(m, "GET") == 0 || (strcmp(m, "PUT") == 0 && app_fields(req, &c, resp) == 0 &&
                                         write_key(a, ST_V_KV_PUT, key, &c, resp) == 0)) {
        sb b = {0};
        app_json(&b, key, &c, NULL);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (strcmp(m, "DELETE") == 0 && write_key(a, ST_V_KV_DEL, key, NULL, resp) == 0) {
        st_api_reply(resp, 204, "application/json", &(sb){0});
    } else if (strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "GET, PUT and DELETE are served here");
    }
    OPENSSL_cleanse(&c, sizeof c);
    return 1;
}
