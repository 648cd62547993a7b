/* http.c — HTTP request-head parsing and status texts (net/http.h). */
#include "net/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A header line "Name: value" (without CRLF): copy value of the ones we keep. -1 malformed. */
static int header(st_http_req *req, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line) return -1;
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vl = (size_t)(end - v);
    char *dst = NULL;
    size_t cap = 0;
    if (nl == 12 && strncasecmp(line, "content-type", 12) == 0) {
        dst = req->content_type;
        cap = sizeof req->content_type;
    } else if (nl == 13 && strncasecmp(line, "authorization", 13) == 0) {
        dst = req->authorization;
        cap = sizeof req->authorization;
    } else if (nl == 6 && strncasecmp(line, "accept", 6) == 0) {
        dst = req->accept;
        cap = sizeof req->accept;
    } else if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
        long len = 0;
        if (vl == 0 || vl > 12) return -1;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9') return -1;
            len = len * 10 + (v[i] - '0');
        }
        req->content_length = len;
        return 0;
    }
    if (dst) snprintf(dst, cap, "%.*s", (int)(vl < cap ? vl : cap - 1), v);
    return 0;
}

int st_http_parse(const char *buf, size_t len, st_http_req *req)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            end = buf + i;
            break;
        }
    if (!end) return 0;
    memset(req, 0, sizeof *req);
    req->content_length = -1;
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
    const char *q = memchr(path, '?', plen);
    if (q) {
        snprintf(req->query, sizeof req->query, "%.*s", (int)(sp2 - q - 1), q + 1);
        plen = (size_t)(q - path);
    }
    memcpy(req->path, path, plen);
    req->path[plen] = 0;
    const char *line = memchr(sp2, '\n', (size_t)(end - sp2));
    while (line && line < end) {
        line++; /* past the \n */
        const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
        if (!eol) return -1;
        if (eol > line && header(req, line, (size_t)(eol - line)) < 0) return -1;
        line = eol + 1 < end ? eol + 1 : NULL;
    }
    req->head_len = (size_t)(end - buf) + 4;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long st_http_unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return (long)o;
}

long st_http_param(const char *q, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && p[nl] == '=' && strncmp(p, name, nl) == 0)
            return st_http_unescape(p + nl + 1, len - nl - 1, out, cap);
        if (len == nl && strncmp(p, name, nl) == 0) return st_http_unescape("", 0, out, cap);
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

const char *st_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 401:
        return "Unauthorized";
    case 409:
        return "Conflict";
    case 415:
        return "Unsupported Media Type";
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
