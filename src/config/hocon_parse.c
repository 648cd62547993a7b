/* hocon_parse.c — recursive-descent HOCON parser building an st_hocon_node tree.
 * Fields are inserted as they are read, so repeated keys merge exactly as HOCON says
 * (objects merge, later scalars win) and `include` simply merges the included file's root
 * into the object being read. Values made of several pieces on one line ("a b", "x"${y})
 * are concatenated; when a substitution is among them the pieces are kept in a CONCAT node
 * for st_hocon_resolve(). Nesting is bounded so hostile input cannot exhaust the stack. */
#include "config/hocon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/hocon_lex.h"
#include "core/err.h"

#define MAX_INCLUDE_DEPTH 16

struct parser {
    struct hl_lexer lx;
    st_hocon_doc *doc;
    const struct st_hocon_opts *opts;
    int depth;    /* nesting of objects, arrays and key segments */
    int includes; /* include nesting */
    char *err;
    size_t errlen;
};

static int parse_value(struct parser *p, st_hocon_node **out);
static int parse_object(struct parser *p, int line, enum hl_tok closing, st_hocon_node **out);

static int perr(struct parser *p, int line, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->lx.file, line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return ST_ECONFIG;
}

static int nomem(struct parser *p)
{
    snprintf(p->err, p->errlen, "%s:%d: out of memory", p->lx.file, p->lx.line);
    return ST_ENOMEM;
}

static int next(struct parser *p, enum hl_mode m, struct hl_token *t)
{
    return hl_next(&p->lx, m, t, p->err, p->errlen) < 0 ? ST_ECONFIG : 0;
}

/* Skip newlines; the lexer is left before the first other token. */
static int skip_nl(struct parser *p, enum hl_mode m)
{
    struct hl_token t;
    for (;;) {
        struct hl_lexer save = p->lx;
        if (next(p, m, &t) < 0) return ST_ECONFIG;
        if (t.t != HL_NL) {
            p->lx = save;
            return 0;
        }
    }
}

static st_hocon_node *new_node(struct parser *p, enum st_hocon_kind kind, int line)
{
    return st_hocon_node_new(kind, p->lx.file, line);
}

/* Turn an unquoted single-piece string into a bool, null or number when it is one. */
static void classify(st_hocon_node *n)
{
    const char *s = n->str;
    if (!strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "false") || !strcmp(s, "off")) {
        n->kind = ST_HOCON_BOOL;
        n->boolean = s[1] == 'r' || s[1] == 'n';
        return;
    }
    if (!strcmp(s, "null")) {
        n->kind = ST_HOCON_NULL;
        return;
    }
    const char *q = s + (*s == '-');
    int digits = 0, frac = 0;
    while (*q >= '0' && *q <= '9')
        q++, digits++;
    if (*q == '.') {
        frac = 1;
        if (!(q[1] >= '0' && q[1] <= '9')) return;
        for (q++; *q >= '0' && *q <= '9'; q++)
            ;
    }
    if (*q == 'e' || *q == 'E') {
        frac = 1;
        q += (q[1] == '+' || q[1] == '-') ? 2 : 1;
        if (!(*q >= '0' && *q <= '9')) return;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (!digits || *q) return;
    n->kind = ST_HOCON_NUMBER;
    n->num = strtod(s, NULL);
    if (!frac) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0) {
            n->is_int = 1;
            n->inum = v;
        }
    }
}

static int push_text(struct parser *p, st_hocon_node *cat, const char *s, size_t len, int line)
{
    st_hocon_node *piece = new_node(p, ST_HOCON_STRING, line);
    if (!piece || !(piece->str = strndup(s, len))) {
        st_hocon_node_free(piece);
        return nomem(p);
    }
    piece->quoted = 1;
    return st_hocon_push(cat, piece) < 0 ? nomem(p) : 0;
}

static int push_piece(struct parser *p, st_hocon_node *cat, const struct hl_token *t)
{
    st_hocon_node *piece =
        new_node(p, t->t == HL_SUBST ? ST_HOCON_SUBST_ : ST_HOCON_STRING, t->line);
    if (!piece) return nomem(p);
    piece->str = t->t == HL_SUBST ? strndup(t->s, t->n) : hl_text(t);
    piece->quoted = t->t == HL_STR;
    piece->optional = (unsigned)t->optional;
    if (!piece->str) {
        st_hocon_node_free(piece);
        return nomem(p);
    }
    return st_hocon_push(cat, piece) < 0 ? nomem(p) : 0;
}

/* Join the pieces of a concatenation without substitutions into one string. */
static int join_pieces(struct parser *p, st_hocon_node *cat)
{
    size_t len = 0;
    for (size_t i = 0; i < cat->n; i++)
        len += strlen(cat->items[i]->str);
    char *s = malloc(len + 1), *o = s;
    if (!s) return nomem(p);
    for (size_t i = 0; i < cat->n; i++) {
        size_t l = strlen(cat->items[i]->str);
        memcpy(o, cat->items[i]->str, l);
        o += l;
        st_hocon_node_free(cat->items[i]);
    }
    *o = '\0';
    cat->n = 0;
    cat->kind = ST_HOCON_STRING;
    cat->quoted = 1;
    cat->str = s;
    return 0;
}

/* One or more simple values on a line: text, "strings", ${substitutions}. */
static int parse_concat(struct parser *p, st_hocon_node **out)
{
    st_hocon_node *cat = new_node(p, ST_HOCON_CONCAT_, p->lx.line);
    int rc = cat ? 0 : nomem(p), count = 0, substs = 0;
    struct hl_token t;
    while (rc == 0) {
        struct hl_lexer save = p->lx;
        if ((rc = next(p, HL_VALUE, &t)) < 0) break;
        if (t.t != HL_UNQ && t.t != HL_STR && t.t != HL_SUBST) {
            p->lx = save;
            break;
        }
        if (count == 0) cat->line = t.line;
        if (count > 0 && t.ws_n > 0) rc = push_text(p, cat, t.ws, t.ws_n, t.line);
        if (rc == 0) rc = push_piece(p, cat, &t);
        count++;
        substs += t.t == HL_SUBST;
    }
    if (rc == 0 && count == 0) rc = perr(p, t.line, "expected a value, found %s", hl_tok_name(t.t));
    if (rc < 0) {
        st_hocon_node_free(cat);
        return rc;
    }
    if (count == 1) {
        st_hocon_node *one = cat->items[0];
        cat->n = 0;
        st_hocon_node_free(cat);
        if (one->kind == ST_HOCON_STRING && !one->quoted) classify(one);
        *out = one;
        return 0;
    }
    if (substs == 0 && (rc = join_pieces(p, cat)) < 0) {
        st_hocon_node_free(cat);
        return rc;
    }
    *out = cat;
    return 0;
}

static int parse_array(struct parser *p, int line, st_hocon_node **out)
{
    if (++p->depth > ST_HOCON_MAX_DEPTH)
        return perr(p, line, "nesting too deep (limit %d)", ST_HOCON_MAX_DEPTH);
    st_hocon_node *arr = new_node(p, ST_HOCON_ARRAY, line);
    int rc = arr ? 0 : nomem(p);
    struct hl_token t;
    while (rc == 0) {
        if ((rc = skip_nl(p, HL_VALUE)) < 0) break;
        struct hl_lexer save = p->lx;
        if ((rc = next(p, HL_VALUE, &t)) < 0 || t.t == HL_RBRACK) break;
        if (t.t == HL_EOF) {
            rc = perr(p, t.line, "unexpected end of file in array opened at line %d", line);
            break;
        }
        p->lx = save;
        st_hocon_node *v;
        if ((rc = parse_value(p, &v)) < 0) break;
        if (st_hocon_push(arr, v) < 0) {
            rc = nomem(p);
            break;
        }
        if ((rc = next(p, HL_VALUE, &t)) < 0 || t.t == HL_RBRACK) break;
        if (t.t != HL_COMMA && t.t != HL_NL)
            rc = perr(p, t.line, "expected ',' or ']' in array, found %s", hl_tok_name(t.t));
    }
    p->depth--;
    if (rc < 0) {
        st_hocon_node_free(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static int parse_value(struct parser *p, st_hocon_node **out)
{
    struct hl_lexer save = p->lx;
    struct hl_token t;
    if (next(p, HL_VALUE, &t) < 0) return ST_ECONFIG;
    if (t.t == HL_LBRACE) return parse_object(p, t.line, HL_RBRACE, out);
    if (t.t == HL_LBRACK) return parse_array(p, t.line, out);
    p->lx = save;
    return parse_concat(p, out);
}

struct key {
    char **segs;
    size_t n, cap;
    char *cur; /* segment being built */
    size_t len, curcap;
    int open; /* a segment has been started */
};

static void key_free(struct key *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->segs[i]);
    free(k->segs);
    free(k->cur);
}

static int key_append(struct key *k, const char *s, size_t n)
{
    if (k->len + n + 1 > k->curcap) {
        size_t cap = (k->len + n + 1) * 2;
        char *c = realloc(k->cur, cap);
        if (!c) return ST_ENOMEM;
        k->cur = c;
        k->curcap = cap;
    }
    memcpy(k->cur + k->len, s, n);
    k->len += n;
    k->cur[k->len] = '\0';
    k->open = 1;
    return 0;
}

static int key_finish(struct key *k)
{
    if (!k->open) return ST_EINVAL;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 4;
        char **segs = realloc(k->segs, cap * sizeof(*segs));
        if (!segs) return ST_ENOMEM;
        k->segs = segs;
        k->cap = cap;
    }
    char *seg = strndup(k->cur ? k->cur : "", k->len);
    if (!seg) return ST_ENOMEM;
    k->segs[k->n++] = seg;
    k->len = 0;
    k->open = 0;
    return 0;
}

/* Add one key token: unquoted text splits at dots, quoted text is literal. */
static int key_token(struct key *k, const struct hl_token *t)
{
    if (t->t == HL_STR) {
        char *s = hl_text(t);
        int rc = s ? key_append(k, s, strlen(s)) : ST_ENOMEM;
        free(s);
        return rc;
    }
    for (size_t i = 0; i < t->n; i++) {
        int rc = t->s[i] == '.' ? key_finish(k) : key_append(k, t->s + i, 1);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Read the rest of a key whose first token is first; the lexer is left after the key. */
static int parse_key(struct parser *p, const struct hl_token *first, struct key *k)
{
    struct hl_token t = *first;
    for (;;) {
        int rc = key_token(k, &t);
        if (rc == ST_ENOMEM) return nomem(p);
        if (rc < 0)
            return perr(p, first->line, "empty key segment in '%.*s'", (int)first->n, first->s);
        struct hl_lexer save = p->lx;
        if (next(p, HL_KEY, &t) < 0) return ST_ECONFIG;
        if (t.ws_n > 0 || (t.t != HL_UNQ && t.t != HL_STR)) {
            p->lx = save;
            break;
        }
    }
    int rc = key_finish(k);
    if (rc == ST_ENOMEM) return nomem(p);
    if (rc < 0) return perr(p, first->line, "key ends with '.'");
    return 0;
}

static int parse_field(struct parser *p, st_hocon_node *obj, const struct hl_token *first)
{
    struct key k = {0};
    st_hocon_node *v = NULL;
    struct hl_token t;
    int rc = parse_key(p, first, &k);
    struct hl_lexer save = p->lx;
    if (rc == 0 && (rc = next(p, HL_KEY, &t)) == 0) {
        if (t.t == HL_SEP) {
            rc = skip_nl(p, HL_VALUE);
        } else if (t.t == HL_LBRACE) {
            p->lx = save; /* let parse_value read the '{' */
        } else if (t.t == HL_PLUSEQ) {
            rc = perr(p, t.line, "'+=' is not supported");
        } else {
            rc = perr(p, t.line, "expected '=', ':' or '{' after key '%s', found %s",
                      k.segs[k.n - 1], hl_tok_name(t.t));
        }
    }
    if (rc == 0 && p->depth + (int)k.n > ST_HOCON_MAX_DEPTH)
        rc = perr(p, first->line, "nesting too deep (limit %d)", ST_HOCON_MAX_DEPTH);
    if (rc == 0) {
        p->depth += (int)k.n - 1;
        rc = parse_value(p, &v);
        p->depth -= (int)k.n - 1;
    }
    if (rc == 0) {
        v->line = first->line;
        if (st_hocon_insert(obj, (const char *const *)k.segs, k.n, v) < 0) rc = nomem(p);
    }
    key_free(&k);
    return rc;
}

static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        return b ? -EIO : -ENOMEM;
    }
    *buf = b;
    *len = n;
    return 0;
}

static int parse_text(struct parser *parent, st_hocon_doc *d, const char *buf, size_t len,
                      const char *name, const struct st_hocon_opts *opts, st_hocon_node **out,
                      char *err, size_t errlen);

static int include_file(struct parser *p, st_hocon_node *obj, const char *name, int line)
{
    const char *slash = strrchr(p->lx.file, '/');
    size_t dirlen = (name[0] == '/' || !slash) ? 0 : (size_t)(slash - p->lx.file) + 1;
    char *path = malloc(dirlen + strlen(name) + 1);
    if (!path) return nomem(p);
    memcpy(path, p->lx.file, dirlen);
    strcpy(path + dirlen, name);
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc < 0) {
        rc = perr(p, line, "cannot open include file '%s': %s", path, strerror(-rc));
    } else {
        st_hocon_node *child = NULL;
        rc = parse_text(p, p->doc, buf, len, path, p->opts, &child, p->err, p->errlen);
        if (rc == 0 && st_hocon_merge(obj, child) < 0) rc = nomem(p);
    }
    free(buf);
    free(path);
    return rc;
}

/* `include "file"`, `include required("file")` or `include file("file")`. */
static int parse_include(struct parser *p, st_hocon_node *obj, int line)
{
    struct hl_token t;
    int wrapped = 0;
    if (next(p, HL_KEY, &t) < 0) return ST_ECONFIG;
    if (t.t == HL_UNQ) {
        wrapped = 1;
        if (next(p, HL_KEY, &t) < 0) return ST_ECONFIG;
    }
    if (t.t != HL_STR) return perr(p, line, "expected a quoted file name after include");
    char *name = hl_text(&t);
    if (!name) return nomem(p);
    int rc = 0;
    if (wrapped && (next(p, HL_KEY, &t) < 0 || t.t != HL_UNQ || t.n != 1 || *t.s != ')'))
        rc = perr(p, line, "expected ')' after include file name");
    else if (p->opts && p->opts->no_include)
        rc = perr(p, line, "include is not allowed here");
    else if (p->includes >= MAX_INCLUDE_DEPTH)
        rc = perr(p, line, "includes nested too deeply (limit %d)", MAX_INCLUDE_DEPTH);
    else
        rc = include_file(p, obj, name, line);
    free(name);
    return rc;
}

static int is_include(struct parser *p, const struct hl_token *t)
{
    if (t->t != HL_UNQ || t->n != 7 || memcmp(t->s, "include", 7) != 0) return 0;
    struct hl_lexer save = p->lx;
    struct hl_token n;
    char dummy[8];
    int yes = hl_next(&p->lx, HL_KEY, &n, dummy, sizeof(dummy)) == 0 && n.ws_n > 0 &&
              (n.t == HL_STR || (n.t == HL_UNQ && ((n.n == 9 && !memcmp(n.s, "required(", 9)) ||
                                                   (n.n == 5 && !memcmp(n.s, "file(", 5)))));
    p->lx = save;
    return yes;
}

static int parse_object(struct parser *p, int line, enum hl_tok closing, st_hocon_node **out)
{
    if (++p->depth > ST_HOCON_MAX_DEPTH)
        return perr(p, line, "nesting too deep (limit %d)", ST_HOCON_MAX_DEPTH);
    st_hocon_node *obj = new_node(p, ST_HOCON_OBJECT, line);
    int rc = obj ? 0 : nomem(p);
    struct hl_token t;
    while (rc == 0) {
        if ((rc = next(p, HL_KEY, &t)) < 0 || t.t == closing) break;
        if (t.t == HL_NL) continue;
        if (t.t == HL_EOF) {
            rc =
                perr(p, t.line, "unexpected end of file, expected '}' for object at line %d", line);
        } else if (is_include(p, &t)) {
            rc = parse_include(p, obj, t.line);
        } else if (t.t == HL_UNQ || t.t == HL_STR) {
            rc = parse_field(p, obj, &t);
        } else {
            rc = perr(p, t.line, "unexpected %s, expected a key", hl_tok_name(t.t));
        }
        struct hl_lexer save = p->lx;
        if (rc < 0 || (rc = next(p, HL_KEY, &t)) < 0) break;
        if (t.t == closing)
            p->lx = save;
        else if (t.t != HL_COMMA && t.t != HL_NL)
            rc = perr(p, t.line, "expected ',' or newline after value, found %s", hl_tok_name(t.t));
    }
    p->depth--;
    if (rc < 0) {
        st_hocon_node_free(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

static int parse_root(struct parser *p, st_hocon_node **out)
{
    struct hl_token t;
    if (skip_nl(p, HL_KEY) < 0) return ST_ECONFIG;
    struct hl_lexer save = p->lx;
    if (next(p, HL_KEY, &t) < 0) return ST_ECONFIG;
    if (t.t == HL_LBRACK)
        return perr(p, t.line, "the root of a config must be an object, not an array");
    if (t.t != HL_LBRACE) {
        p->lx = save;
        return parse_object(p, 1, HL_EOF, out);
    }
    int rc = parse_object(p, t.line, HL_RBRACE, out);
    if (rc == 0 && (rc = skip_nl(p, HL_KEY)) == 0 && (rc = next(p, HL_KEY, &t)) == 0 &&
        t.t != HL_EOF)
        rc = perr(p, t.line, "unexpected %s after the root object", hl_tok_name(t.t));
    if (rc < 0 && *out) {
        st_hocon_node_free(*out);
        *out = NULL;
    }
    return rc;
}

static int parse_text(struct parser *parent, st_hocon_doc *d, const char *buf, size_t len,
                      const char *name, const struct st_hocon_opts *opts, st_hocon_node **out,
                      char *err, size_t errlen)
{
    struct parser p = {.doc = d, .opts = opts, .err = err, .errlen = errlen};
    p.lx.p = buf;
    p.lx.end = buf + len;
    p.lx.line = 1;
    p.lx.file = st_hocon_doc_intern(d, name);
    if (!p.lx.file) {
        snprintf(err, errlen, "%s: out of memory", name);
        return ST_ENOMEM;
    }
    if (parent) {
        p.depth = parent->depth - 1; /* the included root merges into the current object */
        p.includes = parent->includes + 1;
    }
    *out = NULL;
    return parse_root(&p, out);
}

int st_hocon_parse_buffer(st_hocon_doc *d, const char *buf, size_t len, const char *name,
                          const struct st_hocon_opts *opts, st_hocon_node **out, char *err,
                          size_t errlen)
{
    if (errlen) err[0] = '\0';
    return parse_text(NULL, d, buf, len, name, opts, out, err, errlen);
}

int st_hocon_parse_file(st_hocon_doc *d, const char *path, const struct st_hocon_opts *opts,
                        st_hocon_node **out, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
        return rc == -ENOMEM ? ST_ENOMEM : ST_ECONFIG;
    }
    rc = st_hocon_parse_buffer(d, buf, len, path, opts, out, err, errlen);
    free(buf);
    return rc;
}

int st_hocon_parse_value(st_hocon_doc *d, const char *buf, size_t len, const char *name,
                         st_hocon_node **out, char *err, size_t errlen)
{
    static const struct st_hocon_opts opts = {.no_include = 1};
    struct parser p = {.doc = d, .opts = &opts, .err = err, .errlen = errlen};
    p.lx.p = buf;
    p.lx.end = buf + len;
    p.lx.line = 1;
    p.lx.file = st_hocon_doc_intern(d, name);
    if (errlen) err[0] = '\0';
    if (!p.lx.file) return ST_ENOMEM;
    struct hl_token t;
    *out = NULL;
    int rc = skip_nl(&p, HL_VALUE);
    if (rc == 0) rc = parse_value(&p, out);
    if (rc == 0 && (rc = skip_nl(&p, HL_VALUE)) == 0 && (rc = next(&p, HL_VALUE, &t)) == 0 &&
        t.t != HL_EOF)
        rc = perr(&p, t.line, "unexpected %s after value", hl_tok_name(t.t));
    if (rc < 0) {
        st_hocon_node_free(*out);
        *out = NULL;
    }
    return rc;
}
