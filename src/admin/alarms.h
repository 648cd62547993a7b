/* alarms.h — the cluster's alarms (EMQX's /api/v5/alarms; core/alarm.h holds each node's):
 * GET lists the active ones (activated=true, the default) or the history (activated=false)
 * of every node, paged; DELETE forgets every node's history; POST /alarms/force_deactivate
 * {"node","name"} clears one. */
#ifndef ST_ADMIN_ALARMS_H
#define ST_ADMIN_ALARMS_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/alarms[/force_deactivate] (resp filled), else 0. */
int st_api_alarms(const st_api *api, const st_http_req *req, st_http_resp *resp);
/* This node's answer to ST_ASK_ALARMS (arg "1": the active ones, "0": the history: a JSON
 * array), ST_ASK_ALARMS_FORGET ("{}") and ST_ASK_ALARM_CLEAR (arg "<node>\n<name>": "1" if
 * this node cleared it, else "0"). Malloc'd; NULL for another question. */
char *st_api_alarms_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                           size_t *len);

#endif
