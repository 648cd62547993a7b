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

#endif
