/* internal.h — the links part's own state, shared by link.c (one connection: I/O and the
 * handshake) and peers.c (who we know, dialling, which link a pair keeps, the listener).
 * Private to src/cluster/links/ (the layering check refuses it elsewhere). */
#ifndef ST_CLUSTER_LINKS_INTERNAL_H
#define ST_CLUSTER_LINKS_INTERNAL_H

#include "cluster/links/links.h"
#include "net/tls.h"

#define ST_CL_HANDSHAKE_MS 5000
#define ST_CL_DIAL_MAX_MS 5000
#define ST_CL_REFUSE_LOG_MS 60000

enum st_link_state {
    ST_L_CONNECTING, /* dialer: connect() in progress */
    ST_L_TLS,        /* the TLS handshake, before HELLO (cluster.proto_dist = inet_tls) */
    ST_L_WAIT_WELCOME,
    ST_L_WAIT_READY,
    ST_L_WAIT_HELLO, /* acceptor */
    ST_L_WAIT_PROOF,
    ST_L_READY,
    ST_L_CLOSED,
};

struct st_link {
    st_links *ls;
    int fd;
    st_tls *tls; /* with cluster.proto_dist = inet_tls, else NULL */
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
    void *token;          /* RAFT, DATA stream we dialled: the owner's token */
    uint64_t peer_id;     /* from HELLO / WELCOME */
    uint8_t peer_role;    /* CW_ROLE_* from HELLO / WELCOME */
    uint16_t lane;        /* DATA stream: the sender's lane (its worker) */
    char hello_addr[256]; /* the peer's cluster address, host:port, from its HELLO */
    st_link *next;
};

typedef struct st_frame_handler {
    st_frame_fn fn;
    void *owner;
} st_frame_handler;

typedef struct st_stream_handler {
    st_stream_fn ready, failed;
    void *owner;
    int takes_tls; /* the owner takes a TLS stream as it is (else: a tunnel, tunnel.c) */
} st_stream_handler;

typedef struct st_tunnel st_tunnel;

struct st_links {
    st_links_cfg cfg;
    st_links_env env;
    uv_loop_t *loop;
    int lfd;
    int port;
    uv_poll_t lpoll;
    int listening;
    int stopping;
    st_link *list;
    st_peer *peers[ST_LINKS_MAX_PEERS];
    int npeers;
    char last_refused[256]; /* acceptor-side refusal log, rate limited */
    int64_t last_refuse_log;
    st_frame_handler frames[256];
    st_stream_handler streams[4];
    st_tls_ctx *tls_srv, *tls_cli; /* cluster.proto_dist = inet_tls: accepted, dialled */
    st_tunnel *tunnels;
};

int64_t st_links_now(const st_links *ls);

/* link.c */
st_link *st_link_accept(st_links *ls, int fd);
st_link *st_link_dial(st_links *ls, st_peer *p);
void st_link_tick(st_link *l, int64_t now);

/* tunnel.c */
/* Carry the TLS stream (fd, tls: the tunnel's from now on; pre: bytes read behind READY)
 * over a socketpair: the owner's end, or -1 (everything closed). */
int st_tunnel_open(st_links *ls, int fd, st_tls *tls, const uint8_t *pre, size_t npre);
void st_tunnels_stop(st_links *ls);

/* peers.c */
/* A link finished its handshake: keep it (1) or it lost to a duplicate (0, closed). */
int st_peer_link_up(st_links *ls, st_link *l);
void st_peer_link_down(st_links *ls, st_link *l, const char *why);
void st_peer_dial_failed(st_links *ls, st_peer *p);
void st_peers_tick(st_links *ls, int64_t now);
void st_links_event(st_links *ls, int type, st_peer *p, st_link *l, uint64_t prev_boot,
                    uint8_t reason);

#endif
