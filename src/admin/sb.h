/* sb.h — a growing string for the API's answers: printf onto the end, JSON strings. Out of
 * memory leaves it as it was (the answer comes out short, never overruns). */
#ifndef ST_ADMIN_SB_H
#define ST_ADMIN_SB_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb {
    char *p;
    size_t len, cap;
} sb;

void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included. */
void sb_json_str(sb *b, const char *s);

struct st_http_resp;
/* An answer: b's text becomes the response's body (the server frees it). */
void st_api_reply(struct st_http_resp *r, int status, const char *type, sb *b);
/* EMQX's error shape: {"code": code, "message": msg}. */
void st_api_error(struct st_http_resp *r, int status, const char *code, const char *msg);

/* The answer to a write of the cluster's table that failed (rc < 0): EEXIST as status /
 * code / message given, ENOENT as 404 with code and message given, anything else 503.
 * Returns 0 for rc >= 0, else -1. */
typedef struct st_api_kv_words {
    int exists_status;
    const char *exists_code, *exists_msg, *missing_code, *missing_msg;
} st_api_kv_words;
int st_api_kv_error(struct st_http_resp *r, int rc, const st_api_kv_words *w);
/* A query parameter as a number: def when absent, -1 when not a number. */
long st_api_num_param(const char *query, const char *name, long def);
/* A wall-clock time in ms as RFC 3339 (UTC, "Z"). */
void st_api_rfc3339(int64_t ms, char *out, size_t cap);
/* "infinity" (0), epoch seconds, or RFC 3339 (UTC or with an offset): ms, or -1. */
int64_t st_api_parse_time(const char *s);

#endif
