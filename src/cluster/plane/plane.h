/* plane.h — the control plane (docs/cluster.md §5): who is a member. libraft (craft.h) runs
 * the replicated state machine (fsm.h) with its tables: the cluster's identity, the nodes
 * (membership: joining, up, down, left, incarnations) and the client-id registry. Around it:
 * proposals from any node relayed to the leader (PROPOSE), joining and leaving (JOIN_REQ,
 * LEAVE_REQ, `ctl cluster join|leave|force-leave`), declaring a node down after an indirect
 * probe, the bootstrap decision of a fresh node (form a cluster or join one), and replicants
 * tailing a core's applied log. The cluster thread only, except where a function says "any
 * thread" (those read under the view lock).
 *
 * It sends through the links (frames it registers at start, the RAFT stream). What the
 * data lanes must do about members and the registry it hands to the wiring through the
 * functions of st_plane_env; it never calls them itself. */
#ifndef ST_CLUSTER_PLANE_H
#define ST_CLUSTER_PLANE_H

#include "cluster/links/links.h"
#include "cluster/plane/kv.h"
#include "core/log.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ST_PLANE_MAX_SEEDS 64
#define ST_PLANE_MAX_CANDIDATES 64
/* A fresh node that discovers decides after this long whether to form or join (§5.6). */
#define ST_PLANE_DISCOVERY_WINDOW_MS 5000

typedef struct st_raft_timing {
    unsigned election_ms, heartbeat_ms, snapshot_threshold, snapshot_trailing;
} st_raft_timing;

/* manual: it waits to be told (`ctl cluster join`); seeds: the static seeds are the
 * candidates; discovery: the candidates come from discovery (st_plane_candidates). */
enum { ST_BOOT_MANUAL, ST_BOOT_SEEDS, ST_BOOT_DISCOVERY };

typedef struct st_plane_cfg {
    char node_name[256];
    char cluster_name[128];
    char data_dir[512];
    int role;      /* CW_ROLE_* */
    int bootstrap; /* ST_BOOT_*: how a fresh node learns whom it might form a cluster with */
    st_raft_timing raft;
    int64_t node_down_timeout_ms;
    int64_t link_timeout_ms;
    size_t nseeds;
    char seeds[ST_PLANE_MAX_SEEDS][256];
} st_plane_cfg;

typedef struct st_plane_env {
    const st_log *log;
    pthread_mutex_t *view_lock; /* the tables are applied, and the API reads them, under it */
    st_links *links;
    uint64_t boot, node_id;
    void *ctx; /* for the functions below */
    /* A member left (how ST_GONE_LEFT) or was declared down (ST_GONE_DOWN: the same
     * process may come back and resume), or this node left (ST_GONE_US): the data lanes
     * drop what they hold for p (data.h st_data_gone). */
    void (*gone)(void *ctx, st_peer *p, int how);
    /* The registry runs (the cluster has another member; again after a new incarnation). */
    void (*registry_on)(void *ctx);
    /* cid's registration at hlc here lost to a newer connection elsewhere. */
    void (*kick)(void *ctx, const char *cid, size_t len, uint64_t hlc);
    /* Whether this node's registrations can be ordered now (a leader in reach). */
    void (*quorum)(void *ctx, int quorum);
    int (*attached)(void *ctx); /* a broker runs here: its sessions are registered */
    /* `ctl cluster leave` hands the sessions over first (data.h). */
    int (*leave_evacuate)(void *ctx, int64_t now);
    int (*evacuating)(void *ctx, int64_t now);
    void (*evacuate_end)(void *ctx);
    /* Entries were applied (or a snapshot installed): the key-value table may have
     * changed (st_plane_kv_changes). */
    void (*applied)(void *ctx);
} st_plane_env;

typedef struct st_plane st_plane;

st_plane *st_plane_new(const st_plane_cfg *cfg, const st_plane_env *env);
/* On the cluster thread's loop, this node's cluster streams on port: the frame and RAFT
 * stream handlers, then Raft (or, for a replicant, an empty table to fill from a core).
 * 0, or <0 with a message in err. */
int st_plane_start(st_plane *c, uv_loop_t *loop, int port, char *err, size_t errlen);
void st_plane_tick(st_plane *c);
/* Stop: libraft closes; closed(arg) runs on the loop when that is done (at once without
 * Raft). */
void st_plane_stop(st_plane *c, void (*closed)(void *arg), void *arg);
void st_plane_free(st_plane *c);

/* Discovery's answer: the candidates of the bootstrap decision (this node may be one). */
void st_plane_candidates(st_plane *c, const char (*names)[256], int n);
/* Still deciding whether to form a cluster or join one (discovery asks more often). */
int st_plane_deciding(const st_plane *c);
/* In a cluster (its member table has this node): HELLO and WELCOME say so. */
int st_plane_is_member(st_plane *c);

/* ---- the links' events ---- */
void st_plane_peer_up(st_plane *c, st_peer *p, st_link *l);
void st_plane_peer_down(st_plane *c, st_peer *p);
void st_plane_link_closed(st_plane *c, st_link *l);
/* by said GOODBYE with CW_BYE_REMOVED: this node is out of the cluster. */
void st_plane_removed(st_plane *c, const char *by);

/* ---- the registry ---- */
/* A registration the workers posted (up: a CONNECT at hlc; else its session ended); flush
 * submits what was added, one batch at a time, in order. */
void st_plane_register(st_plane *c, const char *cid, size_t len, uint64_t hlc, int up);
void st_plane_register_flush(st_plane *c);
/* The node the registry names for cid (0: none). Any thread. */
uint64_t st_plane_locate(st_plane *c, const char *cid, size_t len);

/* ---- the replicated key-value table (kv.h): access control's users, ... ---- */
typedef struct st_kv_item {
    const void *key, *val;
    size_t klen, vlen;
} st_kv_item;
/* done(arg, status) once: 0 applied (ST_EEXIST: an ADD found the key taken, ST_ENOENT: a DEL
 * found none, when this node has applied it already), ST_EIO no leader for 30 s,
 * ST_ECLOSED at stop. */
typedef void (*st_plane_kv_done)(void *arg, int status);
/* Write n rows of namespace ns with one verb (ST_V_KV_*) in one entry. 0, or < 0 (not
 * asked: done is not called). The cluster thread. */
int st_plane_kv_write(st_plane *c, uint16_t verb, uint8_t ns, const st_kv_item *items, uint32_t n,
                      st_plane_kv_done done, void *arg);
/* The rows changed since the last call (kv.h st_kv_changes). The cluster thread. */
void st_plane_kv_changes(st_plane *c, st_kv_visit visit, void *ctx);

/* ---- commands (the cluster thread; st_cluster_* check them first) ---- */
void st_plane_force_leave(st_plane *c, const char *name);
void st_plane_join(st_plane *c, const char *target);
void st_plane_leave(st_plane *c);

/* ---- what the API shows (any thread) ---- */
/* One node as this node sees it (self included). */
typedef struct st_cluster_node {
    char name[256];
    int self;
    int running; /* self, or a peer whose CONTROL link is up */
    int member;  /* in this node's cluster (its member table), self included */
    int64_t rtt_us;
} st_cluster_node;

/* A row of the replicated member table. */
typedef struct st_cluster_member {
    char name[256];
    const char *state; /* joining, up, down, left */
    uint64_t incarnation;
    int slot; /* -1: none */
    int replicant;
} st_cluster_member;

typedef struct st_cluster_info {
    char uuid[40]; /* "" until the cluster row is applied */
    char raft_state[16];
    uint64_t term, applied;
    unsigned voters; /* in the Raft configuration as this node knows it */
    size_t nmembers; /* may exceed the array given */
    size_t registry; /* client ids in the cluster's registry */
} st_cluster_info;

/* The members (once this node is in a formed cluster; before that only itself), then
 * every other peer it knows as a non-member; up to max, returns how many there are. */
size_t st_plane_view(st_plane *c, st_cluster_node *out, size_t max);
int st_plane_formed(st_plane *c, char *why, size_t cap);
void st_plane_info(st_plane *c, st_cluster_info *info, st_cluster_member *m, size_t max);
/* Once this node is in a formed cluster: the other members whose row says up, their names
 * into out (up to max); returns how many there are (0 before). */
size_t st_plane_up_members(st_plane *c, char (*out)[256], size_t max);
/* Is node a member (its row, not left)? */
int st_plane_has_member(st_plane *c, const char *node);
/* Members other than this node (left aside); -1 without a control plane, -2 while this node
 * is not in its own table. has_name: name is one of them. */
int st_plane_other_members(st_plane *c, const char *name, int *has_name);

#endif
