/* broker.h — the node's MQTT broker: worker threads, listeners, sessions, delivery.
 * st_broker_start() opens the listeners and starts the workers; st_broker_stop() asks
 * them to shut down gracefully (DISCONNECT 0x8B to MQTT 5 clients) and joins them. */
#ifndef ST_BROKER_H
#define ST_BROKER_H

#include "broker/settings.h"
#include "core/log.h"

#include <stddef.h>

typedef struct st_broker st_broker;

st_broker *st_broker_new(const st_settings *cfg, const st_log *log);
struct st_auth;
/* Access control at CONNECT (before st_broker_start; the broker does not own it). */
void st_broker_set_auth(st_broker *b, struct st_auth *a);
struct st_auth *st_broker_auth(st_broker *b);
/* Open listeners (SO_REUSEPORT, one socket per worker) and start the worker threads.
 * Returns 0, or a negative ST_E* with a message in err (e.g. port in use). */
int st_broker_start(st_broker *b, char *err, size_t errlen);
/* Before st_broker_start: the listeners are bound but no connection is taken (they wait in
 * the backlog) until st_broker_open_accept. A restarted cluster member learns the other
 * nodes' routes first (docs/cluster.md §7.3). */
void st_broker_hold_accept(st_broker *b);
/* Take connections from now on (any thread; once is enough). */
void st_broker_open_accept(st_broker *b);
/* Graceful shutdown; returns when every worker has exited. */
void st_broker_stop(st_broker *b);
/* Read every TLS listener's certificate, key and CA files again (they may have been
 * replaced): new connections use them, open ones keep theirs. All or nothing: when one does
 * not load, every listener keeps what it had and err says which and why. Returns the number
 * of TLS listeners reloaded, or ST_ECONFIG. Any thread. */
int st_broker_reload_tls(st_broker *b, char *err, size_t errlen);
void st_broker_free(st_broker *b);
/* Settings changed at run time (a config change through the API, docs/operations.md): the
 * fields of ns that may change while clients are connected (st_broker_retunable) are given to
 * every worker, which uses them from its next event on; what a client was told at CONNECT
 * (Receive Maximum, Maximum Packet Size, Topic Alias Maximum) and what the workers were built
 * with stay until a restart. Any thread but a worker's. 0 or ST_ENOMEM. */
int st_broker_retune(st_broker *b, const st_settings *ns);
/* Does a change of config key `key` reach the running broker through st_broker_retune? */
int st_broker_retunable(const char *key);

#endif
