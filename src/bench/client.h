/* client.h — private to src/bench: one benchmark connection (bench_conn) and the worker
 * thread that owns it (bench_worker). A worker owns a slice of the clients, its own epoll
 * fd, one scratch read buffer shared by all its connections, and lists of connections to
 * flush and publishers ready to publish. client.c speaks MQTT for one connection; worker.c
 * runs the loop, paces connects and publishes, and follows the coordinator's phases. */
#ifndef ST_BENCH_CLIENT_H
#define ST_BENCH_CLIENT_H

#include "bench/opts.h"
#include "bench/plan.h"
#include "bench/shared.h"
#include "net/tls.h"

#include <stdint.h>

enum bench_conn_state {
    BC_IDLE,    /* not started */
    BC_TCP,     /* non-blocking connect in progress */
    BC_TLS,     /* --tls: the handshake */
    BC_WS,      /* --ws: the upgrade request sent, its answer awaited */
    BC_CONNACK, /* CONNECT sent */
    BC_SUBACK,  /* SUBSCRIBE sent */
    BC_READY,
    BC_CLOSED,
};

typedef struct bench_conn {
    int fd;
    uint8_t role;  /* enum bench_role */
    uint8_t state; /* enum bench_conn_state */
    uint8_t resolved, dirty, in_ready, pub_done, wait_out;
    uint32_t idx; /* index within the role, over the whole run */
    int64_t t_start;
    int64_t last_tx_ns;
    uint8_t *in; /* leftover bytes of an incomplete packet */
    uint32_t in_len, in_cap;
    uint8_t *out; /* queued output, written once per loop iteration */
    uint32_t out_off, out_len, out_cap;
    /* publisher */
    char *topic;
    uint32_t topic_len;
    uint32_t seq; /* next sequence number == messages sent */
    uint32_t acked;
    uint32_t window, inflight, owed;
    uint16_t *free_ids; /* stack of free packet ids in 1..window */
    uint32_t n_free;
    uint8_t *id_state; /* [window + 1]: 0 free, 1 awaiting PUBACK/PUBREC, 2 awaiting PUBCOMP */
    int64_t *id_sent_ns;
    int64_t next_due;
    /* subscriber */
    uint32_t pair_first, pair_count;
    /* --tls, --ws */
    st_tls *tls;
    uint8_t *ws_in; /* bytes read that are not a whole frame yet (first: the 101 answer) */
    uint32_t ws_in_len, ws_in_cap;
    uint8_t *ws_out; /* framed bytes not written yet */
    uint32_t ws_out_off, ws_out_len, ws_out_cap;
} bench_conn;

typedef struct bench_worker {
    const bench_cfg *cfg;
    const bench_plan *plan;
    bench_shared *sh;
    uint32_t slot_id;
    bench_slot *slot;
    bench_hist *lat, *connh, *ackh;
    int epfd;
    int phase;
    int64_t now;
    bench_conn *conns; /* local subscribers first, then local publishers */
    uint32_t nsubs, npubs, sub_base, pub_base;
    uint32_t next_sub, next_pub; /* next local client of each role to connect */
    uint32_t connecting, max_connecting;
    int64_t conn_interval_ns, next_conn_ns, next_tick_ns;
    uint8_t *scratch;
    uint32_t scratch_cap;
    uint8_t *payload; /* payload template: zero padding after the 16-byte header */
    st_tls_ctx *tls;  /* --tls: the client context */
    bench_conn **dirty, **ready, **heap;
    uint32_t ndirty, nready, nheap;
} bench_worker;

/* client.c */
int bench_conn_open(bench_worker *w, bench_conn *c);
void bench_conn_event(bench_worker *w, bench_conn *c, uint32_t events);
/* Queue one PUBLISH (the caller checked bench_conn_can_publish). 0 or ST_E*. */
int bench_conn_publish(bench_worker *w, bench_conn *c);
int bench_conn_can_publish(const bench_worker *w, const bench_conn *c);
/* Write queued output. Returns 0, or ST_E* after closing the connection. */
int bench_conn_flush(bench_worker *w, bench_conn *c);
/* graceful: send DISCONNECT first (best effort). */
void bench_conn_close(bench_worker *w, bench_conn *c, int graceful);
void bench_conn_tick(bench_worker *w, bench_conn *c);
void bench_conn_release(bench_conn *c);

/* worker.c, called back by client.c */
void bench_worker_dirty(bench_worker *w, bench_conn *c);
void bench_worker_resolved(bench_worker *w, bench_conn *c, int ok);
void bench_worker_kick(bench_worker *w, bench_conn *c); /* a publisher may send again */
void bench_worker_check_done(bench_worker *w, bench_conn *c);

/* Run worker slot_id of the run until the STOP phase. Returns 0 or ST_E*. */
int bench_worker_run(const bench_cfg *cfg, const bench_plan *plan, bench_shared *sh,
                     uint32_t slot_id);

#endif
