/* cfg.c — the cluster's configuration (cluster.*, node.name, node.cookie, node.role): read
 * and checked once at start into st_cluster_cfg, whose discovery part (st_disc_cfg) goes to
 * the discovery part as it is. */
#include "broker/settings.h"
#include "cluster/cluster.h"
#include "core/err.h"
#include "cwire/cwire.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int strategy_of(const char *s)
{
    static const char *const names[] = {"manual", "static", "dns", "etcd", "k8s"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return ST_DISC_MANUAL;
}

static int copy(char *dst, size_t cap, const char *src, const char *key, char *err, size_t errlen)
{
    if (strlen(src) >= cap) {
        snprintf(err, errlen, "%s: too long (at most %zu bytes)", key, cap - 1);
        return ST_ECONFIG;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* IPv6 without brackets. */
int st_cluster_valid_name(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1]) return 0;
    for (const char *p = s; p < at; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p)) return 0;
    for (const char *p = at + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-.:", *p)) return 0;
    return 1;
}

static int load_dns(st_disc_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    const char *type = st_config_str(c, "cluster.dns.record_type");
    cfg->dns_aaaa = strcmp(type, "aaaa") == 0;
    cfg->dns_srv = strcmp(type, "srv") == 0;
    if (copy(cfg->dns_name, sizeof cfg->dns_name, st_config_str(c, "cluster.dns.name"),
             "cluster.dns.name", err, errlen) < 0)
        return ST_ECONFIG;
    size_t n = st_config_array_len(c, "cluster.dns.servers");
    if (n > 8) {
        snprintf(err, errlen, "cluster.dns.servers: at most 8 servers");
        return ST_ECONFIG;
    }
    for (size_t i = 0; i < n; i++)
        if (copy(cfg->dns_servers[i], sizeof cfg->dns_servers[0],
                 st_config_array_str(c, "cluster.dns.servers", i), "cluster.dns.servers", err,
                 errlen) < 0)
            return ST_ECONFIG;
    cfg->ndns_servers = n;
    return 0;
}

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

static int load_etcd(st_disc_cfg *cfg, const st_config *c, char *err, size_t errlen)
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

static int load_k8s(st_disc_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    const char *app = st_config_str(c, "cluster.k8s.app_name");
    const char *at = strchr(cfg->node_name, '@');
    if (*app && (strlen(app) != (size_t)(at - cfg->node_name) ||
                 strncmp(app, cfg->node_name, strlen(app)) != 0)) {
        snprintf(err, errlen,
                 "cluster.k8s.app_name: \"%.100s\" is not the name part of node.name (%s): the "
                 "nodes are named <app_name>@<address>, so set node.name = %.100s@<address>",
                 app, cfg->node_name, app);
        return ST_ECONFIG;
    }
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

static int load_web(st_disc_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    if (cfg->strategy == ST_DISC_ETCD) return load_etcd(cfg, c, err, errlen);
    if (cfg->strategy == ST_DISC_K8S) return load_k8s(cfg, c, err, errlen);
    return 0;
}

/* cluster.proto_dist and cluster.ssl_options (the files are read when the links start). */
static int load_tls(st_cluster_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    cfg->tls = strstr(st_config_str(c, "cluster.proto_dist"), "_tls") != NULL;
    if (!cfg->tls) return 0;
    char bad[32];
    st_settings_tls_common(&cfg->tls_opts, bad, sizeof bad, c, "cluster");
    if (bad[0]) {
        snprintf(err, errlen,
                 "cluster.ssl_options.versions: \"%s\" is not offered (tlsv1.3, tlsv1.2)", bad);
        return ST_ECONFIG;
    }
    const char *missing = !cfg->tls_opts.certfile[0]     ? "certfile"
                          : !cfg->tls_opts.keyfile[0]    ? "keyfile"
                          : !cfg->tls_opts.cacertfile[0] ? "cacertfile"
                                                         : NULL;
    if (missing) {
        snprintf(err, errlen, "cluster.ssl_options.%s is required with cluster.proto_dist = %s",
                 missing, st_config_str(c, "cluster.proto_dist"));
        return ST_ECONFIG;
    }
    return 0;
}

/* "70%": 70 (a percentage, 0 to 100, decimals allowed: "0.5%" is 0.5), else -1. */
static double percent(const char *v)
{
    char *end;
    double p = strtod(v, &end);
    return end != v && strcmp(end, "%") == 0 && p >= 0 && p <= 100 ? p : -1;
}

static int load_sysmon(st_health_cfg *h, const st_config *c, char *err, size_t errlen)
{
    static const char *const keys[] = {"sysmon.os.sysmem_high_watermark",
                                       "sysmon.os.procmem_high_watermark",
                                       "sysmon.os.fd_high_watermark"};
    double *out[] = {&h->sysmem_pct, &h->procmem_pct, &h->fd_pct};
    for (int i = 0; i < 3; i++) {
        const char *v = st_config_str(c, keys[i]);
        *out[i] = percent(v);
        if (*out[i] < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not a percentage (\"0%%\" to \"100%%\")", keys[i],
                     v);
            return -1;
        }
    }
    h->check_ms = st_config_int(c, "sysmon.os.mem_check_interval");
    return 0;
}

int st_cluster_cfg_load(st_cluster_cfg *cfg, const st_config *c, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (copy(cfg->node_name, sizeof cfg->node_name, st_config_str(c, "node.name"), "node.name", err,
             errlen) < 0 ||
        copy(cfg->cookie, sizeof cfg->cookie, st_config_str(c, "node.cookie"), "node.cookie", err,
             errlen) < 0 ||
        copy(cfg->cluster_name, sizeof cfg->cluster_name, st_config_str(c, "cluster.name"),
             "cluster.name", err, errlen) < 0 ||
        copy(cfg->listen, sizeof cfg->listen, st_config_str(c, "cluster.listen"), "cluster.listen",
             err, errlen) < 0 ||
        copy(cfg->data_dir, sizeof cfg->data_dir, st_config_str(c, "node.data_dir"),
             "node.data_dir", err, errlen) < 0)
        return ST_ECONFIG;
    cfg->role =
        strcmp(st_config_str(c, "node.role"), "replicant") == 0 ? CW_ROLE_REPLICANT : CW_ROLE_CORE;
    cfg->strategy = strategy_of(st_config_str(c, "cluster.discovery_strategy"));
    st_disc_cfg *d = &cfg->disc;
    d->strategy = cfg->strategy;
    memcpy(d->node_name, cfg->node_name, sizeof d->node_name);
    memcpy(d->cluster_name, cfg->cluster_name, sizeof d->cluster_name);
    if (d->strategy == ST_DISC_DNS && load_dns(d, c, err, errlen) < 0) return ST_ECONFIG;
    if (load_web(d, c, err, errlen) < 0) return ST_ECONFIG; /* etcd, k8s */
    if (load_tls(cfg, c, err, errlen) < 0) return ST_ECONFIG;
    cfg->link_timeout_ms = st_config_int(c, "cluster.link_timeout");
    cfg->shared_session = (int)st_config_int(c, "persistence.shared_client_session");
    cfg->replicas = (int)st_config_int(c, "persistence.replicas");
    cfg->store_max_bytes = (uint64_t)st_config_int(c, "persistence.max_size");
    cfg->raft.election_ms = (unsigned)st_config_int(c, "cluster.raft.election_timeout");
    cfg->raft.heartbeat_ms = (unsigned)st_config_int(c, "cluster.raft.heartbeat_timeout");
    cfg->raft.snapshot_threshold = (unsigned)st_config_int(c, "cluster.raft.snapshot_threshold");
    cfg->raft.snapshot_trailing = (unsigned)st_config_int(c, "cluster.raft.snapshot_trailing");
    if (cfg->raft.heartbeat_ms >= cfg->raft.election_ms) {
        snprintf(err, errlen,
                 "cluster.raft.heartbeat_timeout (%u ms) must be below "
                 "cluster.raft.election_timeout (%u ms)",
                 cfg->raft.heartbeat_ms, cfg->raft.election_ms);
        return ST_ECONFIG;
    }
    if (load_sysmon(&cfg->health, c, err, errlen) < 0) return ST_ECONFIG;
    cfg->node_down_timeout_ms = st_config_int(c, "cluster.node_down_timeout");
    cfg->tombstone_ttl_ms = st_config_int(c, "cluster.retained_tombstone_ttl");
    cfg->evacuation_timeout_ms = st_config_int(c, "cluster.evacuation_timeout");
    cfg->forward_ack = st_config_bool(c, "cluster.forward_ack");
    cfg->forward_ack_timeout_ms = st_config_int(c, "cluster.forward_ack_timeout");
    cfg->forward_buffer_high = st_config_int(c, "cluster.forward_buffer_high");
    size_t n = st_config_array_len(c, "cluster.static.seeds");
    if (n > ST_CLUSTER_MAX_SEEDS) {
        snprintf(err, errlen, "cluster.static.seeds: at most %d seeds", ST_CLUSTER_MAX_SEEDS);
        return ST_ECONFIG;
    }
    for (size_t i = 0; cfg->strategy == ST_DISC_STATIC && i < n; i++) {
        const char *s = st_config_array_str(c, "cluster.static.seeds", i);
        if (!st_cluster_valid_name(s)) {
            snprintf(err, errlen, "cluster.static.seeds: \"%.100s\" is not a node name (name@host)",
                     s);
            return ST_ECONFIG;
        }
        if (copy(cfg->seeds[cfg->nseeds], sizeof cfg->seeds[0], s, "cluster.static.seeds", err,
                 errlen) < 0)
            return ST_ECONFIG;
        cfg->nseeds++;
    }
    return 0;
}
