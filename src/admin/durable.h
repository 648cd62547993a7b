/* durable.h — GET /api/v5/durable_storage: this node's durable store (docs/durability.md §8):
 * whether it takes writes, its size on disk, its sessions and messages, its rounds. */
#ifndef ST_ADMIN_DURABLE_H
#define ST_ADMIN_DURABLE_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/durable_storage (resp filled), else 0. */
int st_api_durable(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
