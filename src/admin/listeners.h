/* listeners.h — GET /api/v5/listeners over the whole cluster: every node answers the
 * question ST_ASK_LISTENERS with its listeners and their connections; the API merges the
 * answers into EMQX's shape (one entry per listener id, node_status per node, status
 * summed over them). */
#ifndef ST_ADMIN_LISTENERS_H
#define ST_ADMIN_LISTENERS_H

#include "admin/api.h"
#include "admin/sb.h"

#include <stddef.h>

struct st_broker;
/* This node's answer (malloc'd JSON, its length in *len): [{"id", "bind",
 * "max_connections", "current_connections"}, ...]. */
char *st_api_listeners_answer(const struct st_broker *br, size_t *len);
/* The merged list into b. */
void st_api_listeners(sb *b, const st_api *api);
/* POST /api/v5/listeners/{id}/start|stop|restart on every node that has listener id (EMQX's
 * "tcp:default"): 200, 404 BAD_LISTENER_ID when no node has it, 400 with each node's failure
 * (an address that cannot be bound). */
void st_api_listener_op(const st_api *api, const char *id, const char *op, st_http_resp *resp);
/* This node's part (ST_ASK_LISTENER_OP, arg "<op>\n<id>"): "ok", the failure, or "" when it
 * has no such listener. Malloc'd. */
char *st_api_listener_op_answer(const st_api *api, const char *arg, size_t arglen, size_t *len);

#endif
