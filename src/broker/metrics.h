/* metrics.h — the broker's counters, with EMQX's names (docs/operations.md "Metrics"):
 * counted on each worker in its own slots, which only that worker writes (a relaxed load and
 * store: no shared atomic operation, no lock on the hot path), and summed when asked from any
 * thread. Packets by type are two runs of slots indexed by the MQTT packet type. */
#ifndef ST_BROKER_METRICS_H
#define ST_BROKER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Counted one by one (X(id, EMQX name)). */
#define ST_METRICS(X)                                                                              \
    X(BYTES_RECEIVED, "bytes.received")                                                            \
    X(BYTES_SENT, "bytes.sent")                                                                    \
    X(MESSAGES_QOS0_RECEIVED, "messages.qos0.received")                                            \
    X(MESSAGES_QOS1_RECEIVED, "messages.qos1.received")                                            \
    X(MESSAGES_QOS2_RECEIVED, "messages.qos2.received")                                            \
    X(MESSAGES_QOS0_SENT, "messages.qos0.sent")                                                    \
    X(MESSAGES_QOS1_SENT, "messages.qos1.sent")                                                    \
    X(MESSAGES_QOS2_SENT, "messages.qos2.sent")                                                    \
    X(MESSAGES_DROPPED_NO_SUBSCRIBERS, "messages.dropped.no_subscribers")                          \
    X(MESSAGES_RETAINED, "messages.retained")                                                      \
    X(PACKETS_CONNACK_ERROR, "packets.connack.error")                                              \
    X(PACKETS_CONNACK_AUTH_ERROR, "packets.connack.auth_error")                                    \
    X(PACKETS_PUBLISH_AUTH_ERROR, "packets.publish.auth_error")                                    \
    X(PACKETS_SUBSCRIBE_AUTH_ERROR, "packets.subscribe.auth_error")                                \
    X(CLIENT_CONNECTED, "client.connected")                                                        \
    X(CLIENT_DISCONNECTED, "client.disconnected")                                                  \
    X(SESSION_CREATED, "session.created")                                                          \
    X(SESSION_RESUMED, "session.resumed")                                                          \
    X(SESSION_TAKENOVER, "session.takenover")                                                      \
    X(SESSION_DISCARDED, "session.discarded")                                                      \
    X(SESSION_TERMINATED, "session.terminated")                                                    \
    X(AUTHENTICATION_SUCCESS, "authentication.success")                                            \
    X(AUTHENTICATION_FAILURE, "authentication.failure")                                            \
    X(AUTHORIZATION_ALLOW, "authorization.allow")                                                  \
    X(AUTHORIZATION_DENY, "authorization.deny")

enum st_metric {
#define ST_M_ENUM(id, name) ST_M_##id,
    ST_METRICS(ST_M_ENUM)
#undef ST_M_ENUM
        ST_M_RX,            /* + packet type (1..15): packets received by type */
    ST_M_TX = ST_M_RX + 16, /* + packet type: packets sent by type */
    ST_M_N = ST_M_TX + 16
};

/* A worker's slots (worker.h, st_worker.metrics). */
typedef struct st_metrics {
    _Alignas(64) _Atomic uint64_t v[ST_M_N];
} st_metrics;

/* Only the owning worker calls this. */
static inline void st_metric_add(st_metrics *m, int id, uint64_t n)
{
    atomic_store_explicit(&m->v[id], atomic_load_explicit(&m->v[id], memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* The name of counter id (one of ST_METRICS), or NULL. */
const char *st_metric_name(int id);

struct st_broker;
/* Any thread: every worker's counters summed (out[ST_M_N]), and the deliveries dropped by
 * reason (drop[ST_DROP_REASONS], worker.h). */
void st_metrics_sum(const struct st_broker *b, uint64_t *out, uint64_t *drop);

/* This node's gauges (EMQX's stats). */
typedef struct st_stats {
    long connections;   /* open MQTT connections, every listener */
    long sessions;      /* sessions, connected or not */
    long subscriptions; /* subscriptions, shared ones' members included */
    long retained;      /* retained messages */
} st_stats;
/* Any thread (each worker keeps its sessions' count). */
void st_stats_get(struct st_broker *b, st_stats *out);

/* The figures with EMQX's names (docs/operations.md "Metrics and stats"): every counter, and
 * the ones made of them (packets.received, messages.sent, delivery.dropped, ...); the stats.
 * Any thread. How many are in out (at most max; ST_METRICS_NAMED is room for all). */
#define ST_METRICS_NAMED 96
typedef struct st_metric_fig {
    const char *name;
    uint64_t v;
} st_metric_fig;
size_t st_metrics_named(const struct st_broker *b, st_metric_fig *out, size_t max);
size_t st_stats_named(struct st_broker *b, st_metric_fig *out, size_t max);

#endif
