/* disc.c — discovery by DNS (cluster.discovery_strategy = dns, docs/cluster.md §6): every
 * few seconds the cluster thread asks the configured servers (or /etc/resolv.conf's) for
 * the A or AAAA records of cluster.dns.name; each address becomes a node name,
 * <this node's name part>@<address>, that is dialled like a seed. With SRV records each
 * target host becomes <name part>@<target> (the port is ignored: every node listens on the
 * cluster port, as with ekka); the targets' addresses come from the answer's additional
 * records (st_disc_addr), else the system resolver is asked when dialling. What the name resolves
 * to also feeds the bootstrap decision (control.c): the node with the smallest name forms
 * the cluster when nobody it can reach is in one yet. st_disc_start/tick/close also run etcd
 * and k8s discovery (disc_web.h), which feed the same list. */
#include "cluster/disc_web.h"
#include "cluster/internal.h"
#include "core/err.h"
#include "net/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DISC_EVERY_MS 5000
#define MAX_SERVERS 8

/* Servers as sockaddrs: the configured ones, else the nameservers of /etc/resolv.conf. */
static int servers(const st_cluster *c, struct sockaddr_in6 *out)
{
    char list[MAX_SERVERS][64];
    int n = 0;
    for (size_t i = 0; i < c->cfg.ndns_servers && n < MAX_SERVERS; i++)
        snprintf(list[n++], sizeof list[0], "%.63s", c->cfg.dns_servers[i]);
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
    st_cluster *c = h->data; /* one datagram at a time, on the cluster thread */
    (void)suggested;
    buf->base = c->dns_buf;
    buf->len = sizeof c->dns_buf;
}

static uint16_t qtype(const st_cluster *c)
{
    return c->cfg.dns_srv ? ST_DNS_SRV : c->cfg.dns_aaaa ? ST_DNS_AAAA : ST_DNS_A;
}

/* One node found: host (an address, or an SRV target) with our name part. */
static void found(st_cluster *c, const char *host)
{
    const char *at = strchr(c->cfg.node_name, '@');
    char name[256];
    snprintf(name, sizeof name, "%.*s@%s", (int)(at - c->cfg.node_name), c->cfg.node_name, host);
    memcpy(c->disc[c->ndisc++], name, sizeof name);
    if (strcmp(name, c->cfg.node_name) != 0 && !st_peer_get(c, name, 0)) {
        LOG_INFO(c->log, "cluster: discovered %s (DNS %s)", name, c->cfg.dns_name);
        st_peer_get(c, name, 1);
    }
}

static void remember_host(st_cluster *c, const st_dns_rr *r)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(r->type == ST_DNS_A ? AF_INET : AF_INET6, r->addr, ip, sizeof ip);
    int i = 0;
    while (i < c->nhosts && strcmp(c->host_name[i], r->name) != 0)
        i++;
    if (i == 32) return;
    if (i == c->nhosts) c->nhosts++;
    snprintf(c->host_name[i], sizeof c->host_name[i], "%s", r->name);
    snprintf(c->host_ip[i], sizeof c->host_ip[i], "%s", ip);
}

const char *st_disc_addr(const st_cluster *c, const char *host)
{
    for (int i = 0; i < c->nhosts; i++)
        if (strcasecmp(c->host_name[i], host) == 0) return c->host_ip[i];
    return host;
}

static void on_answer(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                      unsigned flags)
{
    st_cluster *c = u->data;
    (void)from;
    (void)flags;
    if (n <= 0) return;
    st_dns_rr rr[32];
    int k = st_dns_records((const uint8_t *)buf->base, (size_t)n, c->dns_id, rr, 32);
    if (k < 0) {
        LOG_DEBUG(c->log, "cluster: DNS answer for %s: %s", c->cfg.dns_name, st_strerror(k));
        return;
    }
    c->ndisc = 0;
    for (int i = 0; i < k; i++) {
        if (rr[i].type != qtype(c) && rr[i].type != ST_DNS_SRV) remember_host(c, &rr[i]);
        if (rr[i].type != qtype(c)) continue;
        char host[INET6_ADDRSTRLEN];
        if (rr[i].type != ST_DNS_SRV)
            inet_ntop(rr[i].type == ST_DNS_A ? AF_INET : AF_INET6, rr[i].addr, host, sizeof host);
        found(c, rr[i].type == ST_DNS_SRV ? rr[i].target : host);
    }
    c->disc_answered = 1;
}

static void ask(st_cluster *c)
{
    struct sockaddr_in6 srv[MAX_SERVERS];
    int n = servers(c, srv);
    uint8_t q[300];
    c->dns_id = (uint16_t)(c->dns_id * 31 + 17 + (uint16_t)c->boot);
    long len = st_dns_query(c->dns_id, c->cfg.dns_name, qtype(c), q, sizeof q);
    if (len < 0 || !n) {
        LOG_WARN(c->log, "cluster: cannot ask DNS for %s: %s", c->cfg.dns_name,
                 len < 0 ? "a bad name" : "no DNS server");
        return;
    }
    uv_buf_t b = uv_buf_init((char *)q, (unsigned)len);
    for (int i = 0; i < n; i++)
        uv_udp_try_send(&c->dns_udp, &b, 1, (const struct sockaddr *)&srv[i]);
}

int st_disc_start(st_cluster *c, char *err, size_t errlen)
{
    if (c->cfg.strategy == ST_DISC_ETCD || c->cfg.strategy == ST_DISC_K8S)
        return st_dw_start(c, err, errlen);
    if (c->cfg.strategy != ST_DISC_DNS) return 0;
    c->dns_udp.data = c;
    if (uv_udp_init(&c->loop, &c->dns_udp) != 0) {
        snprintf(err, errlen, "cluster: cannot open a UDP socket for DNS discovery");
        return ST_ESYS;
    }
    c->dns_open = 1;
    struct sockaddr_in any = {.sin_family = AF_INET};
    if (c->cfg.dns_aaaa) { /* a v6 socket reaches v4 servers too (mapped) */
        struct sockaddr_in6 any6 = {.sin6_family = AF_INET6};
        uv_udp_bind(&c->dns_udp, (const struct sockaddr *)&any6, 0);
    } else {
        uv_udp_bind(&c->dns_udp, (const struct sockaddr *)&any, 0);
    }
    uv_udp_recv_start(&c->dns_udp, on_alloc, on_answer);
    ask(c);
    c->dns_next = st_cl_now(c) + 1000; /* once more soon (the first may race the server) */
    return 0;
}

void st_disc_tick(st_cluster *c, int64_t now)
{
    st_dw_tick(c, now);
    if (!c->dns_open || now < c->dns_next || c->stopping) return;
    c->dns_next = now + DISC_EVERY_MS;
    ask(c);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

void st_disc_close(st_cluster *c)
{
    st_dw_close(c);
    if (!c->dns_open) return;
    c->dns_open = 0;
    uv_udp_recv_stop(&c->dns_udp);
    uv_close((uv_handle_t *)&c->dns_udp, closed);
}
