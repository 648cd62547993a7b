/* http.h — HTTP/1.1 request heads, pure (no I/O): what the admin API's server reads. */
#ifndef ST_NET_HTTP_H
#define ST_NET_HTTP_H

#include <stddef.h>

typedef struct st_http_req {
    char method[8];
    char path[512]; /* without the query string */
} st_http_req;

/* Parse a request head: 1 complete (req filled), 0 need more, -1 malformed. */
int st_http_parse(const char *buf, size_t len, st_http_req *req);
const char *st_http_reason(int status);

#endif
