/* subscriptions.h — EMQX's subscription APIs (docs/operations.md "Subscriptions and
 * topics"): GET /api/v5/subscriptions (every node's, filtered, paged), GET /api/v5/topics
 * and /topics/{topic} (the filters each node has subscribers for), and a client's own,
 * wherever it is: GET /clients/{clientid}/subscriptions, POST .../subscribe[/bulk] and
 * .../unsubscribe[/bulk]. Each node answers for its sessions (broker/subsapi.h). */
#ifndef ST_ADMIN_SUBSCRIPTIONS_H
#define ST_ADMIN_SUBSCRIPTIONS_H

#include "admin/api.h"

/* 1 if the request was for one of those paths (resp filled), else 0. */
int st_api_subscriptions(const st_api *api, const st_http_req *req, st_http_resp *resp);
/* This node's answer to ST_ASK_SUBS (arg "<want>\n<T|S>\n<query>": topics or subscriptions,
 * paged.h's shape) and ST_ASK_CLIENT_SUBS (arg "<op>\n<clientid>\n<body>": "" when the
 * session is not here). Malloc'd; NULL for another question. */
char *st_api_subscriptions_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                                  size_t *len);

#endif
