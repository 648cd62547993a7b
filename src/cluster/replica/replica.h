/* replica.h — mirrors of the nodes' durable stores (docs/durability.md §6), the cluster
 * part behind persistence.shared_client_session. Its sides, all on the cluster thread:
 *
 * - the owner: its store's committed rounds and snapshots (store.h, "replication") go to
 *   its holders, the persistence.replicas members that rendezvous hashing of its name picks,
 *   as REPL frames on the CONTROL links, in pieces of at most ST_REPLICA_PIECE bytes. A
 *   holder that links up (again) gets a snapshot first, then every round. With gate, a
 *   round's tickets count as durable once every holder in step has acknowledged it
 *   (wal_sync_interval 0); a holder that is not linked, not in step yet, or that has not
 *   answered for ST_REPLICA_LAG_MS is not waited for (it gets a snapshot when it can follow).
 * - the holder: a mirror per owner, a store of its own in node.data_dir/replicas/<owner>
 *   under the owner's name, replaced by each snapshot and written by each round in order;
 *   REPL_ACK says how far the mirror is on disk, or that it cannot follow (a round that does
 *   not come after the last it has).
 * - the restore (restore.c): a node whose store is new (its data dir was lost) asks the
 *   members up for a copy of an earlier store of its own, takes the newest one offered,
 *   replaces its store by it, and has its process start again (env.restored) so that
 *   recovery reads it. */
#ifndef ST_CLUSTER_REPLICA_H
#define ST_CLUSTER_REPLICA_H

#include "cluster/links/links.h"
#include "core/log.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ST_REPLICA_PIECE (256u << 10)
#define ST_REPLICA_LAG_MS 5000
#define ST_REPLICA_MAX 8 /* persistence.replicas at most */

typedef struct st_replica st_replica;

typedef struct st_replica_env {
    const st_log *log;
    st_links *links;
    uint64_t boot;
    char self[256];
    char data_dir[512]; /* node.data_dir: mirrors in <data_dir>/replicas/<owner> */
    uint64_t max_bytes; /* persistence.max_size, for each mirror */
    int copies;         /* persistence.replicas */
    void *ctx;
    /* the members that are up, this node left out */
    size_t (*members)(void *ctx, char (*names)[256], size_t max);
    /* 1 once this node is in a cluster (formed, or decided to be alone): who is up is known */
    int (*formed)(void *ctx);
    /* this node's store was replaced by a copy of its earlier one and is on disk: the process
     * must start again to recover it (the cluster thread; nothing else runs on it after) */
    void (*restored)(void *ctx);
} st_replica_env;

st_replica *st_replica_new(const st_replica_env *env); /* registers REPL and REPL_ACK */
void st_replica_free(st_replica *r);
/* Before the store starts (any thread): this node's store is mirrored. gate: its rounds
 * wait for the holders' acks (wal_sync_interval 0). */
void st_replica_attach(st_replica *r, st_store *s, int gate);
/* While 1, this node's store was made empty at this start and a copy of an earlier store of
 * this node may still come from the other members (docs/durability.md §6): the node takes
 * no clients, sends no route sync and refuses DATA lanes meanwhile. Any thread. */
int st_replica_restoring(st_replica *r);
/* Before the store closes (any thread): the part no longer touches it; the rounds it made
 * until then still go to the holders. */
void st_replica_detach(st_replica *r);

/* The cluster thread. */
void st_replica_start(st_replica *r, uv_loop_t *loop);
void st_replica_tick(st_replica *r, int64_t now);
void st_replica_peer_up(st_replica *r, st_peer *p);
void st_replica_peer_down(st_replica *r, st_peer *p);
/* Stop: the mirrors' stores commit what they have and close. */
void st_replica_stop(st_replica *r);

/* A member gone for good (docs/durability.md §6, adoption), the cluster thread. 1 when this
 * node ranks first for owner's copies among the members up (rendezvous hashing, as the
 * holders are chosen); 1 when a copy of owner's store with sessions is kept here (one on disk
 * from an earlier process is opened). */
int st_replica_adopter(st_replica *r, const char *owner);
int st_replica_has_copy(st_replica *r, const char *owner);
/* The copy's records appended to b (st_store_dump) and when it was last written (wall ms):
 * 1, 0 when there is no copy here, or an ST_E* code. */
int st_replica_take(st_replica *r, const char *owner, st_store_batch *b, int64_t *written);
/* Its sessions are taken over: the copy is closed and moved aside,
 * node.data_dir/replicas/<owner>.adopted-<wall ms> (never offered to a restore). */
void st_replica_adopted(st_replica *r, const char *owner);

/* What the API shows (any thread). */
typedef struct st_replica_holder {
    char node[256];
    int state;      /* ST_RH_* */
    uint64_t acked; /* the last round it has on disk */
} st_replica_holder;
enum { ST_RH_UNLINKED, ST_RH_WAITING, ST_RH_IN_STEP, ST_RH_LAGGING };
typedef struct st_replica_mirror {
    char owner[256];
    uint64_t round;          /* the last round it has (of the owner's process) */
    long sessions, messages; /* its durable sessions and stored messages */
    uint64_t disk_bytes;
} st_replica_mirror;
typedef struct st_replica_info {
    int on;            /* this node's store is mirrored */
    int restoring;     /* st_replica_restoring */
    uint64_t round;    /* its last round */
    size_t candidates; /* the members up the holders were chosen from */
    size_t nholders, nmirrors;
} st_replica_info;
void st_replica_info_get(st_replica *r, st_replica_info *info, st_replica_holder *h, size_t maxh,
                         st_replica_mirror *m, size_t maxm);
const char *st_replica_state_name(int state);

#endif
