/* listen_ctl.h — listeners stopped, started and restarted while the node runs (EMQX's
 * POST /api/v5/listeners/{id}/stop|start|restart, docs/operations.md "Listeners"): a stopped
 * listener's sockets are closed on every worker and its connections closed (MQTT 5:
 * DISCONNECT 0x8B server shutting down, as at a node's stop); started, its address is bound
 * again. Any thread but a worker's; one change at a time (the API's thread). */
#ifndef ST_BROKER_LISTEN_CTL_H
#define ST_BROKER_LISTEN_CTL_H

#include "broker/worker.h"

#include <stddef.h>

/* Listener index li stopped (start 0) or started (start 1); nothing to do when it already
 * is. 0, or an ST_E* code with the reason in err (its address cannot be bound, a worker did
 * not answer). */
int st_listener_set(st_broker *b, int li, int start, char *err, size_t errlen);
/* 1 while listener li takes connections. Any thread. */
int st_listener_running(const st_broker *b, int li);

#endif
