/* authz.h — the API of authorization (EMQX's paths):
 *   GET  /api/v5/authorization/sources          the sources, the file's rules as text
 *   GET  /api/v5/authorization/sources/file     {"type":"file","enable":true,"rules":"..."}
 *   PUT  /api/v5/authorization/sources/file     new rules text: checked, written, in force
 *   POST /api/v5/authorization/sources/file/reload   every node reads its file again
 *                                               (`ctl acl reload`)
 *   DELETE /api/v5/authorization/cache          every client's cached decisions forgotten,
 *                                               on every node
 * A text or file with an error changes nothing: 400 with the line and why.
 * The built_in_database's rules: authz_rules.c. */
#ifndef ST_ADMIN_AUTHZ_H
#define ST_ADMIN_AUTHZ_H

#include "admin/api.h"

/* 1 if the request was for /api/v5/authorization[...] (resp filled), else 0. */
int st_api_authz(const st_api *api, const st_http_req *req, st_http_resp *resp);
/* This node's part of a cache clean or reload asked of every node (ST_ASK_AUTHZ_*): a
 * malloc'd JSON body, {"rules": n}, {} or {"error": "..."}. */
char *st_api_authz_answer(const st_api *api, uint8_t what, size_t *len);
/* .../sources/built_in_database/rules<p> */
struct st_authz;
void st_api_authz_rules(const st_api *api, struct st_authz *z, const char *p,
                        const st_http_req *req, st_http_resp *resp);

#endif
