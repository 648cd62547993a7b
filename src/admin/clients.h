/* clients.h — the cluster's clients (EMQX's /api/v5/clients, docs/operations.md "Clients"):
 * GET /clients lists the sessions of every node (connected or not), filtered and paged;
 * GET /clients/{clientid} shows one wherever it is; DELETE /clients/{clientid} and POST
 * /clients/kickout/bulk kick clients out (their connection closed with 0x98, their session
 * discarded), wherever they are. Each node answers for its own (broker/clients.h). */
#ifndef ST_ADMIN_CLIENTS_H
#define ST_ADMIN_CLIENTS_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/clients... (resp filled), else 0. */
int st_api_clients(const st_api *api, const st_http_req *req, st_http_resp *resp);
/* This node's answer to ST_ASK_CLIENTS (arg "<want>\n<query string>": {"count": N, "data":
 * [the first `want` of its clients that the query's filters match, in client id order]})
 * and ST_ASK_CLIENT_KICK (arg: the client id; "1" kicked here, "0" not here). Malloc'd;
 * NULL for another question. */
char *st_api_clients_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                            size_t *len);

#endif
