/* hocon_lex.c — HOCON tokenizer. It works straight on the input buffer: tokens are spans
 * (no allocation), and the lexer state is two words, so the parser peeks by copying it.
 * The parser says whether it expects a key or a value, because unquoted keys stop at ':'
 * and '=' while unquoted values keep them (`bind = 0.0.0.0:1883`). Escapes are validated
 * here so that hl_text() cannot fail on bad input later. */
#include "config/hocon_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lex_error(struct hl_lexer *lx, int line, char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s:%d: %s", lx->file, line, msg);
    return -1;
}

const char *hl_tok_name(enum hl_tok t)
{
    static const char *const names[] = {"end of file", "newline", "'{'",  "'}'",
                                        "'['",         "']'",     "','",  "'=' or ':'",
                                        "'+='",        "string",  "text", "substitution"};
    return names[t];
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Skip blanks and comments; leaves p at a newline, EOF or a token. */
static void skip_blank(struct hl_lexer *lx, struct hl_token *t)
{
    t->ws = lx->p;
    for (;;) {
        if (lx->p < lx->end && is_ws(*lx->p)) {
            lx->p++;
        } else if (lx->end - lx->p >= 3 && memcmp(lx->p, "\xEF\xBB\xBF", 3) == 0) {
            lx->p += 3; /* UTF-8 byte order mark */
        } else if (lx->p < lx->end &&
                   (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '/'))) {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else {
            break;
        }
    }
    t->ws_n = (size_t)(lx->p - t->ws);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int lex_quoted(struct hl_lexer *lx, struct hl_token *t, char *err, size_t errlen)
{
    if (lx->end - lx->p >= 3 && memcmp(lx->p, "\"\"\"", 3) == 0) {
        const char *s = lx->p + 3;
        const char *q = s;
        while (q + 3 <= lx->end && memcmp(q, "\"\"\"", 3) != 0) {
            if (*q == '\n') lx->line++;
            q++;
        }
        if (q + 3 > lx->end)
            return lex_error(lx, t->line, err, errlen, "unterminated triple-quoted string");
        while (q + 3 < lx->end && q[3] == '"')
            q++; /* extra quotes before the closing three belong to the string */
        t->t = HL_STR;
        t->triple = 1;
        t->s = s;
        t->n = (size_t)(q - s);
        lx->p = q + 3;
        return 0;
    }
    const char *s = ++lx->p;
    while (lx->p < lx->end && *lx->p != '"') {
        if (*lx->p == '\n') break;
        if (*lx->p == '\\') {
            if (lx->p + 1 >= lx->end) break;
            char e = lx->p[1];
            if (e == 'u') {
                if (lx->end - lx->p < 6 || !is_hex(lx->p[2]) || !is_hex(lx->p[3]) ||
                    !is_hex(lx->p[4]) || !is_hex(lx->p[5]))
                    return lex_error(lx, t->line, err, errlen, "invalid \\u escape in string");
                lx->p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0')
                return lex_error(lx, t->line, err, errlen, "invalid escape in string");
            lx->p += 2;
            continue;
        }
        lx->p++;
    }
    if (lx->p >= lx->end || *lx->p != '"')
        return lex_error(lx, t->line, err, errlen, "unterminated string");
    t->t = HL_STR;
    t->s = s;
    t->n = (size_t)(lx->p - s);
    lx->p++;
    return 0;
}

static int lex_subst(struct hl_lexer *lx, struct hl_token *t, char *err, size_t errlen)
{
    lx->p += 2;
    if (lx->p < lx->end && *lx->p == '?') {
        t->optional = 1;
        lx->p++;
    }
    const char *s = lx->p;
    while (lx->p < lx->end && *lx->p != '}' && *lx->p != '\n')
        lx->p++;
    if (lx->p >= lx->end || *lx->p != '}')
        return lex_error(lx, t->line, err, errlen, "unterminated substitution '${'");
    const char *e = lx->p;
    while (s < e && is_ws(*s))
        s++;
    while (e > s && is_ws(e[-1]))
        e--;
    if (s == e) return lex_error(lx, t->line, err, errlen, "empty substitution '${}'");
    t->t = HL_SUBST;
    t->s = s;
    t->n = (size_t)(e - s);
    lx->p++;
    return 0;
}

/* Does an unquoted token stop before p? */
static int unq_stop(const struct hl_lexer *lx, const char *p, enum hl_mode mode)
{
    char c = *p;
    if (is_ws(c) || c == '\n' || (c != '\0' && strchr("{}[],\"#", c))) return 1;
    if (c == '/' && p + 1 < lx->end && p[1] == '/') return 1;
    if (c == '$' && p + 1 < lx->end && p[1] == '{') return 1;
    if (mode == HL_KEY && (c == ':' || c == '=')) return 1;
    if (mode == HL_KEY && c == '+' && p + 1 < lx->end && p[1] == '=') return 1;
    return 0;
}

int hl_next(struct hl_lexer *lx, enum hl_mode mode, struct hl_token *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    skip_blank(lx, t);
    t->line = lx->line;
    t->s = lx->p;
    if (lx->p >= lx->end) {
        t->t = HL_EOF;
        return 0;
    }
    char c = *lx->p;
    static const char singles[] = "\n{}[],";
    static const enum hl_tok single_toks[] = {HL_NL,     HL_LBRACE, HL_RBRACE,
                                              HL_LBRACK, HL_RBRACK, HL_COMMA};
    const char *sp = c ? strchr(singles, c) : NULL;
    if (sp) {
        t->t = single_toks[sp - singles];
        t->n = 1;
        lx->p++;
        if (c == '\n') lx->line++;
        return 0;
    }
    if (c == '"') return lex_quoted(lx, t, err, errlen);
    if (c == '$' && lx->p + 1 < lx->end && lx->p[1] == '{') return lex_subst(lx, t, err, errlen);
    if (mode == HL_KEY && (c == '=' || c == ':')) {
        t->t = HL_SEP;
        t->n = 1;
        lx->p++;
        return 0;
    }
    if (mode == HL_KEY && c == '+' && lx->p + 1 < lx->end && lx->p[1] == '=') {
        t->t = HL_PLUSEQ;
        t->n = 2;
        lx->p += 2;
        return 0;
    }
    do
        lx->p++;
    while (lx->p < lx->end && !unq_stop(lx, lx->p, mode));
    t->t = HL_UNQ;
    t->n = (size_t)(lx->p - t->s);
    return 0;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decode one validated escape at p (p[0] == '\\'); returns the input consumed. */
static size_t decode_escape(const char *p, const char *end, char **o)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p[1] != 'u') {
        *(*o)++ = to[strchr(from, p[1]) - from];
        return 2;
    }
    unsigned cp = hex4(p + 2);
    size_t used = 6;
    if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 12 && p[6] == '\\' && p[7] == 'u' &&
        is_hex(p[8]) && is_hex(p[9]) && is_hex(p[10]) && is_hex(p[11])) {
        unsigned lo = hex4(p + 8);
        if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        }
    }
    if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; /* lone surrogate */
    *o = put_utf8(*o, cp);
    return used;
}

char *hl_text(const struct hl_token *t)
{
    char *out = malloc(t->n + 1);
    if (!out) return NULL;
    if (t->t != HL_STR || t->triple) {
        memcpy(out, t->s, t->n);
        out[t->n] = '\0';
        return out;
    }
    char *o = out;
    const char *p = t->s, *end = t->s + t->n;
    while (p < end) {
        if (*p == '\\')
            p += decode_escape(p, end, &o);
        else
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}
