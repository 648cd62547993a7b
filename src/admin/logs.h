/* logs.h — the node's log level at run time (docs/operations.md "Log level"): GET and PUT
 * /api/v5/log/level, which `starling ctl log primary-level` and `ctl log set-level <level>`
 * call (EMQX's ctl commands; EMQX changes it through its config API). This node only. */
#ifndef ST_ADMIN_LOGS_H
#define ST_ADMIN_LOGS_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/log/level (resp filled), else 0. */
int st_api_logs(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
