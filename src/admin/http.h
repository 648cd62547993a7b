/* http.h — the admin module's small HTTP/1.1 server: one request per connection
 * (Connection: close), request heads up to 8 KiB (parsed by net/http.h), answers built by
 * a handler. */
#ifndef ST_ADMIN_HTTP_H
#define ST_ADMIN_HTTP_H

#include "net/http.h"

#include <stddef.h>

typedef struct st_http_resp {
    int status;
    const char *type; /* Content-Type */
    char *body;       /* malloc'd; freed by the server */
    size_t len;
} st_http_resp;

typedef void (*st_http_handler)(void *ctx, const st_http_req *req, st_http_resp *resp);

#endif
