/* discovery.c — discovery by DNS (cluster.discovery_strategy = dns, docs/cluster.md §6), and
 * the part's face (discovery.h): every few seconds the configured servers (or
 * /etc/resolv.conf's) are asked for the A or AAAA records of cluster.dns.name; each address
 * becomes a node name, <this node's name part>@<address>. With SRV records each target host
 * becomes <name part>@<target> (the port is ignored: every node listens on the cluster port,
 * as with ekka); the targets' addresses come from the answer's additional records
 * (st_discovery_addr), else the system resolver is asked when dialling. etcd and k8s rounds
 * run in web.c, which hands back its names the same way. */
#include "cluster/discovery/discovery.h"
#include "cluster/discovery/web.h"
#include "core/err.h"
#include "net/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DISC_EVERY_MS 5000
#define MAX_SERVERS 8

struct st_discovery {
    st_disc_cfg cfg;
    uv_loop_t *loop;
    const st_log *log;
    uint64_t seed;
    st_disc_found_fn found;
    void *ctx;
    st_dw *dw; /* etcd or k8s (web.h), or NULL */
    int closed;
    /* dns */
    uv_udp_t udp;
    char buf[4096];
    int open;
    uint16_t id;
    int64_t next;
    int nnames;
    char names[ST_DISC_MAX_NAMES][256];
    int nhosts; /* SRV targets' addresses from the answers' additional records */
    char host_name[32][256], host_ip[32][64];
};

/* Servers as sockaddrs: the configured ones, else the nameservers of /etc/resolv.conf. */
static int servers(const st_discovery *d, struct sockaddr_in6 *out)
{
    char list[MAX_SERVERS][64];
    int n = 0;
    for (size_t i = 0; i < d->cfg.ndns_servers && n < MAX_SERVERS; i++)
        snprintf(list[n++], sizeof list[0], "%.63s", d->cfg.dns_servers[i]);
    FILE *f = n ? NULL : fopen("/etc/resolv.conf", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f) && n < MAX_SERVERS)
        if (sscanf(line, "nameserver %63s", list[n]) == 1) n++;
    if (f) fclose(f);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char host[64];
        int port = 53;
        const char *colon = strrchr(list[i], ':');
        if (colon && strchr(list[i], ':') == colon) { /* ip:port (one colon: not IPv6) */
            snprintf(host, sizeof host, "%.*s", (int)(colon - list[i]), list[i]);
            port = atoi(colon + 1);
        } else {
            snprintf(host, sizeof host, "%.63s", list[i]);
        }
        memset(&out[k], 0, sizeof out[k]);
        struct sockaddr_in *v4 = (struct sockaddr_in *)&out[k];
        if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons((uint16_t)port);
            k++;
        } else if (inet_pton(AF_INET6, host, &out[k].sin6_addr) == 1) {
            out[k].sin6_family = AF_INET6;
            out[k].sin6_port = htons((uint16_t)port);
            k++;
        }
    }
    return k;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    st_discovery *d = h->data; /* one datagram at a time, on the cluster thread */
    (void)suggested;
    buf->base = d->buf;
    buf->len = sizeof d->buf;
}

static uint16_t qtype(const st_discovery *d)
{
    return d->cfg.dns_srv ? ST_DNS_SRV : d->cfg.dns_aaaa ? ST_DNS_AAAA : ST_DNS_A;
}

/* One node found: host (an address, or an SRV target) with our name part. */
static void add_name(st_discovery *d, const char *host)
{
    const char *at = strchr(d->cfg.node_name, '@');
    char name[256];
    snprintf(name, sizeof name, "%.*s@%s", (int)(at - d->cfg.node_name), d->cfg.node_name, host);
    if (d->nnames < ST_DISC_MAX_NAMES) memcpy(d->names[d->nnames++], name, sizeof name);
}

static void remember_host(st_discovery *d, const st_dns_rr *r)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(r->type == ST_DNS_A ? AF_INET : AF_INET6, r->addr, ip, sizeof ip);
    int i = 0;
    while (i < d->nhosts && strcmp(d->host_name[i], r->name) != 0)
        i++;
    if (i == 32) return;
    if (i == d->nhosts) d->nhosts++;
    snprintf(d->host_name[i], sizeof d->host_name[i], "%s", r->name);
    snprintf(d->host_ip[i], sizeof d->host_ip[i], "%s", ip);
}

const char *st_discovery_addr(const st_discovery *d, const char *host)
{
    for (int i = 0; i < d->nhosts; i++)
        if (strcasecmp(d->host_name[i], host) == 0) return d->host_ip[i];
    return host;
}

static void on_answer(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                      unsigned flags)
{
    st_discovery *d = u->data;
    (void)from;
    (void)flags;
    if (n <= 0) return;
    st_dns_rr rr[32];
    int k = st_dns_records((const uint8_t *)buf->base, (size_t)n, d->id, rr, 32);
    if (k < 0) {
        LOG_DEBUG(d->log, "cluster: DNS answer for %s: %s", d->cfg.dns_name, st_strerror(k));
        return;
    }
    d->nnames = 0;
    for (int i = 0; i < k; i++) {
        if (rr[i].type != qtype(d) && rr[i].type != ST_DNS_SRV) remember_host(d, &rr[i]);
        if (rr[i].type != qtype(d)) continue;
        char host[INET6_ADDRSTRLEN];
        if (rr[i].type != ST_DNS_SRV)
            inet_ntop(rr[i].type == ST_DNS_A ? AF_INET : AF_INET6, rr[i].addr, host, sizeof host);
        add_name(d, rr[i].type == ST_DNS_SRV ? rr[i].target : host);
    }
    char how[300];
    snprintf(how, sizeof how, "DNS %s", d->cfg.dns_name);
    d->found(d->ctx, (const char(*)[256])d->names, d->nnames, how);
}

static void ask(st_discovery *d)
{
    struct sockaddr_in6 srv[MAX_SERVERS];
    int n = servers(d, srv);
    uint8_t q[300];
    d->id = (uint16_t)(d->id * 31 + 17 + (uint16_t)d->seed);
    long len = st_dns_query(d->id, d->cfg.dns_name, qtype(d), q, sizeof q);
    if (len < 0 || !n) {
        LOG_WARN(d->log, "cluster: cannot ask DNS for %s: %s", d->cfg.dns_name,
                 len < 0 ? "a bad name" : "no DNS server");
        return;
    }
    uv_buf_t b = uv_buf_init((char *)q, (unsigned)len);
    for (int i = 0; i < n; i++)
        uv_udp_try_send(&d->udp, &b, 1, (const struct sockaddr *)&srv[i]);
}

st_discovery *st_discovery_new(uv_loop_t *loop, const st_log *log, const st_disc_cfg *cfg,
                               uint64_t seed, st_disc_found_fn found, void *ctx)
{
    st_discovery *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cfg = *cfg;
    d->loop = loop;
    d->log = log;
    d->seed = seed;
    d->found = found;
    d->ctx = ctx;
    return d;
}

int st_discovery_start(st_discovery *d, char *err, size_t errlen)
{
    if (d->cfg.strategy == ST_DISC_ETCD || d->cfg.strategy == ST_DISC_K8S) {
        d->dw = st_dw_new(d->loop, d->log, &d->cfg, d->found, d->ctx, err, errlen);
        return d->dw ? 0 : ST_ESYS;
    }
    if (d->cfg.strategy != ST_DISC_DNS) return 0;
    d->udp.data = d;
    if (uv_udp_init(d->loop, &d->udp) != 0) {
        snprintf(err, errlen, "cluster: cannot open a UDP socket for DNS discovery");
        return ST_ESYS;
    }
    d->open = 1;
    struct sockaddr_in any = {.sin_family = AF_INET};
    if (d->cfg.dns_aaaa) { /* a v6 socket reaches v4 servers too (mapped) */
        struct sockaddr_in6 any6 = {.sin6_family = AF_INET6};
        uv_udp_bind(&d->udp, (const struct sockaddr *)&any6, 0);
    } else {
        uv_udp_bind(&d->udp, (const struct sockaddr *)&any, 0);
    }
    uv_udp_recv_start(&d->udp, on_alloc, on_answer);
    ask(d);
    d->next = (int64_t)uv_now(d->loop) + 1000; /* once more soon (the first may race the server) */
    return 0;
}

void st_discovery_tick(st_discovery *d, int64_t now, int eager)
{
    if (d->closed) return;
    if (d->dw) st_dw_tick(d->dw, now, eager);
    if (!d->open || now < d->next) return;
    d->next = now + DISC_EVERY_MS;
    ask(d);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

void st_discovery_close(st_discovery *d)
{
    if (d->closed) return;
    d->closed = 1;
    if (d->dw) st_dw_close(d->dw); /* it frees itself once etcd's key is gone */
    d->dw = NULL;
    if (!d->open) return;
    d->open = 0;
    uv_udp_recv_stop(&d->udp);
    uv_close((uv_handle_t *)&d->udp, closed);
}

void st_discovery_free(st_discovery *d)
{
    free(d);
}
