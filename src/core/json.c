/* json.c — strict JSON tokenizer (json.h). */
#include "core/json.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

typedef struct jp {
    const char *s;
    uint32_t len, pos;
    st_jtok *t;
    uint32_t n, max;
    int err;
} jp;

static void ws(jp *p)
{
    while (p->pos < p->len && strchr(" \t\n\r", p->s[p->pos]) && p->s[p->pos])
        p->pos++;
}

static int fail(jp *p, int err)
{
    if (!p->err) p->err = err;
    return -1;
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* One UTF-8 sequence at s[0..n): its length, or 0 if invalid (overlong, surrogate, > U+10FFFF). */
static int utf8_len(const unsigned char *s, uint32_t n)
{
    if (s[0] < 0x80) return 1;
    int len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (!len || (uint32_t)len > n || s[0] > 0xF4) return 0;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
    return len;
}

/* Skip a string body after the opening quote; pos ends after the closing quote. */
static int string(jp *p)
{
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            return 0;
        }
        if (c < 0x20) return fail(p, ST_EMALFORMED);
        if (c == '\\') {
            if (p->pos + 1 >= p->len) break;
            char e = p->s[p->pos + 1];
            if (e == 'u') {
                uint32_t v, lo;
                if (p->pos + 6 > p->len || hex4(p->s + p->pos + 2, &v) < 0)
                    return fail(p, ST_EMALFORMED);
                p->pos += 6;
                if (v >= 0xDC00 && v <= 0xDFFF) return fail(p, ST_EMALFORMED); /* lone low */
                if (v >= 0xD800 && v <= 0xDBFF) {                              /* needs a pair */
                    if (p->pos + 6 > p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
                        hex4(p->s + p->pos + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                        return fail(p, ST_EMALFORMED);
                    p->pos += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || !e) return fail(p, ST_EMALFORMED);
            p->pos += 2;
            continue;
        }
        int n = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
        if (!n) return fail(p, ST_EMALFORMED);
        p->pos += (uint32_t)n;
    }
    return fail(p, ST_EMALFORMED);
}

static int digits(jp *p)
{
    uint32_t start = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++;
    return p->pos > start ? 0 : -1;
}

static int number(jp *p)
{
    if (p->s[p->pos] == '-') p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '0')
        p->pos++;
    else if (digits(p) < 0)
        return fail(p, ST_EMALFORMED);
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (digits(p) < 0) return fail(p, ST_EMALFORMED);
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (digits(p) < 0) return fail(p, ST_EMALFORMED);
    }
    return 0;
}

static int literal(jp *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return fail(p, ST_EMALFORMED);
    p->pos += (uint32_t)n;
    return 0;
}

static int value(jp *p, int depth);

/* Object members or array elements, after the opening bracket. */
static int items(jp *p, uint32_t ti, int depth, char close, int object)
{
    ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (object) {
            ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') return fail(p, ST_EMALFORMED);
            if (value(p, depth + 1) < 0) return -1; /* the key, as a string token */
            ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') return fail(p, ST_EMALFORMED);
            p->pos++;
        }
        ws(p);
        if (value(p, depth + 1) < 0) return -1;
        p->t[ti].size++;
        ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return 0;
        }
        return fail(p, ST_EMALFORMED);
    }
}

static int value(jp *p, int depth)
{
    if (depth > ST_JSON_MAX_DEPTH || p->pos >= p->len) return fail(p, ST_EMALFORMED);
    if (p->n == p->max) return fail(p, ST_EFULL);
    uint32_t ti = p->n++;
    st_jtok *tok = &p->t[ti];
    memset(tok, 0, sizeof *tok);
    tok->start = p->pos;
    char c = p->s[p->pos];
    int rc;
    if (c == '{' || c == '[') {
        tok->type = c == '{' ? ST_J_OBJECT : ST_J_ARRAY;
        p->pos++;
        rc = items(p, ti, depth, c == '{' ? '}' : ']', c == '{');
    } else if (c == '"') {
        tok->type = ST_J_STRING;
        tok->start = ++p->pos;
        rc = string(p);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        tok->type = ST_J_NUMBER;
        rc = number(p);
    } else if (c == 't') {
        tok->type = ST_J_TRUE;
        rc = literal(p, "true");
    } else if (c == 'f') {
        tok->type = ST_J_FALSE;
        rc = literal(p, "false");
    } else if (c == 'n') {
        tok->type = ST_J_NULL;
        rc = literal(p, "null");
    } else {
        return fail(p, ST_EMALFORMED);
    }
    if (rc < 0) return -1;
    p->t[ti].end = p->t[ti].type == ST_J_STRING ? p->pos - 1 : p->pos;
    p->t[ti].next = p->n;
    return 0;
}

int st_json_parse(const char *s, size_t len, st_jtok *t, uint32_t max)
{
    if (len > UINT32_MAX) return ST_EMALFORMED;
    jp p = {s, (uint32_t)len, 0, t, 0, max, 0};
    ws(&p);
    if (value(&p, 0) < 0) return p.err;
    ws(&p);
    return p.pos == p.len ? (int)p.n : ST_EMALFORMED;
}

int st_json_at(const st_jtok *t, uint32_t arr, uint32_t i)
{
    if (t[arr].type != ST_J_ARRAY || i >= t[arr].size) return -1;
    uint32_t k = arr + 1;
    while (i--)
        k = t[k].next;
    return (int)k;
}

int st_json_get(const char *s, const st_jtok *t, uint32_t obj, const char *key)
{
    if (t[obj].type != ST_J_OBJECT) return -1;
    uint32_t k = obj + 1;
    for (uint32_t m = 0; m < t[obj].size; m++) {
        uint32_t v = k + 1; /* keys are single string tokens */
        if (st_json_eq(s, &t[k], key)) return (int)v;
        k = t[v].next;
    }
    return -1;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int st_json_str(const char *s, const st_jtok *t, char *out, size_t cap)
{
    if (t->type != ST_J_STRING) return ST_EINVAL;
    size_t n = 0;
    for (uint32_t i = t->start; i < t->end;) {
        char buf[4];
        size_t k = 1;
        buf[0] = s[i];
        if (s[i] != '\\') {
            i++;
        } else if (s[i + 1] != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            buf[0] = to[strchr(from, s[i + 1]) - from];
            i += 2;
        } else { /* validated by the parser: a BMP code point or a surrogate pair */
            uint32_t v, lo;
            hex4(s + i + 2, &v);
            i += 6;
            if (v >= 0xD800 && v <= 0xDBFF) {
                hex4(s + i + 2, &lo);
                i += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            }
            k = put_utf8(buf, v);
        }
        if (n + k + 1 > cap) return ST_EFULL;
        memcpy(out + n, buf, k);
        n += k;
    }
    if (cap) out[n] = 0;
    return (int)n;
}

int st_json_eq(const char *s, const st_jtok *t, const char *lit)
{
    char buf[512];
    int n = st_json_str(s, t, buf, sizeof buf);
    return n >= 0 && strcmp(buf, lit) == 0;
}

void st_json_quote(const char *s, size_t n, st_json_put_fn put, void *ctx)
{
    size_t run = 0; /* bytes from s + i - run that need no escape */
    put(ctx, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20) {
            run++;
            continue;
        }
        if (run) put(ctx, s + i - run, run);
        run = 0;
        char esc[8];
        int k = c < 0x20 ? snprintf(esc, sizeof esc, "\\u%04x", c)
                         : snprintf(esc, sizeof esc, "\\%c", c);
        put(ctx, esc, (size_t)k);
    }
    if (run) put(ctx, s + n - run, run);
    put(ctx, "\"", 1);
}
