/* disc_web.c — runs etcd and k8s discovery for the cluster thread (disc_web.h). One round at
 * a time goes to libuv's thread pool (uv_queue_work): it may block on the network for up to
 * its timeout, the cluster thread never does. The after-work callback, on the cluster
 * thread, applies what came back exactly as disc.c applies a DNS answer (peers to dial, the
 * list for the bootstrap decision) and schedules the next round: every second while the
 * node decides whether to form or join a cluster, then every 5 s (and, for etcd, whenever
 * the lease is due a keepalive, a third of cluster.etcd.node_ttl). Problems are logged as
 * warnings, the same one at most once a minute. At stop etcd's key is deleted before the
 * loop ends (the loop runs until the pool work is done). Also the keys' loading. */
#include "cluster/disc_web.h"
#include "core/err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERY_MS 5000
#define DECIDING_EVERY_MS 1000

typedef struct st_dw st_dw;
struct st_dw {
    st_dw_job job; /* the round in the pool (busy), or the last one */
    int etcd;      /* else k8s */
    const char *what;
    int busy, closing;
    int64_t next;    /* the next round */
    int64_t refresh; /* etcd: when the lease is due a keepalive */
    int64_t lease;   /* etcd: ours, 0 for none */
    unsigned server; /* etcd: the one that answered last */
    int64_t warned;  /* the last warning (once a minute for the same one) */
    char last_err[ST_DW_ERR_MAX];
};

static void on_work(uv_work_t *w)
{
    st_dw_job *j = (st_dw_job *)((char *)w - offsetof(st_dw_job, work));
    if (j->cfg->strategy == ST_DISC_ETCD)
        st_etcd_round(j);
    else
        st_k8s_round(j);
}

static void after_work(uv_work_t *w, int status);

static void launch(st_cluster *c, st_dw *dw, int bye)
{
    st_dw_job *j = &dw->job;
    memset(j, 0, sizeof *j);
    j->work.data = c;
    j->cfg = &c->cfg;
    j->bye = bye;
    j->lease = dw->lease;
    j->server = dw->server;
    j->keepalive = dw->lease && st_cl_now(c) >= dw->refresh;
    if (uv_queue_work(&c->loop, &j->work, on_work, after_work) == 0)
        dw->busy = 1;
    else
        dw->next = st_cl_now(c) + EVERY_MS;
}

/* The same problem, whatever the figures in it ("after 1 ms", a lease ID)? */
static int same_problem(const char *a, const char *b)
{
    for (;; a++, b++) {
        while (isdigit((unsigned char)*a))
            a++;
        while (isdigit((unsigned char)*b))
            b++;
        if (*a != *b) return 0;
        if (!*a) return 1;
    }
}

/* A warning for a new problem, or for the same one a minute later; a note when it is over. */
static void report(st_cluster *c, st_dw *dw, int64_t now)
{
    const char *e = dw->job.err;
    if (*e && (!same_problem(e, dw->last_err) || now - dw->warned >= ST_CL_REFUSE_LOG_MS)) {
        LOG_WARN(c->log, "cluster: %s discovery: %s", dw->what, e);
        dw->warned = now;
        snprintf(dw->last_err, sizeof dw->last_err, "%s", e);
    } else if (!*e && *dw->last_err) {
        LOG_INFO(c->log, "cluster: %s discovery works again", dw->what);
        dw->last_err[0] = '\0';
    }
}

/* The names as a DNS answer's: all of them for the bootstrap decision, the others dialled. */
static void use_names(st_cluster *c, st_dw *dw)
{
    const st_dw_job *j = &dw->job;
    c->ndisc = 0;
    for (int i = 0; i < j->n && c->ndisc < (int)(sizeof c->disc / sizeof c->disc[0]); i++) {
        memcpy(c->disc[c->ndisc++], j->names[i], sizeof c->disc[0]);
        if (strcmp(j->names[i], c->cfg.node_name) != 0 && !st_peer_get(c, j->names[i], 0)) {
            LOG_INFO(c->log, "cluster: discovered %s (%s)", j->names[i], dw->what);
            st_peer_get(c, j->names[i], 1);
        }
    }
    c->disc_answered = 1;
}

static void apply(st_cluster *c, st_dw *dw)
{
    int64_t now = st_cl_now(c);
    const st_dw_job *j = &dw->job;
    if (dw->etcd && j->refreshed) {
        if (j->lease != dw->lease) /* a new lease: the key was put with it */
            LOG_INFO(c->log, "cluster: registered in etcd as %s/%s/nodes/%s (lease %lld)",
                     c->cfg.etcd_prefix, c->cfg.cluster_name, c->cfg.node_name,
                     (long long)j->lease);
        dw->refresh = now + c->cfg.etcd_ttl_ms / 3;
    }
    if (dw->etcd) {
        dw->lease = j->lease;
        dw->server = j->server;
    }
    report(c, dw, now);
    if (j->listed) use_names(c, dw);
    dw->next = now + (c->deciding ? DECIDING_EVERY_MS : EVERY_MS);
    if (dw->lease && dw->refresh < dw->next) dw->next = dw->refresh;
}

static void finish(st_cluster *c, st_dw *dw)
{
    free(dw);
    c->dw = NULL;
}

/* Closing: etcd's key goes first (one more round in the pool), then our state. */
static void wind_down(st_cluster *c, st_dw *dw)
{
    if (dw->etcd && dw->lease) {
        launch(c, dw, 1);
        if (dw->busy) return;
    }
    finish(c, dw);
}

static void after_work(uv_work_t *w, int status)
{
    st_cluster *c = w->data;
    st_dw *dw = c->dw;
    dw->busy = 0;
    (void)status; /* never cancelled */
    if (dw->job.bye) {
        if (dw->job.ok)
            LOG_INFO(c->log, "cluster: removed %s from etcd", c->cfg.node_name);
        else
            LOG_WARN(c->log,
                     "cluster: could not remove %s from etcd (it goes when its lease "
                     "expires): %s",
                     c->cfg.node_name, dw->job.err);
        finish(c, dw);
    } else if (dw->closing) {
        if (dw->etcd) dw->lease = dw->job.lease;
        wind_down(c, dw);
    } else {
        apply(c, dw);
    }
}

int st_dw_start(st_cluster *c, char *err, size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cluster: cannot initialize libcurl");
        return ST_ESYS;
    }
    st_dw *dw = calloc(1, sizeof *dw);
    if (!dw) {
        snprintf(err, errlen, "cluster: out of memory");
        return ST_ENOMEM;
    }
    dw->etcd = c->cfg.strategy == ST_DISC_ETCD;
    dw->what = dw->etcd ? "etcd" : "k8s";
    c->dw = dw; /* the first round goes at the first tick, on the cluster thread */
    return 0;
}

void st_dw_tick(st_cluster *c, int64_t now)
{
    st_dw *dw = c->dw;
    if (!dw || dw->busy || dw->closing || c->stopping || now < dw->next) return;
    launch(c, dw, 0);
}

void st_dw_close(st_cluster *c)
{
    st_dw *dw = c->dw;
    if (!dw || dw->closing) return;
    dw->closing = 1;
    if (!dw->busy) wind_down(c, dw);
}

/* ---- cluster.etcd.* and cluster.k8s.* ------------------------------------------------- */

/* http(s)://<something>, printable, no spaces or quotes; copied without a trailing '/'. */
static int url(char *dst, size_t cap, const char *s, const char *key, char *err, size_t errlen)
{
    size_t n = strlen(s);
    int scheme = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;
    int ok = scheme && n > (size_t)scheme && n < cap && s[scheme] != '/';
    for (size_t i = 0; ok && i < n; i++)
        ok = isgraph((unsigned char)s[i]) && s[i] != '"' && s[i] != '\\';
    if (!ok) {
        snprintf(err, errlen, "%s: \"%.100s\" is not a URL (http://host:port or https://...)", key,
                 s);
        return ST_ECONFIG;
    }
    while (n > (size_t)scheme + 1 && s[n - 1] == '/')
        n--;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* A Kubernetes name or DNS suffix: letters, digits, '-', '.' (it goes in the URL path). */
static int dns_name(char *dst, size_t cap, const char *s, int may_be_empty, const char *key,
                    char *err, size_t errlen)
{
    size_t n = strlen(s);
    int ok = n < cap && (n || may_be_empty);
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.';
    if (!ok) {
        snprintf(err, errlen, "%s: \"%.100s\" is not a name (letters, digits, '-', '.'%s)", key, s,
                 n >= cap ? ", shorter" : "");
        return ST_ECONFIG;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

static int load_etcd(st_cluster_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    size_t n = st_config_array_len(c, "cluster.etcd.server");
    if (n == 0 || n > 8) {
        snprintf(err, errlen, "cluster.etcd.server: %s",
                 n ? "at most 8 servers"
                   : "discovery_strategy = etcd needs at least one (\"http://127.0.0.1:2379\")");
        return ST_ECONFIG;
    }
    for (size_t i = 0; i < n; i++)
        if (url(cfg->etcd_servers[i], sizeof cfg->etcd_servers[0],
                st_config_array_str(c, "cluster.etcd.server", i), "cluster.etcd.server", err,
                errlen) < 0)
            return ST_ECONFIG;
    cfg->netcd_servers = n;
    const char *p = st_config_str(c, "cluster.etcd.prefix");
    if (!*p || strlen(p) >= sizeof cfg->etcd_prefix) {
        snprintf(err, errlen, "cluster.etcd.prefix: %s", *p ? "too long" : "empty");
        return ST_ECONFIG;
    }
    memcpy(cfg->etcd_prefix, p, strlen(p) + 1);
    cfg->etcd_ttl_ms = st_config_int(c, "cluster.etcd.node_ttl");
    return 0;
}

static int load_k8s(st_cluster_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    const char *type = st_config_str(c, "cluster.k8s.address_type");
    cfg->k8s_addr = strcmp(type, "dns") == 0        ? ST_K8S_DNS
                    : strcmp(type, "hostname") == 0 ? ST_K8S_HOSTNAME
                                                    : ST_K8S_IP;
    if (url(cfg->k8s_apiserver, sizeof cfg->k8s_apiserver,
            st_config_str(c, "cluster.k8s.apiserver"), "cluster.k8s.apiserver", err, errlen) < 0 ||
        dns_name(cfg->k8s_service, sizeof cfg->k8s_service,
                 st_config_str(c, "cluster.k8s.service_name"), 0, "cluster.k8s.service_name", err,
                 errlen) < 0 ||
        dns_name(cfg->k8s_namespace, sizeof cfg->k8s_namespace,
                 st_config_str(c, "cluster.k8s.namespace"), 0, "cluster.k8s.namespace", err,
                 errlen) < 0 ||
        dns_name(cfg->k8s_suffix, sizeof cfg->k8s_suffix, st_config_str(c, "cluster.k8s.suffix"),
                 cfg->k8s_addr == ST_K8S_IP, "cluster.k8s.suffix", err, errlen) < 0)
        return ST_ECONFIG;
    return 0;
}

int st_dw_cfg_load(st_cluster_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    if (cfg->strategy == ST_DISC_ETCD) return load_etcd(cfg, c, err, errlen);
    if (cfg->strategy == ST_DISC_K8S) return load_k8s(cfg, c, err, errlen);
    return 0;
}
