/* users.h — the built-in database's users over the API (EMQX's
 * /api/v5/authentication/{id}/users[/{user_id}]: list with paging and filters, create, read,
 * update, delete). Writes go through the cluster's replicated table and answer once the
 * leader has applied them; reads come from this node's copy. */
#ifndef ST_ADMIN_USERS_H
#define ST_ADMIN_USERS_H

#include "admin/api.h"

/* 1 if the request was for these paths (resp filled), else 0. */
int st_api_users(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
