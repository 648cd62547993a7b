/* client_msgs.h — a client's queued and inflight messages (EMQX's GET
 * /api/v5/clients/{clientid}/mqueue_messages and .../inflight_messages, docs/operations.md
 * "Clients"), wherever its session is. */
#ifndef ST_ADMIN_CLIENT_MSGS_H
#define ST_ADMIN_CLIENT_MSGS_H

#include "admin/api.h"

/* op "mqueue_messages" or "inflight_messages": resp filled (params limit, position,
 * payload = base64 | plain | none, max_payload_bytes). */
void st_api_client_msgs(const st_api *api, const char *cid, const char *op, const st_http_req *req,
                        st_http_resp *resp);
/* This node's part (ST_ASK_CLIENT_MSGS, arg "<Q|I>\n<clientid>\n<from> <limit> <payload>
 * <max bytes>"): {"total": N, "data": [...]}, or "" when the session is not here. */
char *st_api_client_msgs_answer(const st_api *api, const char *arg, size_t arglen, size_t *len);

#endif
