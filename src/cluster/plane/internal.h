/* internal.h — the control plane's own state (st_plane), shared by plane.c (its face, the
 * links' events, what the API reads), control.c (Raft, the ops about this node, joining,
 * declaring nodes down, the bootstrap decision), member.c (join and leave on command),
 * propose.c (writes relayed to the leader), tail.c (replicants) and reg.c (the registry's
 * proposals). Private to src/cluster/plane/. The cluster thread only, except what is read
 * under the view lock. */
#ifndef ST_CLUSTER_PLANE_INTERNAL_H
#define ST_CLUSTER_PLANE_INTERNAL_H

#include "cluster/links/links.h"
#include "cluster/plane/craft.h"
#include "cluster/plane/fsm.h"
#include "cluster/plane/plane.h"
#include "core/hlc.h"
#include "cwire/cwire.h"

#include <pthread.h>
#include <uv.h>

/* The control plane's state about one peer (by its slot). */
typedef struct st_cl_ppeer {
    uint64_t purged_inc; /* the incarnation whose DOWN we have applied here */
    uint64_t probe_id;   /* the leader's indirect probe about it (control.c) */
    int64_t probe_at;    /* 0: none in progress */
    char probe_ok[256];  /* the member that answered it reaches it ("" : none yet) */
    uint64_t tail_next;  /* a replicant tails our applied log from this index (0: it does not) */
    int tail_snap;       /* it needs the state machine's image first */
} st_cl_ppeer;

#define ST_TAIL_RING 1024
typedef struct st_tail_ent {
    uint64_t index;
    uint8_t *p;
    uint32_t n;
} st_tail_ent;

struct st_plane {
    st_plane_cfg cfg;
    st_plane_env env;
    const st_log *log;
    uv_loop_t *loop;
    pthread_mutex_t *view_lock; /* = env.view_lock */
    st_links *links;            /* = env.links */
    uint64_t boot, node_id;
    int port; /* the bound cluster.listen port (peers are dialled on it too) */
    int stopping;
    st_cl_ppeer pp[ST_LINKS_MAX_PEERS];
    st_hlc hlc;  /* stamps the entries we propose */
    st_fsm *fsm; /* applied under view_lock */
    st_craft *craft;
    char raft_state[16]; /* published each tick under view_lock */
    uint64_t raft_term;
    unsigned raft_voters;
    uint64_t op_seq;   /* this boot's op ids: random24 << 40, then +1 */
    ce_op self_ops[3]; /* INIT/JOIN/BOOT of ourselves, resent with the same ids */
    st_buf self_bodies[3];
    uint32_t nself;
    int self_state; /* 0 to do, 1 proposed, 2 applied */
    int joining;    /* started without bootstrap: waits to join a seed's cluster */
    uint64_t join_req;
    st_buf joined_body; /* the reconciler's JOINED op */
    ce_op joined_op;
    int joined_pending;
    int64_t leader_since; /* the leader's DOWN timers start here (never early) */
    int down_pending;     /* a DOWN proposal in flight */
    st_buf down_body;
    ce_op down_op;
    int64_t last_join_req;
    int rep_up; /* replicant: the leader confirmed this process is in the member table */
    /* `ctl cluster join|leave` (member.c): Raft restarts on an empty state (old one archived),
     * alone or to join */
    int resetting;  /* the old Raft instance is closing */
    int reset_join; /* after it: join join_target's cluster (else: a cluster of one) */
    char join_target[256];
    int manual_join; /* deciding for a join: never form a cluster ourselves */
    int leaving;     /* asked to leave: LEAVE_REQ until we are out */
    int64_t leave_next;
    st_craft *retired; /* the previous Raft instance, freed at the next reset or at stop */
    /* replicants tail a core's applied log (tail.c): the core's ring of applied entries, which
     * holds every entry after tail_base; the replicant's link to the core it tails */
    st_tail_ent tail_ring[ST_TAIL_RING];
    size_t tail_head, tail_n, tail_bytes;
    uint64_t tail_base;
    st_link *tail_link;
    int tail_served; /* a replicant has tailed us: the ring is kept from then on */
    int64_t tail_asked;
    uint64_t probe_seq;
    int registry_on;  /* the cluster has had another member: sessions are registered (reg.c) */
    uint64_t reg_inc; /* the incarnation our registrations were made under */
    struct reg_req **reg_q; /* registrations waiting for the batch in flight (reg.c) */
    size_t reg_head, reg_len, reg_cap;
    int reg_busy;
    struct st_submit *submits; /* writes waiting for the leader (propose.c) */
    uint64_t submit_seq;
    /* the bootstrap decision (control.c) and what discovery fed it */
    int disc_answered; /* discovery answered: disc[] is the node list it gave */
    int ndisc;
    char disc[ST_PLANE_MAX_CANDIDATES][256];
    int deciding; /* Raft not started yet: form a cluster or join one? */
    char raft_dir[600];
    int64_t decide_after;
    int wait_logged;
    char forming[300]; /* deciding: what it waits for, for the API (view_lock) */
};

int64_t st_cl_now(const st_plane *c);

/* control.c */
int st_cl_control_start(st_plane *c, char *err, size_t errlen);
void st_cl_on_link_up(st_plane *c, st_link *l);
void st_cl_control_tick(st_plane *c);
void st_cl_control_free(st_plane *c);
/* Frame and stream handlers with the links (at start). */
void st_cl_control_register(st_plane *c);
void st_cl_propose_register(st_plane *c);
void st_tail_register(st_plane *c);

/* plane.c: p is out of our picture (left, down, or we left): its link closes (after
 * GOODBYE{bye} unless bye is 0), and the data lanes drop what they hold for it (env.gone). */
void st_cl_drop_peer(st_plane *c, st_peer *p, uint8_t bye, int how, const char *why);

/* control.c */
int st_cl_is_member(st_plane *c);
/* A member of a formed cluster, past joining (what the status calls "in a cluster"). */
int st_cl_formed(st_plane *c);
const char *st_cl_leader_name(st_plane *c); /* as this node knows it, or NULL */
/* A new state machine and Raft instance (not started) for the control plane. */
int st_cl_plane_new(st_plane *c);
int st_cl_replicant_fsm(st_plane *c);
void st_cl_self_reset(st_plane *c);
void st_cl_ask_leader(st_plane *c, st_link *l);

/* propose.c: writes to the replicated tables from any node (docs/cluster.md §5.4). done
 * runs once: 0 when the ops are applied at the leader, ST_EINVAL if it refused them,
 * ST_EIO after 30 s without a leader (never, if patient), ST_ECLOSED at stop. */
typedef void (*st_cl_done)(void *arg, int status);
int st_cl_submit(st_plane *c, const ce_op *ops, uint32_t n, int patient, st_cl_done done,
                 void *arg);
void st_cl_propose_tick(st_plane *c);
void st_cl_propose_free(st_plane *c);

/* reg.c: this node's side of the client-id registry (registry.h) */
/* A registration the workers posted (up: a CONNECT at hlc; else its session ended),
 * queued; flush submits them, one batch at a time, in their order. */
void st_cl_registry_add(st_plane *c, const char *cid, size_t len, uint64_t hlc, int up);
void st_cl_registry_flush(st_plane *c);
void st_cl_registry_free(st_plane *c);
void st_cl_registry_tick(st_plane *c);
void st_cl_registry_purge(st_plane *c, uint64_t node_id, uint64_t incarnation);

/* tail.c: replicants tail a core's applied log (docs/cluster.md §5.5) */
/* A core: what its replicants have not had yet goes out. A replicant: tail a core if it
 * does not. */
void st_tail_tick(st_plane *c);
void st_tail_link_down(st_plane *c, st_link *l);
void st_tail_free(st_plane *c);
/* craft hooks (a core): an entry applied at index; a snapshot restored at index */
void st_tail_applied(void *arg, uint64_t index, const void *p, size_t n);
void st_tail_restored(void *arg, uint64_t index);

/* member.c: `ctl cluster join|leave`, and being removed by the others */
void st_cl_join(st_plane *c, const char *target);
void st_cl_leave(st_plane *c);
void st_cl_removed(st_plane *c, const char *by);
void st_cl_member_tick(st_plane *c);
void st_cl_force_leave(st_plane *c, const char *name);

#endif
