/* sys.h — the $SYS topics (EMQX's, docs/operations.md "$SYS topics"): every
 * sys_topics.sys_msg_interval a node publishes $SYS/brokers (the running nodes), its version,
 * sysdescr, stats and metrics under $SYS/brokers/<node>/; every sys_heartbeat_interval its
 * uptime and datetime; and, as they happen and as sys_event_messages enables them, a JSON
 * event for each client connected, disconnected, subscribed and unsubscribed. QoS 0,
 * published as a will is (retained ones kept, every node's subscribers reached; authorization
 * applies to the subscribers). Worker threads. */
#ifndef ST_BROKER_SYS_H
#define ST_BROKER_SYS_H

#include "broker/worker.h"

#include <stddef.h>
#include <stdint.h>

enum {
    ST_SYS_EV_CONNECTED = 1,
    ST_SYS_EV_DISCONNECTED = 2,
    ST_SYS_EV_SUBSCRIBED = 4,
    ST_SYS_EV_UNSUBSCRIBED = 8
};

struct st_client;
/* The running nodes' names joined by ',' into out (at most cap bytes, NUL included). */
typedef void (*st_sys_nodes_fn)(void *ctx, char *out, size_t cap);

/* Before the workers start: the version to publish, and who lists the running nodes (NULL:
 * this node alone). 0 or ST_ENOMEM. */
int st_sys_setup(st_broker *b, const char *version, st_sys_nodes_fn nodes, void *ctx);
void st_sys_free(st_broker *b);
/* Worker 0's tick: what is due. */
void st_sys_tick(st_worker *w, int64_t now);
/* Events, on the client's worker (nothing when not enabled). reason: disconnected's. */
void st_sys_connected(st_worker *w, const struct st_client *c);
void st_sys_disconnected(st_worker *w, const struct st_client *c, const char *reason);
/* A SUBSCRIBE's filter granted (unsub 0) or an UNSUBSCRIBE's (unsub 1). */
void st_sys_subscribed(st_worker *w, const struct st_client *c, const char *filter, size_t len,
                       int qos, int unsub);

/* EMQX's $SYS/brokers/<node>/alarms/activate and .../deactivate: al as JSON, posted to a
 * worker (any thread but a worker's; it does not wait). */
struct st_alarm;
void st_sys_alarm(st_broker *b, const struct st_alarm *al, int active);

#endif
