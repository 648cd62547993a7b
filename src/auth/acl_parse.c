/* acl_parse.c — acl.conf's Erlang terms (what file:consult reads: atoms, 'quoted atoms',
 * "strings", integers, {tuples}, [lists], each rule ended by '.', % comments) made rules. */
#include "auth/acl_rules.h"
#include "core/regex.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TM_ATOM, TM_STR, TM_INT, TM_TUPLE, TM_LIST };

typedef struct term {
    int type, line;
    char *s; /* atom, string */
    long v;
    struct term **k;
    int n;
} term;

typedef struct lexer {
    const char *p, *end, *file;
    int line, depth;
    char *err;
    size_t errlen;
} lexer;

static void *fail(lexer *lx, int line, const char *fmt, ...)
{
    if (!*lx->err) {
        int n = snprintf(lx->err, lx->errlen, "%s:%d: ", lx->file, line);
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < lx->errlen)
            vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static void term_free(term *t)
{
    if (!t) return;
    for (int i = 0; i < t->n; i++)
        term_free(t->k[i]);
    free(t->k);
    free(t->s);
    free(t);
}

static void skip_ws(lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') lx->line++;
        if (c == '%') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
            continue;
        }
        if (!isspace((unsigned char)c)) return;
        lx->p++;
    }
}

/* A "string" or 'atom' from the opening quote q; escapes \\ \" \' \n \t. */
static char *quoted(lexer *lx, char q)
{
    int line = lx->line;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    for (lx->p++; s; lx->p++) {
        if (lx->p >= lx->end) {
            free(s);
            return fail(lx, line, "a %s is not closed", q == '"' ? "string" : "quoted atom");
        }
        char c = *lx->p;
        if (c == q) {
            lx->p++;
            s[n] = 0;
            return s;
        }
        if (c == '\n') lx->line++;
        if (c == '\\' && lx->p + 1 < lx->end) {
            c = *++lx->p;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        if (n + 2 > cap) {
            char *g = realloc(s, cap *= 2);
            if (!g) free(s);
            s = g;
        }
        if (s) s[n++] = c;
    }
    return fail(lx, line, "out of memory");
}

static term *parse_term(lexer *lx);

/* The elements of a {tuple} or [list] up to the closing character. */
static term *compound(lexer *lx, term *t, char close)
{
    lx->p++;
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == close) {
        lx->p++;
        return t;
    }
    for (;;) {
        term *e = parse_term(lx);
        term **k = e ? realloc(t->k, sizeof *k * (size_t)(t->n + 1)) : NULL;
        if (!k) {
            term_free(e);
            term_free(t);
            return fail(lx, lx->line, "out of memory");
        }
        t->k = k;
        k[t->n++] = e;
        skip_ws(lx);
        if (lx->p < lx->end && *lx->p == ',') {
            lx->p++;
            continue;
        }
        if (lx->p < lx->end && *lx->p == close) {
            lx->p++;
            return t;
        }
        term_free(t);
        return fail(lx, lx->line, "expected ',' or '%c'", close);
    }
}

static term *parse_term(lexer *lx)
{
    skip_ws(lx);
    if (lx->p >= lx->end) return fail(lx, lx->line, "the file ends inside a rule");
    if (lx->depth > 32) return fail(lx, lx->line, "terms nested too deep");
    term *t = calloc(1, sizeof *t);
    if (!t) return fail(lx, lx->line, "out of memory");
    t->line = lx->line;
    char c = *lx->p;
    if (c == '{' || c == '[') {
        t->type = c == '{' ? TM_TUPLE : TM_LIST;
        lx->depth++;
        t = compound(lx, t, c == '{' ? '}' : ']');
        lx->depth--;
        return t;
    }
    if (c == '"' || c == '\'') {
        t->type = c == '"' ? TM_STR : TM_ATOM;
        if ((t->s = quoted(lx, c))) return t;
    } else if (islower((unsigned char)c)) {
        const char *b = lx->p;
        while (lx->p < lx->end &&
               (isalnum((unsigned char)*lx->p) || *lx->p == '_' || *lx->p == '@'))
            lx->p++;
        t->type = TM_ATOM;
        if ((t->s = strndup(b, (size_t)(lx->p - b)))) return t;
    } else if (isdigit((unsigned char)c) || c == '-') {
        const char *b = lx->p;
        int neg = c == '-', digits = 0;
        t->type = TM_INT;
        for (lx->p += neg; lx->p < lx->end && isdigit((unsigned char)*lx->p); lx->p++, digits++)
            if (digits < 9) t->v = t->v * 10 + (*lx->p - '0');
        if (digits && digits <= 9) {
            t->v = neg ? -t->v : t->v;
            return t;
        }
        lx->p = b;
        fail(lx, lx->line, "expected a number");
    } else {
        fail(lx, lx->line, "unexpected '%c'", c);
    }
    term_free(t);
    return fail(lx, lx->line, "out of memory");
}

static int is_atom(const term *t, const char *name)
{
    return t->type == TM_ATOM && strcmp(t->s, name) == 0;
}

static int net_parse(const char *s, acl_net *n)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if (len >= sizeof ip) return -1;
    memcpy(ip, s, len);
    ip[len] = 0;
    n->v6 = strchr(ip, ':') != NULL;
    if (inet_pton(n->v6 ? AF_INET6 : AF_INET, ip, n->addr) != 1) return -1;
    int max = n->v6 ? 128 : 32;
    n->bits = max;
    if (slash) {
        char *e;
        long b = strtol(slash + 1, &e, 10);
        if (e == slash + 1 || *e || b < 0 || b > max) return -1;
        n->bits = (int)b;
    }
    return 0;
}

/* "exact" or {re, "regex"} for a username or client id. */
static int who_value(lexer *lx, const term *v, acl_who *w)
{
    if (v->type == TM_STR) return (w->s = strdup(v->s)) ? 0 : -1;
    if (v->type == TM_TUPLE && v->n == 2 && is_atom(v->k[0], "re") && v->k[1]->type == TM_STR) {
        int rc = st_regcomp(&w->re, v->k[1]->s);
        if (rc) {
            fail(lx, v->line, "the regular expression \"%s\" does not compile", v->k[1]->s);
            return -1;
        }
        w->has_re = 1;
        return 0;
    }
    fail(lx, v->line, "expected \"value\" or {re, \"regex\"}");
    return -1;
}

static int who_parse(lexer *lx, const term *t, acl_who *w, int nested);

static int who_list(lexer *lx, const term *l, acl_who *w)
{
    if (l->type != TM_LIST || l->n == 0) {
        fail(lx, l->line, "'and' and 'or' take a list of Who: [{username, \"u\"}, ...]");
        return -1;
    }
    if (!(w->kids = calloc((size_t)l->n, sizeof *w->kids))) return -1;
    for (int i = 0; i < l->n; i++, w->nkids++)
        if (who_parse(lx, l->k[i], &w->kids[i], 1) < 0) {
            st_acl_who_free(&w->kids[i]);
            return -1;
        }
    return 0;
}

static int who_ips(lexer *lx, const term *v, acl_who *w)
{
    int list = v->type == TM_LIST;
    int n = list ? v->n : 1;
    if (!(w->nets = calloc((size_t)(n ? n : 1), sizeof *w->nets))) return -1;
    for (int i = 0; i < n; i++, w->nnets++) {
        const term *e = list ? v->k[i] : v;
        if (e->type != TM_STR || net_parse(e->s, &w->nets[i]) < 0) {
            fail(lx, e->line, "expected an IP address or CIDR, like \"10.0.0.0/8\"");
            return -1;
        }
    }
    return 0;
}

static int who_parse(lexer *lx, const term *t, acl_who *w, int nested)
{
    memset(w, 0, sizeof *w);
    if (is_atom(t, "all") && !nested) return (w->kind = W_ALL), 0;
    if (t->type == TM_TUPLE && t->n == 3 && is_atom(t->k[0], "client_attr"))
        return (w->kind = W_ATTR), 0;
    if (t->type == TM_TUPLE && t->n == 2 && t->k[0]->type == TM_ATOM) {
        const char *k = t->k[0]->s;
        const term *v = t->k[1];
        if (!strcmp(k, "username") || !strcmp(k, "user"))
            return (w->kind = W_USER), who_value(lx, v, w);
        if (!strcmp(k, "clientid") || !strcmp(k, "client"))
            return (w->kind = W_CID), who_value(lx, v, w);
        if (!strcmp(k, "ipaddr") && v->type == TM_STR) return (w->kind = W_IP), who_ips(lx, v, w);
        if (!strcmp(k, "ipaddrs") && v->type == TM_LIST) return (w->kind = W_IP), who_ips(lx, v, w);
        if (!strcmp(k, "and") || !strcmp(k, "or"))
            return (w->kind = k[0] == 'a' ? W_AND : W_OR), who_list(lx, v, w);
    }
    fail(lx, t->line,
         "unknown Who: expected all, {username, ...}, {clientid, ...}, {ipaddr, \"CIDR\"}, "
         "{ipaddrs, [...]}, {'and', [...]} or {'or', [...]}");
    return -1;
}

static int qos_opt(lexer *lx, const term *v, acl_rule *r)
{
    int n = v->type == TM_LIST ? v->n : 1;
    for (int i = 0; i < n; i++) {
        const term *e = v->type == TM_LIST ? v->k[i] : v;
        if (e->type != TM_INT || e->v < 0 || e->v > 2) {
            fail(lx, e->line, "a QoS is 0, 1 or 2");
            return -1;
        }
        r->qos |= (uint8_t)(1u << e->v);
    }
    return 0;
}

static int action_parse(lexer *lx, const term *t, acl_rule *r)
{
    const term *name = t->type == TM_TUPLE && t->n == 2 ? t->k[0] : t;
    r->qos = 7;
    r->retain = ACL_RETAIN_ALL;
    if (is_atom(name, "publish"))
        r->actions = ST_ACL_PUBLISH;
    else if (is_atom(name, "subscribe"))
        r->actions = ST_ACL_SUBSCRIBE;
    else if (is_atom(name, "all"))
        r->actions = ST_ACL_PUBLISH | ST_ACL_SUBSCRIBE;
    if (!r->actions || (name == t && t->type != TM_ATOM)) {
        fail(lx, t->line,
             "unknown Action: expected publish, subscribe, all or {Action, [Options]}");
        return -1;
    }
    if (name == t) return 0;
    const term *o = t->k[1];
    if (o->type != TM_LIST) {
        fail(lx, o->line, "an Action's options are a list: [{qos, 1}, {retain, true}]");
        return -1;
    }
    int qos_set = 0;
    for (int i = 0; i < o->n; i++) {
        const term *e = o->k[i];
        if (e->type == TM_TUPLE && e->n == 2 && is_atom(e->k[0], "qos")) {
            if (!qos_set) r->qos = 0;
            qos_set = 1;
            if (qos_opt(lx, e->k[1], r) < 0) return -1;
        } else if (e->type == TM_TUPLE && e->n == 2 && is_atom(e->k[0], "retain") &&
                   r->actions != ST_ACL_SUBSCRIBE &&
                   (is_atom(e->k[1], "true") || is_atom(e->k[1], "false") ||
                    is_atom(e->k[1], "all"))) {
            const char *v = e->k[1]->s;
            r->retain = v[0] == 't' ? 1 : v[0] == 'f' ? 0 : ACL_RETAIN_ALL;
        } else {
            fail(lx, e->line,
                 "unknown option: expected {qos, 0..2}, {qos, [...]} or (publish) {retain, "
                 "true|false|all}");
            return -1;
        }
    }
    return 0;
}

static int topic_parse(lexer *lx, const term *e, acl_topic *tp)
{
    const char *s = NULL;
    if (e->type == TM_STR) {
        s = e->s;
        if (strncmp(s, "eq ", 3) == 0) {
            s += 3;
            tp->eq = 1;
        }
    } else if (e->type == TM_TUPLE && e->n == 2 && is_atom(e->k[0], "eq") &&
               e->k[1]->type == TM_STR) {
        s = e->k[1]->s;
        tp->eq = 1;
    }
    if (!s) {
        fail(lx, e->line, "a topic is \"filter\" or {eq, \"topic\"}");
        return -1;
    }
    tp->placeholder = !tp->eq && strstr(s, "${") != NULL;
    return (tp->s = strdup(s)) ? 0 : -1;
}

static int topics_parse(lexer *lx, const term *t, acl_rule *r)
{
    if (is_atom(t, "all")) return (r->all_topics = 1), 0;
    if (t->type != TM_LIST) {
        fail(lx, t->line, "Topics are a list, like [\"t/#\"], or all");
        return -1;
    }
    if (t->n && !(r->topics = calloc((size_t)t->n, sizeof *r->topics))) return -1;
    for (int i = 0; i < t->n; i++, r->ntopics++) {
        if (topic_parse(lx, t->k[i], &r->topics[i]) < 0) return -1;
        r->placeholder |= r->topics[i].placeholder;
    }
    return 0;
}

static void rule_free(acl_rule *r)
{
    st_acl_who_free(&r->who);
    for (int i = 0; i < r->ntopics; i++)
        free(r->topics[i].s);
    free(r->topics);
}

static int rule_parse(lexer *lx, const term *t, acl_rule *r)
{
    memset(r, 0, sizeof *r);
    r->line = t->line;
    if (t->type != TM_TUPLE || (t->n != 2 && t->n != 4)) {
        fail(lx, t->line, "a rule is {Permission, Who, Action, Topics} or {Permission, all}");
        return -1;
    }
    if (!is_atom(t->k[0], "allow") && !is_atom(t->k[0], "deny")) {
        fail(lx, t->line, "a Permission is allow or deny");
        return -1;
    }
    r->allow = is_atom(t->k[0], "allow");
    if (t->n == 2) {
        if (!is_atom(t->k[1], "all")) {
            fail(lx, t->line, "a two-element rule is {allow, all} or {deny, all}");
            return -1;
        }
        r->actions = ST_ACL_PUBLISH | ST_ACL_SUBSCRIBE;
        r->qos = 7;
        r->retain = ACL_RETAIN_ALL;
        r->all_topics = 1;
        return 0;
    }
    if (who_parse(lx, t->k[1], &r->who, 0) < 0 || action_parse(lx, t->k[2], r) < 0 ||
        topics_parse(lx, t->k[3], r) < 0)
        return -1;
    return 0;
}

st_acl *st_acl_ref(st_acl *a)
{
    atomic_fetch_add(&a->refs, 1);
    return a;
}

void st_acl_free(st_acl *a)
{
    if (!a || atomic_fetch_sub(&a->refs, 1) != 1) return;
    for (size_t i = 0; i < a->n; i++)
        rule_free(&a->r[i]);
    free(a->r);
    free(a);
}

static int add_rule(lexer *lx, st_acl *a, const term *t)
{
    acl_rule *g = realloc(a->r, sizeof *g * (a->n + 1));
    if (!g) {
        fail(lx, t->line, "out of memory");
        return -1;
    }
    a->r = g;
    if (rule_parse(lx, t, &g[a->n]) < 0) {
        if (!*lx->err) fail(lx, t->line, "out of memory");
        rule_free(&g[a->n]);
        return -1;
    }
    a->n++;
    return 0;
}

st_acl *st_acl_parse(const char *text, size_t len, const char *file, char *err, size_t errlen)
{
    lexer lx = {text, text + len, file, 1, 0, err, errlen};
    st_acl *a = calloc(1, sizeof *a);
    if (!a) return fail(&lx, 1, "out of memory");
    atomic_init(&a->refs, 1);
    *err = 0;
    for (;;) {
        skip_ws(&lx);
        if (lx.p >= lx.end) return a;
        term *t = parse_term(&lx);
        skip_ws(&lx);
        int ok = t && lx.p < lx.end && *lx.p == '.';
        if (t && !ok)
            fail(&lx, lx.line, "expected '.' after the rule that starts on line %d", t->line);
        if (ok) {
            lx.p++;
            ok = add_rule(&lx, a, t) == 0;
        }
        term_free(t);
        if (!ok) {
            st_acl_free(a);
            return NULL;
        }
    }
}

st_acl *st_acl_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *g = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
            if (!g) free(buf);
            buf = g;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: too large or out of memory", path);
        return NULL;
    }
    st_acl *a = st_acl_parse(buf, n, path, err, errlen);
    free(buf);
    return a;
}

size_t st_acl_count(const st_acl *a)
{
    return a ? a->n : 0;
}
