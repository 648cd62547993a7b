/* banned.h — EMQX's /api/v5/banned: list (paged), ban, lift one, lift all. Writes go through
 * the cluster's replicated table; a ban of a client id also ends its live session wherever
 * it is (the cluster's wiring kicks it when the row is applied). */
#ifndef ST_ADMIN_BANNED_H
#define ST_ADMIN_BANNED_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/banned[...] (resp filled), else 0. */
int st_api_banned(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
