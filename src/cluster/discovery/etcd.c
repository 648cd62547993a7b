/* etcd.c — etcd discovery (cluster.discovery_strategy = etcd, docs/cluster.md §6), on
 * etcd's v3 JSON gateway (Debian's etcd 3.4 has the v2 API off). Each node holds a lease of
 * cluster.etcd.node_ttl and keeps the key <prefix>/<cluster.name>/nodes/<node.name> on it
 * (EMQX's layout); a round keeps the lease alive when it is due (a lease that is gone is
 * granted again and the key put again), lists the keys under .../nodes/ and puts ours back
 * if someone removed it. At stop the key is deleted and the lease revoked. Keys and values
 * travel as base64; etcd is only a list here, never a lock (Jepsen, etcd 3.4.3). These
 * functions run on the thread pool and touch nothing but their job (web.h). */
#include "cluster/discovery/web.h"
#include "core/base64.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR_MAX 300 /* <prefix>/<cluster.name>/nodes/ */
#define KEY_MAX 600 /* DIR_MAX + a node name */

/* POST body to base+path; 0 with the answer in h (free it), or <0 with j->err told. */
static int post(st_dw_job *j, const char *base, const char *path, const char *body, st_dw_http *h)
{
    char url[400], e[300];
    snprintf(url, sizeof url, "%s%s", base, path);
    memset(h, 0, sizeof *h);
    h->url = url;
    h->body = body;
    h->timeout_ms = j->bye ? ST_DW_BYE_TIMEOUT_MS : ST_DW_TIMEOUT_MS;
    int rc = st_dw_http_do(h, e, sizeof e);
    h->url = NULL;
    if (rc < 0) {
        st_dw_err(j, "%s: %s", url, e);
        st_dw_http_free(h);
    }
    return rc;
}

/* An int64 member that the gateway writes as a string ("7587...") or a number; 0 if none. */
static int64_t int_member(const st_dw_http *h, int obj, const char *name)
{
    int v = obj < 0 ? -1 : st_json_get(h->resp, h->tok, (uint32_t)obj, name);
    if (v < 0 || (h->tok[v].type != ST_J_STRING && h->tok[v].type != ST_J_NUMBER)) return 0;
    char num[24];
    size_t n = h->tok[v].end - h->tok[v].start;
    if (n == 0 || n >= sizeof num) return 0;
    memcpy(num, h->resp + h->tok[v].start, n);
    num[n] = '\0';
    char *end;
    long long x = strtoll(num, &end, 10);
    return *end ? 0 : (int64_t)x;
}

static void b64(const char *s, char *out, size_t cap)
{
    if (st_b64_encode(s, strlen(s), out, cap) < 0) out[0] = '\0'; /* sized to fit: not reached */
}

static int grant(st_dw_job *j, const char *base)
{
    char body[64];
    st_dw_http h;
    snprintf(body, sizeof body, "{\"TTL\":%lld}", (long long)((j->cfg->etcd_ttl_ms + 999) / 1000));
    if (post(j, base, "/v3/lease/grant", body, &h) < 0) return ST_EIO;
    j->lease = int_member(&h, 0, "ID");
    st_dw_http_free(&h);
    if (j->lease <= 0) {
        j->lease = 0;
        st_dw_err(j, "%s/v3/lease/grant: no lease ID in the answer", base);
        return ST_EMALFORMED;
    }
    j->refreshed = 1;
    return 0;
}

/* 1: the lease is alive (kept), 0: it is gone, <0: no answer. */
static int keepalive(st_dw_job *j, const char *base)
{
    char body[64];
    st_dw_http h;
    snprintf(body, sizeof body, "{\"ID\":\"%lld\"}", (long long)j->lease);
    if (post(j, base, "/v3/lease/keepalive", body, &h) < 0) return ST_EIO;
    int r = st_json_get(h.resp, h.tok, 0, "result");
    int alive = r >= 0 && h.tok[r].type == ST_J_OBJECT && int_member(&h, r, "TTL") > 0;
    st_dw_http_free(&h);
    if (alive) j->refreshed = 1;
    return alive;
}

static int put(st_dw_job *j, const char *base, const char *key)
{
    char k64[ST_B64_LEN(KEY_MAX) + 1], v64[ST_B64_LEN(256) + 1], body[sizeof k64 + sizeof v64 + 64];
    st_dw_http h;
    b64(key, k64, sizeof k64);
    b64(j->cfg->node_name, v64, sizeof v64);
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\"}", k64, v64,
             (long long)j->lease);
    if (post(j, base, "/v3/kv/put", body, &h) < 0) {
        j->lease = 0; /* perhaps gone: the next round starts with a new one */
        return ST_EIO;
    }
    st_dw_http_free(&h);
    return 0;
}

int st_etcd_names(st_dw_job *j, const char *s, const st_jtok *t, const char *dir)
{
    j->n = 0;
    int kvs = st_json_get(s, t, 0, "kvs");
    if (kvs < 0) return 0; /* no key at all: the gateway leaves the member out */
    if (t[kvs].type != ST_J_ARRAY) return ST_EMALFORMED;
    size_t dl = strlen(dir);
    for (uint32_t i = 0; i < t[kvs].size; i++) {
        int kv = st_json_at(t, (uint32_t)kvs, i);
        int k = t[kv].type == ST_J_OBJECT ? st_json_get(s, t, (uint32_t)kv, "key") : -1;
        if (k < 0 || t[k].type != ST_J_STRING) return ST_EMALFORMED;
        char k64[ST_B64_LEN(KEY_MAX) + 1];
        uint8_t key[KEY_MAX + 1];
        long n = st_json_str(s, &t[k], k64, sizeof k64) < 0
                     ? ST_EFULL
                     : st_b64_decode(k64, strlen(k64), key, KEY_MAX);
        key[n < 0 ? 0 : n] = '\0';
        const char *name = (const char *)key + dl;
        if (n <= (long)dl || memcmp(key, dir, dl) != 0 || strlen(name) != (size_t)n - dl ||
            !st_dw_node_name_ok(name)) {
            for (uint8_t *p = key; *p; p++) /* shown in the log: one printable line */
                if (*p < 0x20 || *p > 0x7e) *p = '?';
            st_dw_err(j, "ignored key \"%.80s\": not %s<node name>", key, dir);
            continue;
        }
        if (j->n == ST_DW_MAX_NAMES) {
            st_dw_err(j, "over %d nodes listed: the others are ignored", ST_DW_MAX_NAMES);
            break;
        }
        snprintf(j->names[j->n++], sizeof j->names[0], "%s", name);
    }
    return 0;
}

/* The keys under dir ("range_end" = dir with its last byte + 1: every key it prefixes). */
static int range(st_dw_job *j, const char *base, const char *dir)
{
    char end[DIR_MAX], d64[ST_B64_LEN(DIR_MAX) + 1], e64[sizeof d64];
    char body[2 * sizeof d64 + 64];
    st_dw_http h;
    snprintf(end, sizeof end, "%s", dir);
    end[strlen(end) - 1]++;
    b64(dir, d64, sizeof d64);
    b64(end, e64, sizeof e64);
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"range_end\":\"%s\",\"keys_only\":true}", d64,
             e64);
    if (post(j, base, "/v3/kv/range", body, &h) < 0) return ST_EIO;
    int rc = st_etcd_names(j, h.resp, h.tok, dir);
    st_dw_http_free(&h);
    if (rc < 0) st_dw_err(j, "%s/v3/kv/range: an answer without a kvs list", base);
    j->listed = rc == 0;
    return rc;
}

static int listed_self(const st_dw_job *j)
{
    for (int i = 0; i < j->n; i++)
        if (strcmp(j->names[i], j->cfg->node_name) == 0) return 1;
    return 0;
}

static int round_on(st_dw_job *j, const char *base, const char *key, const char *dir)
{
    if (j->lease && j->keepalive) {
        int alive = keepalive(j, base);
        if (alive < 0) return alive;
        if (!alive) {
            st_dw_err(j, "lease %lld had expired: registering again", (long long)j->lease);
            j->lease = 0;
        }
    }
    if (!j->lease && (grant(j, base) < 0 || put(j, base, key) < 0)) return ST_EIO;
    if (range(j, base, dir) < 0) return ST_EIO;
    if (!listed_self(j)) { /* our key was deleted by someone else: put it back */
        if (put(j, base, key) < 0) return ST_EIO;
        if (j->n < ST_DW_MAX_NAMES)
            snprintf(j->names[j->n++], sizeof j->names[0], "%s", j->cfg->node_name);
    }
    return 0;
}

/* At stop: our key goes at once (as EMQX unregisters a node that leaves), and the lease. */
static int bye_on(st_dw_job *j, const char *base, const char *key)
{
    char k64[ST_B64_LEN(KEY_MAX) + 1], body[sizeof k64 + 64];
    st_dw_http h;
    b64(key, k64, sizeof k64);
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", k64);
    if (post(j, base, "/v3/kv/deleterange", body, &h) < 0) return ST_EIO;
    st_dw_http_free(&h);
    snprintf(body, sizeof body, "{\"ID\":\"%lld\"}", (long long)j->lease);
    if (post(j, base, "/v3/lease/revoke", body, &h) == 0) st_dw_http_free(&h);
    return 0; /* the key is gone; a lease left behind expires by itself */
}

void st_etcd_round(st_dw_job *j)
{
    const st_disc_cfg *cfg = j->cfg;
    char dir[DIR_MAX], key[KEY_MAX];
    snprintf(dir, sizeof dir, "%s/%s/nodes/", cfg->etcd_prefix, cfg->cluster_name);
    snprintf(key, sizeof key, "%s%s", dir, cfg->node_name);
    unsigned n = (unsigned)cfg->netcd_servers;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (j->server + k) % n;
        int rc = j->bye ? bye_on(j, cfg->etcd_servers[i], key)
                        : round_on(j, cfg->etcd_servers[i], key, dir);
        if (rc == 0) {
            j->server = i;
            j->ok = 1;
            return;
        }
        j->listed = 0;
    }
}
