/* client.h — one MQTT network connection on a worker: read buffer, output queue,
 * protocol state, and the packet handlers (one file per packet family). */
#ifndef ST_CLIENT_H
#define ST_CLIENT_H

#include "broker/session.h"
#include "broker/worker.h"
#include "mqtt/mqtt.h"
#include "net/outq.h"
#include "net/ws.h"

/* ARRIVING: CONNECT accepted, its session is on its way from another node (not read, no
 * CONNACK yet: st_session_arrived ends it) */
/* AUTHENTICATING: its CONNECT waits for the auth threads (a slow hash); not read meanwhile */
enum st_client_state {
    ST_CS_NEW,
    ST_CS_ARRIVING,
    ST_CS_CONNECTED,
    ST_CS_CLOSED,
    ST_CS_AUTHENTICATING
};

typedef struct st_client {
    st_io io;
    st_worker *w;
    uint8_t listener;
    uint8_t state;
    uint8_t version;
    uint8_t dirty;
    uint8_t problem_info : 1; /* v5 Request Problem Information */
    uint8_t in_list : 1;
    uint8_t paused : 1;       /* reading stopped by flow control (flow.h) */
    uint8_t proxy_wait : 1;   /* the listener expects a PROXY protocol header first */
    uint8_t publisher : 1;    /* has sent a PUBLISH (flow control may pause it) */
    uint8_t superuser : 1;    /* its authenticator said is_superuser (authorization skipped) */
    uint8_t auth_checked : 1; /* the auth threads have decided (auth_reason) */
    uint8_t auth_reason;      /* their answer: 0 let in, else the v5 reason code */
    uint16_t handoff_to;      /* WebSocket: the worker (+1) to hand it to once feeding is over */
    uint8_t resp_info : 1;    /* ARRIVING: the CONNECT asked for Response Information */
    uint8_t linger : 1;       /* closed by us with a reason: linger (net/linger.h) */
    uint8_t tls_hs : 1;       /* TLS: the handshake is not done yet */
    uint8_t ws_feeding : 1;   /* WebSocket: payloads are being fed (a handoff waits, below) */
    uint8_t xport : 1;        /* TLS or WebSocket (x->tls, x->ws): plain TCP never reads them */
    uint8_t limited : 1;      /* its listener has messages_rate or bytes_rate (rate.h) */
    uint8_t rate_held : 1;    /* reading stopped by those rates until the buckets refill */
    uint8_t rate_logged : 1;  /* that was logged (once per client) */
    uint8_t asks : 1;         /* authorization has an http source (authq.c) */
    uint8_t authz_wait : 1;   /* not read until that source answers (x->auth_job asks it) */
    uint8_t enh_method : 2;   /* MQTT 5 enhanced authentication: 1 SCRAM-SHA-256, 2 -512 */
    uint8_t clean_start : 1;  /* its CONNECT's Clean Start / Clean Session */
    uint16_t keepalive_s;     /* effective keep alive */
    uint16_t recv_max;        /* client's Receive Maximum: our outgoing window */
    uint16_t nalias_in;
    uint32_t max_packet;    /* client's Maximum Packet Size (0: protocol max) */
    uint16_t alias_out_max; /* aliases we may use towards the client */
    uint16_t nalias_out;    /* (the small fields together: 280 bytes at most, a 288-byte chunk) */
    uint32_t hold_dur;      /* output held until its session's writes are on disk (durable.h) */
    int64_t last_rx;
    int64_t last_progress; /* last ack received or bytes written (flow.h) */
    int64_t created;
    uint8_t *ibuf; /* unconsumed input (partial packet), on demand */
    uint32_t ilen, icap;
    st_outq outq;
    st_session *sess;
    char **alias_in;               /* topic aliases from the client, on demand */
    st_strmap *alias_out;          /* topic -> alias we assigned, on demand */
    st_pack *packs, *packs_tail;   /* acks waiting for other nodes, in PUBLISH order */
    uint64_t hold_out;             /* output held until b->route_acked reaches this (0: not held) */
    struct st_client *prev, *next; /* worker's client list */
    struct st_client *dnext;       /* dirty / dead list */
    char peer[48]; /* ip:port ("[ip6]:port", 47 at most): the socket's or the PROXY header's */
    struct st_client_ext *x; /* never NULL: &st_client_none until st_client_x makes its own */
} st_client;

/* What only some connections have: one allocation, made when the first of them is set (by
 * st_client_x), so that a plain TCP client without access control's state pays 8 bytes for
 * all of them (BENCHMARKS.md's idle floor). */
typedef struct st_client_ext {
    st_tls *tls;    /* listeners.ssl, .wss: the connection's TLS (net/tls.h), else NULL */
    st_ws_conn *ws; /* listeners.ws, .wss: its WebSocket layer (net/ws.h), else NULL */
    struct st_auth_job *auth_job;  /* AUTHENTICATING, authz_wait: the job (a reference) */
    struct st_authz_client *authz; /* its rules and cached decisions; NULL: all allowed */
    struct st_authz_own *auth_own; /* its authenticator's acl, until authz takes it */
    struct st_rate *rate;          /* limited: its buckets, from its first packet on */
    struct st_enh *enh;            /* a SCRAM exchange under way (enhauth.c) */
    char *username;                /* its CONNECT's (or certificate's) username, if any */
} st_client_ext;

/* Every field NULL, read-only (in read-only memory: a write through it faults). */
extern const st_client_ext st_client_none;
/* c's own extension, made on first use (set its fields through this); NULL: out of memory. */
st_client_ext *st_client_x(st_client *c);

#define ST_OUTQ_HIGH (1u << 20) /* above this, deliveries wait in the session queue */
#define ST_ALIAS_OUT_CAP 256    /* at most this many server-assigned topic aliases */

st_client *st_client_new(st_worker *w, int fd, uint8_t listener);
/* Not read now: by flow control, by its rates, or while authorization asks its service. */
static inline int st_client_held(const st_client *c)
{
    return c->paused || c->rate_held || c->authz_wait;
}
/* Authorization (auth/authz.h) of its PUBLISH (ST_ACL_PUBLISH) or SUBSCRIBE to topic: 1
 * allowed, 0 denied (and logged). */
int st_client_authorized(st_client *c, int action, const char *topic, size_t len, int qos,
                         int retain);
/* Its listener as EMQX names it ("tcp:default"), in buf. */
const char *st_client_listener_id(const st_client *c, char *buf, size_t cap);
/* Take a connection handed over from another worker. */
void st_client_adopt(st_worker *w, st_client *c);
/* Feed bytes: parses and handles every complete packet. Returns 1 when the caller must
 * not touch c any more (closed, or handed over to another worker), else 0. */
int st_client_input(st_client *c, const uint8_t *p, size_t n);
void st_client_on_io(st_io *io, uint32_t events);
/* Send a packet (encoded into the output queue; flushed before the loop sleeps). */
int st_client_send(st_client *c, const mqtt_packet *pkt);
/* Server-initiated DISCONNECT (v5 only; 3.x just closes) with reason, then close.
 * abnormal: the will is published (as for a network error). */
void st_client_disconnect(st_client *c, uint8_t reason, int abnormal);
/* Close now. abnormal: publish the will per the spec. After a reason was sent (CONNACK
 * refusal, DISCONNECT), set c->linger first: the socket then lingers (net/linger.h). */
void st_client_close(st_client *c, int abnormal);
void st_client_mark_dirty(st_client *c);
/* Move c to the end of its worker's client list (flow.c: fairness between publishers). */
void st_client_to_tail(st_client *c);
int st_client_flush(st_client *c); /* 0 ok, <0 closed; when drained, pumps the session queue */
/* Write what is queued, to the socket or through TLS, once (no epoll change): 1 all written,
 * 0 the socket is full, <0 an error. For a reason sent right before a close. */
int st_client_write_out(st_client *c);
/* The client id a CONNECT stands for: from the client's certificate (peer_cert_as_clientid),
 * the username (use_username_as_clientid; it may come from the certificate too), or the
 * packet's; buf holds a certificate's text. */
#define ST_CERT_ID_MAX 4096
st_bytes st_client_id_of(st_client *c, const mqtt_connect *cn, char *buf, size_t cap);
/* The username the client goes by: its certificate's (peer_cert_as_username) or its
 * CONNECT's; *has says whether there is one. */
st_bytes st_client_username_of(st_client *c, const mqtt_connect *cn, char *buf, size_t cap,
                               int *has);
void st_client_free(st_client *c);
/* A peer "ip:port" or "[ip6]:port" (st_client.peer): its address into ip, its port into
 * *port (NULL: not wanted). */
void st_client_peer_split(const char *peer, char *ip, size_t cap, int *port);
int st_client_writable(const st_client *c);

/* The client is closing: its pending acks will never be sent (publish.c). */
void st_client_packs_orphan(st_client *c);

/* Handlers (connect.c, publish.c, subscribe.c). */
void st_handle_connect(st_client *c, const mqtt_packet *p, const uint8_t *raw, size_t rawlen);
/* An auth job came back from the auth threads (w NULL: the worker is going away). */
void st_connect_auth_done(st_worker *w, void *job);
/* The client goes away while its CONNECT waits for the auth threads. */
void st_connect_auth_cancel(st_client *c);
/* Refuse the CONNECT with this (MQTT 5) reason and close. */
void st_connect_refuse(st_client *c, uint8_t reason5);
/* enhauth.c — MQTT 5 enhanced authentication (SCRAM). A CONNECT with an Authentication
 * Method: the reason to refuse it with, or -1 (AUTH sent, the client's answer awaited). */
int st_enh_connect(st_client *c, const mqtt_packet *p, const uint8_t *raw, size_t rawlen);
void st_handle_auth(st_client *c, const mqtt_packet *p);
/* The CONNACK's Authentication Method and Data after an exchange; then it has been sent. */
void st_enh_connack(st_client *c, mqtt_props *pr);
void st_enh_connack_sent(st_client *c);
void st_enh_free(st_client *c);
/* authq.c — the http authorization source's questions, asked before a PUBLISH or SUBSCRIBE
 * is handled: 1 when c must wait for an answer (it is not read meanwhile, and the packet is
 * handled once the answer is in), else 0. */
int st_authq_before(st_client *c, const mqtt_packet *p);
/* The answer, on c's worker (w NULL: the worker is stopping, drop it). */
void st_authq_done(st_worker *w, void *job);
void st_handle_publish(st_client *c, const mqtt_packet *p);
void st_handle_ack(st_client *c, const mqtt_packet *p);
void st_handle_subscribe(st_client *c, const mqtt_packet *p);
void st_handle_unsubscribe(st_client *c, const mqtt_packet *p);
/* A filter (checked by the caller) added to session s on its worker w, as a SUBSCRIBE's
 * (its client may be offline): the granted QoS, or a reason code >= 0x80. *created: it
 * was new. The caller stores the session (st_durable_session). */
int st_session_subscribe(st_worker *w, st_session *s, const char *f, size_t len,
                         const mqtt_subopts *o, uint32_t sub_id, int *created);
/* A filter removed: 1, or 0 when s had no such subscription. */
int st_session_unsubscribe(st_worker *w, st_session *s, const char *f, size_t len);
/* The retained messages filter f matches, to s's client (none while it is offline). */
void st_session_send_retained(st_worker *w, st_session *s, const char *f, size_t len,
                              uint8_t granted, uint32_t sub_id);

/* The session of an ARRIVING client (or one with no client, moved here) is complete: the
 * registry learns it, the client gets its CONNACK (present: session_present) and what the
 * session holds (connect.c). */
void st_session_arrived(st_worker *w, st_session *s, int present);
/* The session's connection loses it to a newer one: DISCONNECT reason (0x8E, or 0x9C when
 * this node is leaving), its will per the spec; the session stays (connect.c). */
void st_session_take_over(st_worker *w, st_session *s, uint8_t reason);

/* Delivery of one message to a session of this worker (publish.c). */
void st_session_deliver(st_worker *w, st_session *s, st_msg *msg, const st_target *t);
/* Send what the window and socket allow from the session queue. */
void st_session_pump(st_worker *w, st_session *s);
/* On reconnect: resend inflight (DUP) and then the queue. */
void st_session_resume(st_worker *w, st_session *s);

#endif
