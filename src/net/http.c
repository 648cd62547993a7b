/* http.c — HTTP request-head parsing and status texts (net/http.h). */
#include "net/http.h"

#include <stdio.h>
#include <string.h>

int st_http_parse(const char *buf, size_t len, st_http_req *req)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            end = buf + i;
            break;
        }
    if (!end) return 0;
    const char *sp1 = memchr(buf, ' ', (size_t)(end - buf));
    if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof req->method) return -1;
    const char *path = sp1 + 1;
    const char *sp2 = memchr(path, ' ', (size_t)(end - path));
    if (!sp2 || sp2 == path || *path != '/' || (size_t)(sp2 - path) >= sizeof req->path) return -1;
    if ((size_t)(end - sp2) < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) return -1;
    for (const char *c = buf; c < sp1; c++) /* methods are upper-case tokens */
        if (*c < 'A' || *c > 'Z') return -1;
    for (const char *c = path; c < sp2; c++) /* no controls, spaces or bytes past ASCII */
        if (*c < 0x21 || *c > 0x7E) return -1;
    memcpy(req->method, buf, (size_t)(sp1 - buf));
    req->method[sp1 - buf] = 0;
    size_t plen = (size_t)(sp2 - path);
    const char *q = memchr(path, '?', plen); /* the query string is not used yet */
    if (q) plen = (size_t)(q - path);
    memcpy(req->path, path, plen);
    req->path[plen] = 0;
    return 1;
}

const char *st_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}
