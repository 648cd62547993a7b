/* links.h — the cluster's connections (docs/cluster.md §3): the cluster.listen socket,
 * dialling the peers with backoff, the handshake (HELLO, WELCOME, PROOF, READY) with the
 * cookie proofs of auth.h, heartbeats and RTT, one CONTROL link per peer (of two, the link
 * the smaller name dialled wins), frames in and out. The cluster thread only.
 *
 * Links know nothing of what the frames mean. Their owners (the control plane, the data
 * lanes) register at start:
 * - a handler per frame type (st_links_on_frame), called for that frame on a READY CONTROL
 *   link; an unregistered type is ignored if the frame says it may be, else the link closes;
 * - a handler per stream type other than CONTROL (st_links_on_stream): a RAFT or DATA stream
 *   that finished its handshake is handed over as a socket (and its TLS connection, with
 *   cluster.proto_dist = inet_tls); a stream type nobody registered is refused;
 * and the wiring gives one callback for the peers' events (st_links_env.on_peer). */
#ifndef ST_CLUSTER_LINKS_H
#define ST_CLUSTER_LINKS_H

#include "core/log.h"
#include "cwire/cwire.h"
#include "net/tls.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ST_LINKS_MAX_PEERS 256
#define ST_LINKS_MAX_LANES 64 /* = the broker's worker limit */
#define ST_LINKS_DIAL_MIN_MS 200

typedef struct st_links st_links;
typedef struct st_link st_link;

/* Why a peer's data lanes stop for good or for now (the plane says it, the data lanes act on
 * it: plane.h env.gone, data.h st_data_gone): it left the cluster, it was declared down,
 * or it said goodbye / this node left. */
enum { ST_GONE_LEFT, ST_GONE_DOWN, ST_GONE_US };

/* A node this one knows: a seed, a discovered name, whoever linked to us. Owned by links;
 * the other parts read it on the cluster thread (slot and name never change). */
typedef struct st_peer {
    char name[256];
    char host[200];
    int port;
    uint16_t slot;   /* its index among the peers: the node slot in routes and lanes */
    uint64_t boot;   /* of its last READY CONTROL link */
    st_link *link;   /* the READY CONTROL link, or NULL (under the view lock) */
    int member;      /* it said (HELLO / WELCOME flag) that it is in a cluster */
    int64_t down_at; /* when its CONTROL link went down (or we met it) */
    int left;        /* its member row says left: not dialled (it may still dial us) */
    int forgotten;   /* we left (or are joining elsewhere): not dialled until met again */
    /* links' own */
    st_link *dialing; /* our dial in progress, or NULL */
    int64_t next_dial, backoff;
    int64_t last_refuse_log;
} st_peer;

/* What a handed-over stream (RAFT or DATA) is. */
typedef struct st_stream {
    int fd;        /* the owner's from now on (-1 in a failure report) */
    st_tls *tls;   /* the owner's too: the TLS connection on fd, for an owner that takes it */
    int outbound;  /* we dialled it */
    st_peer *peer; /* DATA: the peer (made known if it was not); RAFT: NULL */
    uint16_t lane; /* DATA: the dialler's lane */
    uint64_t peer_boot, peer_id;
    const char *addr;   /* the peer's cluster address (host:port) */
    void *token;        /* what the owner gave st_links_dial_stream, or NULL (accepted) */
    const uint8_t *pre; /* bytes read behind READY (the owner copies them) */
    size_t npre;
} st_stream;

typedef void (*st_frame_fn)(void *owner, st_link *l, const cw_frame *f);
/* ready: a stream finished its handshake; failed: one we dialled never got there (fd -1). */
typedef void (*st_stream_fn)(void *owner, const st_stream *s);

enum st_peer_event {
    ST_PEER_UP,      /* p->link is a new READY CONTROL link; prev_boot: p's boot before it */
    ST_PEER_DOWN,    /* its CONTROL link went down (p->link is NULL now) */
    ST_PEER_CLOSED,  /* a READY CONTROL link l closed (it was p's, or lost to a duplicate) */
    ST_PEER_GOODBYE, /* it said GOODBYE (reason: CW_BYE_*); its link is closed */
};
typedef struct st_peer_ev {
    int type;
    st_peer *peer;
    st_link *link;
    uint64_t prev_boot;
    uint8_t reason;
} st_peer_ev;

typedef struct st_links_cfg {
    char node_name[256];
    char cookie[256];
    char cluster_name[128];
    char listen[128]; /* host:port; port 0 = any */
    int role;         /* CW_ROLE_* */
    int64_t link_timeout_ms;
    int tls;              /* cluster.proto_dist = inet_tls: every link and stream over TLS */
    st_tls_opts tls_opts; /* cluster.ssl_options */
} st_links_cfg;

typedef struct st_links_env {
    const st_log *log;
    pthread_mutex_t *view_lock; /* other threads read peers[] and p->link under it */
    uint64_t boot, node_id;
    void *ctx; /* for the functions below */
    void (*on_peer)(void *ctx, const st_peer_ev *ev);
    /* HELLO and WELCOME say whether this node is in a cluster (the bootstrap rule) */
    int (*is_member)(void *ctx);
    /* the address to dial for a host name (discovery's SRV answers), else host itself */
    const char *(*resolve)(void *ctx, const char *host);
} st_links_env;

st_links *st_links_new(const st_links_cfg *cfg, const st_links_env *env);
/* Build the TLS contexts (cfg.tls) and bind cluster.listen (before the loop runs). 0, or <0
 * with a message in err. */
int st_links_listen(st_links *ls, char *err, size_t errlen);
int st_links_port(const st_links *ls); /* the bound port; peers are dialled on it too */
/* Start accepting on loop (the cluster thread's). */
void st_links_start(st_links *ls, uv_loop_t *loop);
void st_links_on_frame(st_links *ls, uint8_t type, st_frame_fn fn, void *owner);
/* takes_tls: the owner takes a TLS stream as its st_tls (st_stream.tls); else it is given a
 * plain socket and the links carry the bytes over TLS for it (a tunnel, Raft's streams). */
void st_links_on_stream(st_links *ls, uint8_t stream, st_stream_fn ready, st_stream_fn failed,
                        void *owner, int takes_tls);
/* Heartbeats, handshake timeouts, dialling. */
void st_links_tick(st_links *ls, int64_t now);
/* Stop: GOODBYE (CW_BYE_SHUTDOWN) on every link, all closed; nothing is dialled again. */
void st_links_stop(st_links *ls);
/* After the loop has ended. */
void st_links_free(st_links *ls);

/* ---- peers ---- */
st_peer *st_links_peer(st_links *ls, const char *name, int create); /* NULL: unknown / full */
int st_links_npeers(const st_links *ls);
st_peer *st_links_peer_at(const st_links *ls, int slot);
/* Its READY CONTROL link, or NULL. */
st_link *st_peer_link(const st_peer *p);
/* p is out of our picture: its link closes, after GOODBYE{bye} unless bye is 0. */
void st_links_drop(st_links *ls, st_peer *p, uint8_t bye, const char *why);
/* Dial p again at once (it had been forgotten). */
void st_peer_redial(st_peer *p);

/* ---- links ---- */
/* Close the streams of this type we are dialling (not handed over yet). */
void st_links_close_streams(st_links *ls, uint8_t stream, const char *why);
/* Every READY CONTROL link, for frames that go to all. */
void st_links_broadcast(st_links *ls, const uint8_t *frame, size_t n);
void st_link_send(st_link *l, const uint8_t *frame, size_t n);
void st_link_send_goodbye(st_link *l, uint8_t reason);
void st_link_close(st_link *l, const char *why);
int st_link_ready(const st_link *l);
st_peer *st_link_peer(const st_link *l); /* NULL before READY on an accepted link */
const char *st_link_peer_name(const st_link *l);
uint64_t st_link_peer_boot(const st_link *l);
uint64_t st_link_peer_id(const st_link *l);
uint8_t st_link_peer_role(const st_link *l);
/* The peer's cluster address from its HELLO (host:port), "" if it did not send one (we
 * dialled it). */
const char *st_link_hello_addr(const st_link *l);
int64_t st_link_rtt_us(const st_link *l);
int64_t st_link_last_rx(const st_link *l); /* when it last received anything (loop time) */

/* A stream of type stream (CW_S_RAFT, CW_S_DATA) to p (DATA: lane) or to host:port (RAFT;
 * p NULL); handed to the registered ready function once READY, or reported to its failed
 * function. 0, or <0 if it cannot start. */
int st_links_dial_stream(st_links *ls, uint8_t stream, st_peer *p, const char *host, int port,
                         uint16_t lane, void *token);

#endif
