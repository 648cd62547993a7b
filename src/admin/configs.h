/* configs.h — /api/v5/configs: the config read and changed through the API (EMQX's
 * endpoints; conf.h does the work). */
#ifndef ST_ADMIN_CONFIGS_H
#define ST_ADMIN_CONFIGS_H

#include "admin/api.h"

/* 1 if req was for a config endpoint (resp filled), else 0. */
int st_api_configs(const st_api *api, const st_http_req *req, st_http_resp *resp);

#endif
