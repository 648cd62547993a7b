/* http.h — HTTP/1.1 request heads, pure (no I/O): what the admin API's server reads. */
#ifndef ST_NET_HTTP_H
#define ST_NET_HTTP_H

#include <stddef.h>

typedef struct st_http_req {
    char method[8];
    char path[512];          /* without the query string (still percent-encoded) */
    char query[512];         /* after '?', "" without one */
    char content_type[128];  /* "" without the header */
    char authorization[512]; /* "" without the header */
    char accept[128];        /* "" without the header */
    long content_length;     /* -1 without the header */
    size_t head_len;         /* the head's bytes, its blank line included */
    const char *body;        /* set by the server once the body is read (else NULL) */
    size_t body_len;
} st_http_req;

/* Parse a request head: 1 complete (req filled, body not), 0 need more, -1 malformed (also
 * a Content-Length that is not a number, or a header line without a colon). */
int st_http_parse(const char *buf, size_t len, st_http_req *req);
const char *st_http_reason(int status);
/* Query parameter name of q ("a=1&b=x") percent-decoded into out: its length, or -1 when
 * absent (or it does not fit). */
long st_http_param(const char *q, const char *name, char *out, size_t cap);
/* Percent-decode n bytes of s ('+' stays '+'): the length, or -1 (a bad escape, a NUL, or
 * it does not fit). */
long st_http_unescape(const char *s, size_t n, char *out, size_t cap);

#endif
