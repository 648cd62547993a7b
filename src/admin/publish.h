/* publish.h — EMQX's publish API (docs/operations.md "Publish"): POST /api/v5/publish and
 * /api/v5/publish/bulk put messages into the cluster as if a client had published them
 * (broker/inject.h), and say whether anybody received them. */
#ifndef ST_ADMIN_PUBLISH_H
#define ST_ADMIN_PUBLISH_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/publish[/bulk] (resp filled), else 0. */
int st_api_publish(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
