/* sb.c — a growing string for the API's answers (sb.h). */
#include "admin/sb.h"
#include "admin/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

/* Node names are validated name@host, so they need no JSON escaping; still, be safe. */
void sb_json_str(sb *b, const char *s)
{
    sb_printf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_printf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            sb_printf(b, "\\u%04x", *s);
        else
            sb_printf(b, "%c", *s);
    }
    sb_printf(b, "\"");
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
