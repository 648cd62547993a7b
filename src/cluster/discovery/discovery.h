/* discovery.h — how a node finds the others (cluster.discovery_strategy, docs/cluster.md §6):
 * dns (A, AAAA or SRV records of a name), etcd (a key per node under a lease) and k8s (the
 * endpoints of a service). Discovery only yields names: every round that answers hands the
 * whole list of node names (this node's own included, where the source lists it) to the
 * wiring's callback, which makes them peers and feeds the bootstrap decision. It never dials,
 * creates peers or knows about links. manual and static have nothing to run here (static
 * seeds are configuration).
 *
 * Runs on the cluster thread's libuv loop; HTTP rounds go to libuv's thread pool. */
#ifndef ST_CLUSTER_DISCOVERY_H
#define ST_CLUSTER_DISCOVERY_H

#include "core/log.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum { ST_DISC_MANUAL, ST_DISC_STATIC, ST_DISC_DNS, ST_DISC_ETCD, ST_DISC_K8S };
enum { ST_K8S_IP, ST_K8S_DNS, ST_K8S_HOSTNAME };

#define ST_DISC_MAX_NAMES 64

typedef struct st_disc_cfg {
    int strategy;        /* ST_DISC_* */
    char node_name[256]; /* ours: found names take its name part; etcd registers it */
    char cluster_name[128];
    char dns_name[254];
    int dns_aaaa, dns_srv;
    size_t ndns_servers;
    char dns_servers[8][64]; /* "ip" or "ip:port"; none: /etc/resolv.conf */
    size_t netcd_servers;
    char etcd_servers[8][256]; /* base URLs, without a trailing '/' */
    char etcd_prefix[128];
    int64_t etcd_ttl_ms;
    char k8s_apiserver[256];
    char k8s_service[64];
    char k8s_namespace[64];
    char k8s_suffix[128];
    int k8s_addr; /* ST_K8S_* */
} st_disc_cfg;

/* A round's answer: every node name the source lists. how says where they came from
 * ("DNS <name>", "etcd", "k8s"), for the log. */
typedef void (*st_disc_found_fn)(void *ctx, const char (*names)[256], int n, const char *how);

typedef struct st_discovery st_discovery;

/* Nothing runs until st_discovery_start. seed varies the DNS query ids between processes. */
st_discovery *st_discovery_new(uv_loop_t *loop, const st_log *log, const st_disc_cfg *cfg,
                               uint64_t seed, st_disc_found_fn found, void *ctx);
/* 0, or <0 with a message in err. */
int st_discovery_start(st_discovery *d, char *err, size_t errlen);
/* Rounds are due by now; eager: every second (the node is deciding whether to form or join
 * a cluster), else every 5 s. */
void st_discovery_tick(st_discovery *d, int64_t now, int eager);
/* Stop asking (etcd's key is deleted in one last round on the pool; the loop runs until it is
 * done). Safe to call twice. */
void st_discovery_close(st_discovery *d);
/* After the loop has ended. */
void st_discovery_free(st_discovery *d);
/* The address to dial for host: what DNS discovery learned for an SRV target, else host. */
const char *st_discovery_addr(const st_discovery *d, const char *host);

#endif
