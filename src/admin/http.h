/* http.h — the admin module's small HTTP/1.1 server: one request per connection
 * (Connection: close), requests up to 8 KiB, answers built by a handler. */
#ifndef ST_ADMIN_HTTP_H
#define ST_ADMIN_HTTP_H

#include <stddef.h>

typedef struct st_http_req {
    char method[8];
    char path[512];
} st_http_req;

typedef struct st_http_resp {
    int status;
    const char *type; /* Content-Type */
    char *body;       /* malloc'd; freed by the server */
    size_t len;
} st_http_resp;

typedef void (*st_http_handler)(void *ctx, const st_http_req *req, st_http_resp *resp);

/* Parse a request head: 1 complete (req filled), 0 need more, -1 malformed. Pure. */
int st_http_parse(const char *buf, size_t len, st_http_req *req);
const char *st_http_reason(int status);

#endif
