/* worker.h — a worker thread: its epoll loop, its connections and sessions, and its inbox.
 * Everything reachable from a worker is touched by that worker's thread only; other
 * threads talk to it by pushing st_imsg items into the inbox and writing its eventfd. */
#ifndef ST_WORKER_H
#define ST_WORKER_H

#include "broker/msg.h"
#include "broker/retain.h"
#include "broker/settings.h"
#include "broker/subs.h"
#include "core/hlc.h"
#include "core/log.h"
#include "core/loop.h"
#include "broker/metrics.h"
#include "core/mpsc.h"
#include "core/strmap.h"
#include "net/linger.h"

#include <pthread.h>
#include <stdatomic.h>

struct st_client;
struct st_session;

enum st_imsg_kind {
    ST_IM_DELIVER,
    ST_IM_HANDOFF,
    ST_IM_STOP,
    ST_IM_REMOTE,
    ST_IM_AUTH,
    ST_IM_CALL
};

typedef struct st_imsg {
    st_mpsc_node node;
    int kind;
    struct st_client *client; /* HANDOFF */
    void *data;               /* REMOTE: the cluster's item; AUTH: the auth job; CALL: call.h */
    st_msg *msg;              /* DELIVER */
    uint32_t n;
    st_target t[]; /* DELIVER */
} st_imsg;

typedef struct st_broker st_broker;

/* Why a delivery was dropped (counted per worker, st_worker.dropped). */
enum st_drop_reason {
    ST_DROP_QUEUE_OFFLINE, /* session queue at max_mqueue_len, client offline */
    ST_DROP_QUEUE_STUCK,   /* ... client connected but not reading (flow.h) */
    ST_DROP_QUEUE_CEILING, /* ... past the hard ceiling of a connected session (flow.h) */
    ST_DROP_QOS0_OFFLINE,  /* QoS 0 to an offline session, mqueue_store_qos0 = false */
    ST_DROP_TOO_LARGE,     /* larger than the client's Maximum Packet Size */
    ST_DROP_REASONS
};
typedef struct st_worker st_worker;

struct st_worker {
    uint16_t id;
    st_broker *b;
    const st_settings *cfg;
    const st_log *log;
    pthread_t th;
    st_loop *loop;
    st_io wake;
    st_mpsc inbox;
    st_io lio[ST_MAX_LISTENERS];
    int nl;
    st_strmap *by_cid;         /* client id → session */
    st_strmap *by_sid;         /* 8-byte sid → session */
    struct st_client *clients; /* all live connections (tick sweeps) */
    struct st_client *clients_tail;
    struct st_client *dirty; /* connections with queued output */
    struct st_client *dead;  /* closed, freed at the next safe point */
    uint8_t *rbuf;
    size_t rbuf_cap;
    st_tvec tv;
    uint64_t rng;
    uint8_t *wake_pending; /* per worker: inbox pushed this iteration */
    int stopping;
    int spare_fd;      /* held open to accept-and-close when the open-file limit is hit */
    int fd_ceiling;    /* accepted descriptors at or above this are refused */
    int accept_paused; /* listeners unwatched until the next tick (no descriptor free) */
    int gated;         /* listeners unwatched until b->accept_held clears */
    struct {           /* max_conn_rate: this worker's share, as a token bucket */
        int64_t tokens, refilled_at;
        int paused; /* the listener is unwatched until tokens come back */
    } rate[ST_MAX_LISTENERS];
    /* written by other threads on every post: a cache line of its own, so that the owner's
     * per-message fields below (lag, depth_checks) do not bounce with it */
    _Alignas(64) atomic_long depth; /* inbox items not yet handled */
    _Alignas(64) int overloaded;    /* some inbox is past ST_INBOX_HIGH: stop reading clients */
    int congested;                  /* subscribers lag: stop reading publishers (flow.h) */
    long lag;                       /* messages queued to connected, progressing sessions here */
    atomic_long lag_pub;            /* lag as last published for the other workers */
    int unpause;                    /* a paused client has had messages queued to it (flow.c) */
    uint32_t depth_checks;          /* flow.c: publishes since the inboxes' depth was read */
    uint32_t npaused;               /* clients whose reading is paused by backpressure */
    uint32_t remote_blocked;        /* data lanes to other nodes past their high mark (remote.h) */
    atomic_int nheld;               /* clients whose output waits for route acks */
    uint64_t next_oid;              /* numbers the messages taken from clients here (st_msg.oid) */
    atomic_ullong dropped[ST_DROP_REASONS]; /* deliveries dropped, by reason (flow.h) */
    st_metrics metrics;                     /* EMQX's counters, this worker's part (metrics.h) */
    atomic_long nsessions;                  /* its sessions (by_cid's size), for the stats */
    struct st_u64map *dedup; /* sessions that moved here lately: copies they hold (dedup.h) */
    st_linger_set linger;    /* connections we ended, read until the peer closes (linger.h) */
    /* calls run in slices (call.h ST_CALL_AGAIN): run again once the events that came
     * meanwhile are handled; their count, and the state slot of the one running */
    st_mpsc later;
    long nlater;
    void **call_state;
    int tracing; /* b->traces is set (trace.h): written on this worker only */
};

/* Backpressure between workers, in inbox items: above HIGH in any worker's inbox, every
 * worker stops reading its clients' sockets (publishers wait in TCP); below LOW in all,
 * reading resumes. Inboxes are still drained meanwhile, so this cannot deadlock. */
/* Descriptors kept free for log files, the data dir and cluster links: a connection
 * accepted as a descriptor at or above RLIMIT_NOFILE - ST_FD_RESERVE is refused. */
#define ST_FD_RESERVE 16
#define ST_INBOX_HIGH 8192
#define ST_INBOX_LOW 2048

struct st_broker {
    st_settings cfg;
    const st_log *log;
    struct st_auth *auth; /* the authenticator chain (NULL: everyone is let in) */
    int nw;
    st_worker *w;
    st_subs *subs;
    st_retain *retain;
    const st_remote_ops *remote; /* set before the workers start, or NULL */
    void *remote_cx;
    /* Route changes posted to other nodes (by the subscription table's hook) and how many of
     * them every linked node has confirmed: a SUBSCRIBE that announced a route holds its
     * client's output (SUBACK, retained messages) until the peers have it (cluster.md §7.2) */
    _Atomic uint64_t route_posted, route_acked;
    st_hlc hlc;          /* versions of retained messages (cluster.md §9.2) */
    uint64_t msg_origin; /* st_msg.origin of messages taken from clients here (0: none kept) */
    atomic_long conns[ST_MAX_LISTENERS];
    atomic_int listener_stopped[ST_MAX_LISTENERS]; /* stopped through the API (listen_ctl.h) */
    /* TLS listeners' contexts (net/tls.h), swapped by st_broker_reload_tls (read atomically);
     * the ones replaced are freed with the broker (open connections may still hold them) */
    st_tls_ctx *tls[ST_MAX_LISTENERS];
    st_tls_ctx **retired;
    size_t nretired;
    pthread_mutex_t reload_lock;
    _Atomic uint64_t next_sid;
    _Atomic int64_t last_refuse_log; /* ms: "refusing connections" is logged once per 10 s */
    struct st_sys *sys;              /* the $SYS topics (sys.h), or NULL: none */
    atomic_int no_quorum;   /* the cluster's registry cannot be reached (a minority side) */
    atomic_int evacuating;  /* sessions are handed to other nodes: CONNECTs get 0x9C */
    atomic_int accept_held; /* listeners not watched yet (st_broker_hold_accept) */
    atomic_int overloaded;  /* flow.c: node-wide states, workers cache them */
    atomic_int congested;
    /* flow.c: connected sessions past half of max_mqueue_len, on every worker; changed at
     * once when one heats or cools, so every worker's publishers stop at their next PUBLISH */
    _Alignas(64) atomic_long hot;
    struct st_durable *durable; /* durable sessions (durable.h), NULL: persistence off */
    int running;
    /* settings changed at run time (st_broker_retune): every version the workers were
     * given, the newest first, freed with the broker (a worker may still read an older one) */
    struct st_tuned *tuned;
    _Atomic(struct st_trace_table *) traces; /* log traces (trace.h), NULL: none */
};

/* Is any log trace defined (trace.h)? The worker's own flag, set by the table's swap on the
 * worker itself: the hooks' fast path is one load of a field of w. */
static inline int st_tracing(const st_worker *w)
{
    return w->tracing;
}

/* The settings st_broker_retune made (retune.c), at st_broker_free. */
void st_broker_tuned_free(st_broker *b);
/* Worker of a client id: every session with this id lives there. */
uint16_t st_worker_for(const st_broker *b, const char *cid, size_t len);
/* The cluster's registry gave cid to a newer connection on another node (`where`): our
 * registration at hlc lost. Unless cid has registered again here since, its connection
 * gets DISCONNECT 0x8E and its session ends here (connect.c). On cid's owner worker. */
void st_worker_kick(st_worker *w, const char *cid, size_t len, uint64_t hlc, const char *where);
/* A kick's hlc for an administrative one (a ban): whatever registered since, DISCONNECT 0x98. */
#define ST_KICK_ADMIN UINT64_MAX
/* Post a registration for every session of w (the cluster's registry starts). */
void st_worker_register_all(st_worker *w);
/* Queue an inbox item for worker `to` (woken at the end of this iteration). */
void st_worker_post(st_worker *from, uint16_t to, st_imsg *m);
/* Match msg and deliver it to every subscriber (local inline, others via inboxes) and
 * forward one copy to every other node with a matching route. aw: the publisher's ack that
 * may wait for those nodes (NULL: none). Returns the number of targets (local subscribers
 * plus nodes). */
size_t st_worker_dispatch(st_worker *w, st_msg *msg, const char *pub_cid, size_t cid_len,
                          st_ackwait *aw);
/* A message that came from another node: local plain subscribers only (DELIVER record)... */
size_t st_worker_dispatch_local(st_worker *w, st_msg *msg);
/* ...or one local member of the shared group named share (SHARED record). Returns 1 if a
 * member took it, 0 if the group has no member here. */
size_t st_worker_deliver_shared(st_worker *w, st_msg *msg, const char *share, size_t len);
/* Route acks advanced: release the clients whose output waited for them. */
void st_worker_routes_acked(st_worker *w);
/* Queue an inbox item for worker `to` and wake it now, from any thread. */
void st_worker_post_now(st_worker *to, st_imsg *m);
struct st_auth_job;
/* An auth thread's finished job (auth/pool.h) back to its client's worker (ST_IM_AUTH); when
 * out of memory its client waits until it goes away. */
void st_worker_post_job(st_worker *to, struct st_auth_job *j);
/* Post an ST_IM_REMOTE item to worker `to` from any thread (the cluster thread). */
void st_worker_post_remote(st_broker *b, uint16_t to, void *data);
/* Deliver to targets owned by this worker (also used for inbox DELIVER batches). */
void st_worker_deliver_local(st_worker *w, st_msg *msg, st_target *t, size_t n);
/* Send a shared-subscription message to another member (the target is gone). */
void st_worker_redispatch(st_worker *w, st_msg *msg, st_sharekey *key, uint64_t gone_sid);
struct st_session *st_worker_session_by_sid(st_worker *w, uint64_t sid);
/* A new empty session for cid, indexed here (NULL on ENOMEM). */
struct st_session *st_worker_session_new(st_worker *w, const char *cid, size_t len);
/* End a session: remove its subscriptions, publish a pending will, redispatch shared
 * messages, free it. */
void st_worker_session_end(st_worker *w, struct st_session *s);
/* Store a retained message (retainer settings apply): stamps msg->rv with the node's clock
 * unless it already carries a version (a copy from another node). 1 if it is now the
 * topic's retained message, 0 if not (an older version, refused by the settings, full). */
int st_worker_store_retained(st_worker *w, st_msg *msg);
/* A message taken from a client here gets its identity across nodes (before it is shared). */
static inline void st_worker_stamp(st_worker *w, st_msg *m)
{
    m->origin = w->b->msg_origin;
    m->oid = m->origin ? ((uint64_t)w->id << 52 | (++w->next_oid & ((1ull << 52) - 1))) : 0;
}
/* Publish a will (or any server-side message): retain handling + dispatch. */
void st_worker_publish(st_worker *w, st_msg *msg);
int st_worker_init(st_worker *w, st_broker *b, uint16_t id);
/* Register listening socket fd as listener index li of this worker. */
int st_worker_listen(st_worker *w, int li, int fd);
void st_worker_destroy(st_worker *w);
void *st_worker_main(void *arg);

#endif
