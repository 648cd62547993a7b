/* cluster.h — the node's cluster side (docs/cluster.md): its configuration, and a thread
 * with its own libuv loop that runs the four parts (links, the control plane, the data
 * lanes, discovery; wired by cluster.c). Broker code never includes this header; main.c
 * starts both, and the API reads what it shows through it. */
#ifndef ST_CLUSTER_H
#define ST_CLUSTER_H

#include "cluster/ask.h"
#include "cluster/discovery/discovery.h"
#include "cluster/health.h"
#include "cluster/plane/plane.h"
#include "cluster/replica/replica.h"
#include "config/config.h"
#include "core/log.h"
#include "net/tls.h"

#include <stddef.h>
#include <stdint.h>

#define ST_CLUSTER_MAX_SEEDS ST_PLANE_MAX_SEEDS

typedef struct st_cluster_cfg {
    char node_name[256];
    char cookie[256];
    char cluster_name[128];
    char listen[128]; /* host:port; port 0 = any (tests, standalone) */
    char data_dir[512];
    int role;     /* CW_ROLE_* */
    int strategy; /* ST_DISC_* */
    int64_t link_timeout_ms;
    int tls;              /* cluster.proto_dist = inet_tls / inet6_tls */
    st_tls_opts tls_opts; /* cluster.ssl_options */
    st_raft_timing raft;  /* cluster.raft.* */
    int64_t node_down_timeout_ms;
    int64_t tombstone_ttl_ms;
    int64_t evacuation_timeout_ms;
    int forward_ack;
    int64_t forward_ack_timeout_ms;
    int64_t forward_buffer_high;
    int shared_session; /* persistence.shared_client_session: mirrors (docs/durability.md §6) */
    int replicas;       /* persistence.replicas */
    uint64_t store_max_bytes; /* persistence.max_size, for the mirrors kept here */
    st_health_cfg health;     /* sysmon.os.*: the resource alarms (health.h) */
    size_t nseeds;
    char seeds[ST_CLUSTER_MAX_SEEDS][256];
    st_disc_cfg disc; /* its strategy, node and cluster names are copies of the above */
} st_cluster_cfg;

typedef struct st_cluster st_cluster;
struct st_broker;

/* Fill cfg from the loaded configuration. 0, or ST_ECONFIG with a message. */
int st_cluster_cfg_load(st_cluster_cfg *cfg, const st_config *c, char *err, size_t errlen);
/* name@host: name of letters, digits, '_', '-', '.'; host a DNS name or an IP address. */
int st_cluster_valid_name(const char *s);
st_cluster *st_cluster_new(const st_cluster_cfg *cfg, const st_log *log);
/* Connect the broker (before st_broker_start): its route changes are announced to the
 * other nodes, their routes are added to its subscription table, and its workers run the
 * data lanes. Without it the node only takes part in the control plane. */
int st_cluster_attach(st_cluster *c, struct st_broker *b);
/* Before the store starts. With persistence.shared_client_session: this node's durable
 * store is mirrored on other members (docs/durability.md §6); gate: its rounds wait for the
 * mirrors (wal_sync_interval 0); a store made empty at this start is first replaced by a
 * copy of an earlier one if a member keeps one (the node takes no clients until that is
 * decided). Without it, a new store is never looked for elsewhere. */
struct st_store;
void st_cluster_attach_store(st_cluster *c, struct st_store *s, int gate);
/* Before st_cluster_start: where the cluster raises its alarms (node_down/<name>, on the
 * Raft leader; cluster/health.h). */
struct st_alarms;
void st_cluster_attach_alarms(st_cluster *c, struct st_alarms *al);
/* 1 once this node's store was replaced by a copy of its earlier one (its data dir was lost,
 * docs/durability.md §6): the process must start again to recover it. The cluster thread
 * raises SIGUSR2 at that moment. Any thread. */
int st_cluster_restored(st_cluster *c);
/* Before the store closes: the cluster no longer touches it. */
void st_cluster_detach_store(st_cluster *c);
/* The mirrors (any thread): this node's holders and the copies kept here (replica.h). */
void st_cluster_replicas(st_cluster *c, st_replica_info *info, st_replica_holder *h, size_t maxh,
                         st_replica_mirror *m, size_t maxm);
/* Bind cluster.listen and start the thread. 0, or <0 with a message in err. */
int st_cluster_start(st_cluster *c, char *err, size_t errlen);
/* The nodes this node knows (itself, its seeds, whoever linked to it), up to max; returns
 * how many there are. Safe from any thread. Until membership lives in Raft (step 5 of
 * docs/cluster.md) "known" stands in for "member". */
size_t st_cluster_view(st_cluster *c, st_cluster_node *out, size_t max);
const char *st_cluster_name(const st_cluster *c);
/* Is this node a member of a formed cluster (a cluster of one counts)? If not, why, in why
 * ("waiting for starling@h", ...). Any thread. */
int st_cluster_formed(st_cluster *c, char *why, size_t cap);

/* The control plane as this node sees it: Raft state and the replicated member table. */
void st_cluster_info_get(st_cluster *c, st_cluster_info *info, st_cluster_member *m, size_t max);
const char *st_cluster_node_name(const st_cluster *c);

/* `ctl cluster force-leave`: the leader commits LEAVE for node (a member, not this node),
 * removes it from Raft, and every node drops its routes and stops dialling it. Returns 0
 * once asked (it completes asynchronously), ST_ENOENT (no such member) or ST_EINVAL, with
 * the reason in err. Any thread. */
int st_cluster_force_leave(st_cluster *c, const char *node, char *err, size_t errlen);
/* `ctl cluster join <node>`: this node (alone, or with a cluster of its own that has no
 * other members) restarts its control plane on an empty Raft state (the old one archived) and asks
 * node's leader to take it in. `ctl cluster leave`: the leader commits LEAVE for this node and
 * removes it from Raft; then it runs alone, as a new cluster of one. Both return 0 once asked (the
 * rest is asynchronous), or ST_EEXIST / ST_ENOENT / ST_EINVAL with the reason in err. */
int st_cluster_join(st_cluster *c, const char *node, char *err, size_t errlen);
int st_cluster_leave(st_cluster *c, char *err, size_t errlen);

/* Questions to every node (ask.h): the API's answerer (NULL: none; once this returns the
 * old one is not called any more), and a
 * question: this node's answer and every running member's that comes within timeout_ms,
 * into out (room for max); returns the count. Any thread but the cluster thread. */
enum {
    ST_ASK_LISTENERS = 1,
    ST_ASK_AUTHZ_CACHE = 2,
    ST_ASK_AUTHZ_RELOAD = 3,
    ST_ASK_ALARMS = 4,
    ST_ASK_ALARMS_FORGET = 5,
    ST_ASK_ALARM_CLEAR = 6,
    ST_ASK_CLIENTS = 7, /* admin/clients.h */
    ST_ASK_CLIENT_KICK = 8,
    ST_ASK_METRICS = 9, /* admin/metrics.h */
    ST_ASK_SUBS = 10,   /* admin/subscriptions.h */
    ST_ASK_CLIENT_SUBS = 11,
    ST_ASK_LISTENER_OP = 12, /* admin/listeners.h */
    ST_ASK_CLIENT_MSGS = 13, /* admin/client_msgs.h */
    ST_ASK_TRACE_SIZES = 14, /* admin/trace.h */
    ST_ASK_TRACE_LOG = 15,
};
void st_cluster_answerer(st_cluster *c, st_answer_fn fn, void *ctx);
size_t st_cluster_ask(st_cluster *c, uint8_t what, const char *arg, size_t arglen, st_answer *out,
                      size_t max, int64_t timeout_ms);

/* Access control's users (docs/security.md §5): the built-in databases of a mirror the
 * replicated table's users, and the bootstrap files' users are proposed to it once this
 * node is a member. Before st_cluster_start. */
struct st_auth;
void st_cluster_attach_auth(st_cluster *c, struct st_auth *a);
/* Write a row of the replicated key-value table (plane.h: verb ST_V_KV_*, namespace) and
 * wait until it is applied, up to timeout_ms: 0, ST_EEXIST (ADD of a taken key), ST_ENOENT
 * (DEL of none), ST_EIO (no leader in time), ST_ECLOSED. Any thread but the cluster's. */
int st_cluster_kv_write(st_cluster *c, uint16_t verb, uint8_t ns, const void *key, size_t klen,
                        const void *val, size_t vlen, int64_t timeout_ms);

/* Other mirrors of the table: fn gets namespace ns's changed rows on the cluster thread (val
 * NULL: deleted). A replaced table comes as writes of its rows, then deletes of the rows it
 * lacks, with replaced 1 (mirror.h): a mirror never starts afresh, and falls back to its
 * bootstrap file's row, if it has one, for a row the new table lacks. */
typedef void (*st_cluster_rows_fn)(void *ctx, uint8_t ns, const uint8_t *key, size_t klen,
                                   const uint8_t *val, size_t vlen, int replaced);
/* Before st_cluster_start. 0, or ST_EFULL. */
int st_cluster_mirror(st_cluster *c, uint8_t ns, st_cluster_rows_fn fn, void *ctx);
/* Rows (copied) to write with verb (ST_V_KV_ADD: only where the key is free; PUT) once this
 * node is a member: a bootstrap file's, a default user. Before st_cluster_start. */
int st_cluster_seed(st_cluster *c, uint8_t ns, uint16_t verb, const st_kv_item *items, size_t n);

/* The same without waiting (any thread, a worker's too). */
void st_cluster_kv_post(st_cluster *c, uint16_t verb, uint8_t ns, const void *key, size_t klen,
                        const void *val, size_t vlen);
/* A ban (auth/bans.h) for the cluster's table: the auth module's ban sink (flapping). */
struct st_ban;
void st_cluster_ban(void *cluster, const struct st_ban *ban);

/* Route and forwarding figures for the API. */
typedef struct st_cluster_peer_routes {
    char name[256];
    size_t routes; /* filters it announced */
    uint64_t ops_rx;
} st_cluster_peer_routes;
typedef struct st_cluster_routes {
    size_t local;     /* filters announced by this node */
    size_t remote;    /* (filter, node) routes held for other nodes */
    uint64_t ops_tx;  /* route changes sent */
    uint64_t pending; /* route changes not yet applied by every linked peer */
    uint64_t fwd_sent, fwd_received, fwd_dropped, fwd_resent, fwd_redispatched;
    int lanes_over; /* data lanes past cluster.forward_buffer_high (the backlog's alarm) */
    size_t npeers;  /* may exceed the array given */
} st_cluster_routes;
void st_cluster_routes_get(st_cluster *c, st_cluster_routes *r, st_cluster_peer_routes *p,
                           size_t max);

/* Say GOODBYE on every link, close them, and join the thread. */
/* Hand every session of this node to the other live members (docs/cluster.md §10.4): new
 * CONNECTs are refused with 0x9C meanwhile, connected MQTT 5 clients get DISCONNECT 0x9C
 * (3.x: closed). Blocks up to cluster.evacuation_timeout. Returns the sessions left behind
 * (0: all moved), or -1 if there was no member to hand them to. From the main thread. */
long st_cluster_evacuate(st_cluster *c);
void st_cluster_stop(st_cluster *c);
void st_cluster_free(st_cluster *c);

#endif
