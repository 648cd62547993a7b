/* regex.c — PCRE's common forms in POSIX extended regular expressions (regex.h). */
#include "core/regex.h"

#include <stdlib.h>
#include <string.h>

/* The POSIX form of PCRE's class \c (inside a bracket: without its brackets), or NULL. */
static const char *shorthand(char c, int in_bracket)
{
    switch (c) {
    case 'd':
        return in_bracket ? "0-9" : "[0-9]";
    case 'w':
        return in_bracket ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
    case 's':
        return in_bracket ? "[:space:]" : "[[:space:]]";
    case 'D':
        return in_bracket ? NULL : "[^0-9]";
    case 'W':
        return in_bracket ? NULL : "[^A-Za-z0-9_]";
    case 'S':
        return in_bracket ? NULL : "[^[:space:]]";
    default:
        return NULL;
    }
}

static void put(char *out, size_t *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(out + *o, s, n);
    *o += n;
}

/* A bracket expression from p[i] ('['), into out; the index of its closing ']'. */
static size_t bracket(const char *p, size_t n, size_t i, char *out, size_t *o)
{
    out[(*o)++] = p[i++];
    if (i < n && p[i] == '^') out[(*o)++] = p[i++];
    if (i < n && p[i] == ']') out[(*o)++] = p[i++]; /* a ']' first is one of the set */
    for (; i < n && p[i] != ']'; i++) {
        if (p[i] == '[' && i + 1 < n && p[i + 1] == ':') { /* [:alpha:] as it is */
            const char *end = strstr(p + i + 2, ":]");
            size_t stop = end ? (size_t)(end - p) + 2 : n;
            while (i < stop)
                out[(*o)++] = p[i++];
            i--;
            continue;
        }
        if (p[i] == '\\' && i + 1 < n) {
            const char *sh = shorthand(p[i + 1], 1);
            if (sh)
                put(out, o, sh);
            else
                out[(*o)++] = p[i + 1]; /* \. \- \\ : the character itself */
            i++;
            continue;
        }
        out[(*o)++] = p[i];
    }
    if (i < n) out[(*o)++] = p[i];
    return i;
}

int st_regcomp(regex_t *re, const char *p)
{
    size_t n = strlen(p), o = 0;
    char *out = malloc(n * 14 + 1); /* \W, 2 characters, is 14 at most */
    if (!out) return REG_ESPACE;
    int quantified = 0; /* the last thing written was a quantifier */
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int q = 0;
        if (c == '[') {
            i = bracket(p, n, i, out, &o);
        } else if (c == '\\' && i + 1 < n) {
            char e = p[++i];
            const char *sh = shorthand(e, 0);
            if (sh)
                put(out, &o, sh);
            else if (e == 'A')
                out[o++] = '^';
            else if (e == 'z' || e == 'Z')
                out[o++] = '$';
            else
                out[o++] = '\\', out[o++] = e;
        } else if (c == '(' && i + 2 < n && p[i + 1] == '?' && p[i + 2] == ':') {
            out[o++] = '(';
            i += 2;
        } else if (c == '?' && quantified) {
            /* lazy: the same answer to "does it match" */
        } else {
            q = c == '*' || c == '+' || c == '?' || c == '}';
            out[o++] = c;
        }
        quantified = q;
    }
    out[o] = 0;
    int rc = regcomp(re, out, REG_EXTENDED | REG_NOSUB);
    free(out);
    return rc;
}
