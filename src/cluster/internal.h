/* internal.h — the cluster thread's private state, shared by cluster.c (lifecycle,
 * listener, tick), link.c (one connection: I/O and handshake) and peers.c (who we know,
 * dialling, link up/down). Everything here is touched by the cluster thread only, except
 * the stop request (uv_async). */
#ifndef ST_CLUSTER_INTERNAL_H
#define ST_CLUSTER_INTERNAL_H

#include "cluster/cluster.h"
#include "cluster/craft.h"
#include "cluster/fsm.h"
#include "core/hlc.h"
#include "core/mpsc.h"
#include "core/strmap.h"
#include "cwire/cwire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#define ST_CL_TICK_MS 200
#define ST_CL_HANDSHAKE_MS 5000
#define ST_CL_DIAL_MIN_MS 200
#define ST_CL_DIAL_MAX_MS 5000
#define ST_CL_MAX_PEERS 256
#define ST_CL_REFUSE_LOG_MS 60000

typedef struct st_peer st_peer;
typedef struct st_link st_link;

enum st_link_state {
    ST_L_CONNECTING, /* dialer: connect() in progress */
    ST_L_WAIT_WELCOME,
    ST_L_WAIT_READY,
    ST_L_WAIT_HELLO, /* acceptor */
    ST_L_WAIT_PROOF,
    ST_L_READY,
    ST_L_CLOSED,
};

struct st_link {
    st_cluster *cl;
    int fd;
    uv_poll_t poll;
    int dialer;
    uint8_t stream;
    int state;
    uint8_t nonce_d[CW_NONCE], nonce_a[CW_NONCE];
    char peer_name[256];
    char addr[256]; /* the peer's socket address, ip:port */
    uint64_t peer_boot;
    st_peer *peer; /* set once READY (and for a dialer, from the start) */
    uint8_t *in;
    size_t ilen, icap;
    uint8_t *out;
    size_t olen, ooff, ocap;
    int64_t started, last_rx, last_tx;
    int64_t rtt_us;
    int polling_out;
    int handed;           /* given away (RAFT, DATA): the fd and the input are not ours any more */
    void *raft_token;     /* RAFT stream we dial for libraft (craft.h) */
    uint64_t peer_id;     /* from HELLO / WELCOME */
    uint8_t peer_role;    /* CW_ROLE_* from HELLO / WELCOME */
    uint64_t tail_next;   /* a replicant tails our applied log from this index (0: it does not) */
    int tail_snap;        /* it needs the state machine's image first */
    uint16_t lane;        /* DATA stream: the sender's lane (its worker) */
    uint64_t route_seq;   /* CONTROL: ROUTE_* frames sent on this link */
    uint64_t route_acked; /* CONTROL: route items (st_cl_item.seq) the peer confirmed */
    struct {
        uint64_t frame, item;
    } route_pend[32]; /* frames sent and not acked: the last item each one carried */
    uint32_t npend;
    char hello_addr[256]; /* the peer's cluster address, host:port, from its HELLO */
    st_link *next;
};

#define ST_CL_MAX_LANES 64 /* = the broker's worker limit */

enum { ST_LANE_IDLE, ST_LANE_DIALING, ST_LANE_HANDED };

struct st_peer {
    char name[256];
    char host[200];
    int port;
    uint16_t slot;                  /* its index in peers[]: the node slot in routes and lanes */
    uint64_t boot;                  /* of the last READY CONTROL link */
    uint8_t lanes[ST_CL_MAX_LANES]; /* our outbound data lanes to it (ST_LANE_*) */
    int64_t lane_retry;
    st_strmap *routes; /* filter → sync generation, the routes it announced */
    uintptr_t route_gen;
    uint64_t routes_rx; /* route ops received */
    size_t nroutes;     /* published under view_lock for the API */
    st_link *link;      /* the READY CONTROL link, or NULL */
    st_link *dialing;   /* our dial in progress, or NULL */
    int64_t next_dial, backoff;
    int64_t last_refuse_log;
    int64_t down_at;     /* when its CONTROL link went down (or we met it) */
    uint64_t purged_inc; /* the incarnation whose DOWN we have applied here */
    int member;          /* it said (HELLO / WELCOME flag) that it is in a cluster */
    int left;            /* its row says left: not dialled (it may still dial us) */
    int forgotten;       /* we left (or are joining elsewhere): not dialled until met again */
    uint64_t probe_id;   /* the leader's indirect probe about it (control.c) */
    int64_t probe_at;    /* 0: none in progress */
    char probe_ok[256];  /* the member that answered it reaches it ("" : none yet) */
};

/* Items other threads post to the cluster thread (st_cl_post). */
enum {
    ST_CLI_ROUTE,
    ST_CLI_LANE_DOWN,
    ST_CLI_FORCE_LEAVE,
    ST_CLI_JOIN,
    ST_CLI_LEAVE,
    ST_CLI_REGISTER, /* s: client id, seq: registration hlc, count: 1 up / 0 ended */
    /* a session move (move.h): slot ST_MOVE_ASK_SLOT: worker `lane` asks where client id s
     * (registration seq, flags count) is held; else s is a MOVE frame for node slot */
    ST_CLI_MOVE,
    ST_CLI_EVACUATE, /* hand every session to the other members (move.h) */
};
typedef struct st_cl_item {
    st_mpsc_node node;
    int kind;
    uint16_t slot, lane; /* LANE_DOWN */
    uint32_t count;      /* ROUTE: 1/0 for a plain filter, members for a shared group */
    uint64_t seq;        /* ROUTE: its number in b->route_posted */
    uint64_t hint;       /* MOVE ask: the node to ask (0: the one the registry names) */
    uint32_t len;        /* of s */
    uint32_t glen;       /* ROUTE: > 0 for a shared group */
    char s[];            /* ROUTE: the index key: the filter, or "$share/<group>/<filter>" */
} st_cl_item;

struct st_fwd;

#define ST_TAIL_RING 1024
typedef struct st_tail_ent {
    uint64_t index;
    uint8_t *p;
    uint32_t n;
} st_tail_ent;

struct st_cluster {
    st_cluster_cfg cfg;
    struct st_broker *broker; /* attached (st_cluster_attach), or NULL */
    struct st_fwd *fwd;       /* data lanes on the broker's workers */
    st_mpsc inbox;
    uv_async_t wake;
    atomic_int accepting; /* posts wake the loop (cleared at stop) */
    st_strmap *routes;    /* filters with local subscribers, as announced (once routes_on) */
    int routes_on;        /* a peer has linked: the index above is kept from then on */
    uint64_t routes_tx;   /* route ops sent */
    size_t nroutes;       /* published under view_lock for the API */
    uint64_t route_done;  /* the last route item handled (sent to every live link) */
    const st_log *log;
    uint64_t boot, node_id;
    int port; /* the bound cluster.listen port (peers are dialled on it too) */
    uv_loop_t loop;
    uv_async_t stop;
    uv_timer_t tick;
    uv_poll_t lpoll;
    int lfd;
    pthread_t th;
    int running;
    int stopping;
    st_link *links;
    st_peer *peers[ST_CL_MAX_PEERS];
    int npeers;
    pthread_mutex_t view_lock; /* guards peers[] and their link pointers for st_cluster_view */
    char last_refused[256];    /* acceptor-side refusal log, rate limited */
    st_hlc hlc;                /* stamps the entries we propose */
    st_fsm *fsm;               /* applied under view_lock */
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
    int64_t last_refuse_log;
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
    int64_t next_gc; /* retained tombstones (cluster.c) */
    uint64_t probe_seq;
    int registry_on; /* the cluster has had another member: sessions are registered (reg.c) */
    /* for the workers: registry_on (a CONNECT may find its session on another node) */
    atomic_int moves_on;
    atomic_int evac_state; /* st_cluster_evacuate: 0 asked, 1 under way, -1 nobody takes them */
    int leave_evac;        /* the evacuation is a leave's (member.c): it ends with the leave */
    int64_t evac_until, evac_moved_at;
    long evac_best;
    uint64_t reg_inc;   /* the incarnation our registrations were made under */
    st_cl_item **reg_q; /* registrations waiting for the batch in flight (reg.c) */
    size_t reg_head, reg_len, reg_cap;
    int reg_busy;
    struct st_submit *submits; /* writes waiting for the leader (propose.c) */
    uint64_t submit_seq;
    /* discovery (discovery.h) and the bootstrap decision it feeds (control.c) */
    st_discovery *disco;
    int disc_answered; /* discovery answered: disc[] is the node list it gave */
    int ndisc;
    char disc[ST_DISC_MAX_NAMES][256];
    int deciding; /* Raft not started yet: form a cluster or join one? */
    char raft_dir[600];
    int64_t decide_after;
    int wait_logged;
    char forming[300]; /* deciding: what it waits for, for the API (view_lock) */
};

int64_t st_cl_now(st_cluster *c);
/* From any thread: queue an item for the cluster thread and wake it. */
void st_cl_post(st_cluster *c, st_cl_item *it);

/* control.c */
int st_cl_control_start(st_cluster *c, char *err, size_t errlen);
void st_cl_on_link_up(st_cluster *c, st_link *l);
void st_cl_join_request(st_cluster *c, st_link *l, const cw_join_req *j);
void st_cl_join_result(st_cluster *c, st_link *l, const cw_join_result *r);
void st_cl_control_tick(st_cluster *c);
void st_cl_control_free(st_cluster *c);

/* link.c */
st_link *st_link_accept(st_cluster *c, int fd);
st_link *st_link_dial(st_cluster *c, st_peer *p);
/* A RAFT stream for libraft to host:port; handed to it once READY (craft.h). */
st_link *st_link_dial_raft(st_cluster *c, const char *host, int port, void *token);
/* Our data lane `lane` to p; handed to the worker once READY (forward.h). */
st_link *st_link_dial_data(st_cluster *c, st_peer *p, uint16_t lane);
void st_link_close(st_link *l, const char *why);
void st_link_send(st_link *l, const uint8_t *frame, size_t n);
void st_link_send_goodbye(st_link *l, uint8_t reason);
void st_link_tick(st_link *l, int64_t now);

/* cluster.c: the address to dial for a peer's host (discovery's, for SRV targets). */
const char *st_cl_resolve(const st_cluster *c, const char *host);

/* control.c */
int st_cl_is_member(st_cluster *c);
/* A member of a formed cluster, past joining (what the status calls "in a cluster"). */
int st_cl_formed(st_cluster *c);
const char *st_cl_leader_name(st_cluster *c); /* as this node knows it, or NULL */
void st_cl_probe_request(st_cluster *c, st_link *l, const cw_probe *q);
void st_cl_probe_response(st_cluster *c, st_link *l, const cw_probe *a);
/* A new state machine and Raft instance (not started) for the control plane. */
int st_cl_plane_new(st_cluster *c);
int st_cl_replicant_fsm(st_cluster *c);
void st_cl_self_reset(st_cluster *c);
void st_cl_ask_leader(st_cluster *c, st_link *l);

/* propose.c: writes to the replicated tables from any node (docs/cluster.md §5.4). done
 * runs once: 0 when the ops are applied at the leader, ST_EINVAL if it refused them,
 * ST_EIO after 30 s without a leader (never, if patient), ST_ECLOSED at stop. */
typedef void (*st_cl_done)(void *arg, int status);
int st_cl_submit(st_cluster *c, const ce_op *ops, uint32_t n, int patient, st_cl_done done,
                 void *arg);
void st_cl_propose_request(st_cluster *c, st_link *l, const cw_propose *p);
void st_cl_propose_result(st_cluster *c, st_link *l, const cw_propose_result *r);
void st_cl_propose_tick(st_cluster *c);
void st_cl_propose_free(st_cluster *c);

/* reg.c: this node's side of the client-id registry (registry.h) */
void st_cl_registry_post(st_cluster *c, const char *cid, size_t len, uint64_t hlc, int up);
/* Takes the items: queued, and submitted one batch at a time in their order. */
void st_cl_registry_batch(st_cluster *c, st_cl_item **items, size_t n);
void st_cl_registry_free(st_cluster *c);
void st_cl_registry_tick(st_cluster *c);
void st_cl_registry_purge(st_cluster *c, uint64_t node_id, uint64_t incarnation);

/* tail.c: replicants tail a core's applied log (docs/cluster.md §5.5) */
void st_tail_request(st_cluster *c, st_link *l, const cw_tail_req *t);
void st_tail_entries(st_cluster *c, st_link *l, const cw_log_entries *e);
void st_tail_snapshot(st_cluster *c, st_link *l, const cw_tail_snapshot *s);
/* A core: what its replicants have not had yet goes out. A replicant: tail a core if it
 * does not. */
void st_tail_tick(st_cluster *c);
void st_tail_link_down(st_cluster *c, st_link *l);
void st_tail_free(st_cluster *c);
/* craft hooks (a core): an entry applied at index; a snapshot restored at index */
void st_tail_applied(void *arg, uint64_t index, const void *p, size_t n);
void st_tail_restored(void *arg, uint64_t index);

/* member.c: `ctl cluster join|leave`, and being removed by the others */
void st_cl_join(st_cluster *c, const char *target);
void st_cl_leave(st_cluster *c);
void st_cl_removed(st_cluster *c, const char *by);
void st_cl_member_tick(st_cluster *c);
void st_cl_force_leave(st_cluster *c, const char *name);
void st_cl_leave_request(st_cluster *c, const cw_leave_req *r);

/* peers.c */
st_peer *st_peer_get(st_cluster *c, const char *name, int create);
void st_peers_tick(st_cluster *c, int64_t now);
/* A link finished its handshake: keep it (1) or it lost to a duplicate (0, closed). */
int st_peer_link_up(st_cluster *c, st_link *l);
void st_peer_link_down(st_cluster *c, st_link *l, const char *why);
void st_peer_dial_failed(st_cluster *c, st_peer *p);
/* p is out of our picture (left, down, or we left): its link closes (after GOODBYE{bye}
 * unless bye is 0), its routes go, and what is queued for it unless keep (declared down:
 * the same process may come back and resume). */
void st_peer_gone(st_cluster *c, st_peer *p, uint8_t bye, int keep, const char *why);

#endif
