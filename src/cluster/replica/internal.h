/* internal.h — the replica part's state (replica.h), shared by owner.c (this node's store
 * to its holders) and mirror.c (the other nodes' stores kept here). Private to this folder. */
#ifndef ST_CLUSTER_REPLICA_INTERNAL_H
#define ST_CLUSTER_REPLICA_INTERNAL_H

#include "cluster/replica/replica.h"
#include "core/mpsc.h"
#include "cwire/cwire.h"

#include <pthread.h>
#include <stdatomic.h>

/* A round or a snapshot of this node's store, from the store thread. */
typedef struct rp_item {
    st_mpsc_node node;
    uint64_t round;
    int snapshot;
    size_t len;
    uint8_t w[];
} rp_item;

typedef struct rp_holder {
    char name[256];
    int state;      /* ST_RH_* */
    uint64_t acked; /* the last round it said it has */
    uint64_t sent;  /* the last round (or snapshot's round) sent to it */
    int64_t since;  /* when it was sent something it has not acknowledged yet (0: nothing) */
} rp_holder;

/* An acknowledgement a mirror owes once its store has a ticket on disk. */
typedef struct rp_owed {
    uint64_t ticket, boot, round;
} rp_owed;

typedef struct rp_mirror {
    char owner[256];
    char dir[512];
    st_store *store;
    uint8_t owner_store[CW_STORE_ID]; /* the owner's store this is a copy of (meta "owner_id") */
    int has_owner_store;
    uint64_t boot, round; /* the owner's process and the last round submitted */
    int have;             /* a snapshot of that process was taken: rounds may follow */
    st_store_batch *part; /* the pieces of the round or snapshot under way */
    int part_kind;        /* CW_REPL_* of part, 0: none */
    uint64_t part_boot, part_round;
    rp_owed *owed;
    size_t nowed, capowed;
    struct rp_mirror *next;
} rp_mirror;

/* restore.c: a fresh store looks for a copy of an earlier one (docs/durability.md §6). */
enum { RS_NONE, RS_WAIT, RS_ASKED, RS_FETCH, RS_APPLY, RS_DONE };
typedef struct rp_offer {
    char name[256];
    int answered, has;
    cw_restore o;
} rp_offer;

struct st_replica {
    st_replica_env env;
    uv_loop_t *loop;
    uv_async_t async;
    atomic_int started; /* the async can be sent */
    int64_t now;
    /* owner */
    st_store *store; /* NULL: this node's store is not mirrored (or no longer: detached) */
    st_store *own;   /* the same, never cleared: for the store thread's own calls */
    int gate;
    st_mpsc inbox;       /* rp_item */
    atomic_int snap_due; /* a snapshot was asked for and has not come yet */
    rp_holder holders[ST_REPLICA_MAX];
    int nholders;
    atomic_int has_holders; /* nholders > 0, for the store thread */
    int gated;              /* the store's gate is on */
    uint64_t round;         /* the last round (or snapshot's round) sent */
    size_t candidates;      /* the members the holders were last chosen from */
    char (*names)[256];     /* room for the members, for the choice (cluster thread) */
    uint8_t store_id[CW_STORE_ID];
    /* restore (owner) */
    atomic_int restore; /* RS_* (read by any thread: st_replica_restoring) */
    int64_t rs_at;      /* when the step under way began (or its last piece came) */
    int64_t rs_since;   /* when the restore began */
    int rs_tries;       /* fetches that failed */
    rp_offer *offers;
    size_t noffers;
    rp_offer from;         /* the copy being fetched, from whom */
    st_store_batch *fetch; /* its pieces so far */
    uint64_t rs_ticket;    /* the replacement's ticket */
    /* holder */
    rp_mirror *mirrors;
    pthread_mutex_t mu; /* the holders and mirrors lists, for the API */
};

/* owner.c (the cluster thread) */
/* w in REPL frames like head of at most ST_REPLICA_PIECE bytes each (the last with
 * CW_REPL_END, one empty one when len is 0), each to out. 0, or -1 out of memory. */
typedef void (*rp_out_fn)(void *ctx, const uint8_t *frame, size_t n);
int rp_send_pieces(const cw_repl *head, const uint8_t *w, size_t len, rp_out_fn out, void *ctx);
void rp_owner_drain(st_replica *r);
void rp_owner_ack(st_replica *r, const char *from, const cw_repl_ack *a);
void rp_owner_tick(st_replica *r);
void rp_owner_link(st_replica *r, const char *node, int up);
void rp_owner_free(st_replica *r);
/* restore.c (the cluster thread) */
void rp_restore_begin(st_replica *r); /* at attach, for a fresh store */
void rp_restore_tick(st_replica *r);
void rp_restore_frame(st_replica *r, const char *from, const cw_restore *m);
void rp_restore_piece(st_replica *r, const char *from, const cw_repl *p);
void rp_restore_free(st_replica *r);
/* mirror.c (the cluster thread) */
rp_mirror *rp_mirror_find(st_replica *r, const char *owner);
long rp_count_sessions(st_store *s);
/* The id of the owner's store a copy holds (its meta "owner_id"): 1, or 0 when it has none. */
int rp_owner_id(st_store *s, uint8_t id[CW_STORE_ID]);
void rp_mirror_piece(st_replica *r, const char *owner, const cw_repl *p);
void rp_mirror_settle(st_replica *r);
void rp_mirrors_close(st_replica *r);
void rp_mirror_info(st_replica *r, st_replica_mirror *m, size_t maxm, size_t *n);

#endif
