/* retainer.h — EMQX's retained-message API (docs/operations.md "Retained messages"): GET
 * /api/v5/mqtt/retainer/messages (paged, every node keeps the whole store, so this node's
 * is the cluster's), GET and DELETE /api/v5/mqtt/retainer/message/{topic} (a delete is an
 * empty retained message published, which every node applies). */
#ifndef ST_ADMIN_RETAINER_H
#define ST_ADMIN_RETAINER_H

#include "admin/api.h"

/* 1 if the request was for those paths (resp filled), else 0. */
int st_api_retainer(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
