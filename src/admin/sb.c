/* sb.c — a growing string for the API's answers (sb.h). */
#include "admin/sb.h"
#include "admin/http.h"
#include "core/err.h"
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void sb_printf(sb *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return;
        b->p = p;
        b->cap = cap;
    }
}

static void sb_put(void *ctx, const char *p, size_t n)
{
    sb_printf(ctx, "%.*s", (int)n, p);
}

/* Node names are validated name@host, so they need no JSON escaping; still, be safe. */
void sb_json_str(sb *b, const char *s)
{
    st_json_quote(s, strlen(s), sb_put, b);
}

void st_api_reply(st_http_resp *r, int status, const char *type, sb *b)
{
    r->status = status;
    r->type = type;
    r->body = b->p;
    r->len = b->len;
}

void st_api_error(st_http_resp *r, int status, const char *code, const char *msg)
{
    sb b = {0};
    sb_printf(&b, "{\"code\":\"%s\",\"message\":", code);
    sb_json_str(&b, msg);
    sb_printf(&b, "}");
    st_api_reply(r, status, "application/json", &b);
}

void st_api_rfc3339(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "infinity" (0), epoch seconds, or RFC 3339 (UTC or with an offset): ms, or -1. */
int64_t st_api_parse_time(const char *s)
{
    if (strcmp(s, "infinity") == 0) return 0;
    char *end;
    long long secs = strtoll(s, &end, 10);
    if (*s && !*end) return secs > 0 ? secs * 1000 : -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return -1;
    int64_t t = (int64_t)timegm(&tm);
    if (*rest == '.')
        while (*++rest >= '0' && *rest <= '9') {
        }
    if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
        int off = ((rest[1] - '0') * 10 + rest[2] - '0') * 3600 +
                  ((rest[4] - '0') * 10 + rest[5] - '0') * 60;
        t -= *rest == '+' ? off : -off;
    } else if (strcmp(rest, "Z") != 0) {
        return -1;
    }
    return t * 1000;
}

int st_api_kv_error(st_http_resp *r, int rc, const st_api_kv_words *w)
{
    if (rc >= 0) return 0;
    if (rc == ST_EEXIST)
        st_api_error(r, w->exists_status, w->exists_code, w->exists_msg);
    else if (rc == ST_ENOENT)
        st_api_error(r, 404, w->missing_code, w->missing_msg);
    else
        st_api_error(r, 503, "SERVICE_UNAVAILABLE",
                     "the cluster did not apply the change in time (no leader?)");
    return -1;
}

long st_api_num_param(const char *query, const char *name, long def)
{
    char v[24];
    if (st_http_param(query, name, v, sizeof v) < 0) return def;
    char *end;
    long n = strtol(v, &end, 10);
    return *v && !*end ? n : -1;
}
