/* schema_convert.c — turns one resolved HOCON node into the typed value a schema key wants,
 * or explains in one short phrase why it cannot ("expected integer, got string \"x\"",
 * "value 0 out of range 1..65535"). Conversions are lenient the way EMQX's are: a quoted
 * "64" is an integer, a bare port is a bind address, "a,b" is a list of strings. */
#include "config/schema.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void describe(const st_hocon_node *n, char *buf, size_t len)
{
    const char *str = n->str ? n->str : "";
    if (n->kind == ST_HOCON_STRING)
        snprintf(buf, len, "string \"%.60s\"", str);
    else if (n->kind == ST_HOCON_NUMBER)
        snprintf(buf, len, "number %.60s", str);
    else if (n->kind == ST_HOCON_BOOL)
        snprintf(buf, len, "bool %s", n->boolean ? "true" : "false");
    else
        snprintf(buf, len, "%s", st_hocon_kind_name(n->kind));
}

static int expected(const struct st_schema_key *k, const st_hocon_node *n, char *msg, size_t len)
{
    char type[64], got[96];
    st_schema_type_name(k, type, sizeof(type));
    describe(n, got, sizeof(got));
    snprintf(msg, len, "expected %s, got %s", type, got);
    return -1;
}

/* Text of a string or number node, else NULL. */
static const char *text_of(const st_hocon_node *n)
{
    return (n->kind == ST_HOCON_STRING || n->kind == ST_HOCON_NUMBER) ? n->str : NULL;
}

static int parse_int(const char *s, int64_t *v)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || !((*s >= '0' && *s <= '9') || *s == '-')) return -1;
    *v = x;
    return 0;
}

static int check_range(const struct st_schema_key *k, int64_t v, char *msg, size_t len)
{
    if (v >= k->min && v <= k->max) return 0;
    if (k->max == INT64_MAX)
        snprintf(msg, len, "value %" PRId64 " out of range (minimum %" PRId64 ")", v, k->min);
    else
        snprintf(msg, len, "value %" PRId64 " out of range %" PRId64 "..%" PRId64, v, k->min,
                 k->max);
    return -1;
}

/* "infinity" / "disabled" where the key allows them; 1 if handled. */
static int special_word(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o)
{
    if (n->kind != ST_HOCON_STRING) return 0;
    if ((k->flags & ST_F_INF) && strcmp(n->str, "infinity") == 0) {
        o->i = INT64_MAX;
        return 1;
    }
    if ((k->flags & ST_F_DISABLED) && strcmp(n->str, "disabled") == 0) {
        o->i = 0;
        return 1;
    }
    return 0;
}

static int conv_bool(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                     char *msg, size_t len)
{
    if (n->kind == ST_HOCON_BOOL) {
        o->i = n->boolean;
        return 0;
    }
    static const char *const words[] = {"false", "off", "no", "true", "on", "yes"};
    for (int i = 0; n->kind == ST_HOCON_STRING && i < 6; i++) {
        if (strcmp(n->str, words[i]) == 0) {
            o->i = i >= 3;
            return 0;
        }
    }
    return expected(k, n, msg, len);
}

static int conv_int(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                    char *msg, size_t len)
{
    if (special_word(k, n, o)) return 0;
    if (n->kind == ST_HOCON_NUMBER && n->is_int)
        o->i = n->inum;
    else if (n->kind != ST_HOCON_STRING || parse_int(n->str, &o->i) < 0)
        return expected(k, n, msg, len);
    if (check_range(k, o->i, msg, len) < 0) return -1;
    if ((k->flags & ST_F_ZERO_INF) && o->i == 0) o->i = INT64_MAX;
    return 0;
}

static int conv_float(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                      char *msg, size_t len)
{
    const char *s = text_of(n);
    char *end = NULL;
    if (!s || !*s) return expected(k, n, msg, len);
    o->f = strtod(s, &end);
    if (*end || !isfinite(o->f)) return expected(k, n, msg, len);
    if (o->f < (double)k->min || o->f > (double)k->max) {
        snprintf(msg, len, "value %s out of range %" PRId64 "..%" PRId64, s, k->min, k->max);
        return -1;
    }
    return 0;
}

static int conv_string(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                       char *msg, size_t len)
{
    const char *s = text_of(n);
    if (!s) return expected(k, n, msg, len);
    if (k->flags & ST_F_NODENAME) {
        const char *at = strchr(s, '@');
        if (!at || at == s || !at[1] || strchr(at + 1, '@')) {
            snprintf(msg, len, "invalid node name \"%.60s\", expected name@host", s);
            return -1;
        }
    }
    o->s = strdup(s);
    return o->s ? 0 : -1;
}

static int conv_enum(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                     char *msg, size_t len)
{
    const char *s = text_of(n);
    if (n->kind == ST_HOCON_BOOL) s = n->boolean ? "true" : "false"; /* enable_authn = true */
    size_t slen = s ? strlen(s) : 0;
    const char *c = k->choices;
    for (int64_t i = 0; s && *c; i++) {
        size_t clen = strcspn(c, "|");
        if (clen == slen && memcmp(c, s, clen) == 0) {
            o->i = i;
            o->s = strdup(s);
            return o->s ? 0 : -1;
        }
        c += clen + (c[clen] == '|');
    }
    char got[96], list[256];
    size_t j = 0;
    for (c = k->choices; *c && j + 3 < sizeof(list); c++)
        j += (size_t)snprintf(list + j, sizeof(list) - j, *c == '|' ? ", " : "%c", *c);
    describe(n, got, sizeof(got));
    snprintf(msg, len, "expected one of %s, got %s", list, got);
    return -1;
}

static int conv_units(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                      char *msg, size_t len)
{
    if (special_word(k, n, o)) return 0;
    int bad;
    if (n->kind == ST_HOCON_NUMBER)
        bad = !n->is_int || (o->i = n->inum) < 0;
    else if (n->kind == ST_HOCON_STRING && k->type == ST_T_DURATION)
        bad = st_parse_duration(n->str, &o->i) < 0;
    else if (n->kind == ST_HOCON_STRING)
        bad = st_parse_bytesize(n->str, &o->i) < 0;
    else
        return expected(k, n, msg, len);
    if (bad) {
        char got[96];
        describe(n, got, sizeof(got));
        snprintf(msg, len, "invalid %s %s%s", k->type == ST_T_DURATION ? "duration" : "byte size",
                 got,
                 k->type == ST_T_DURATION ? " (e.g. 30s, 100ms, 2h, 1d)" : " (e.g. 512KB, 1MB)");
        return -1;
    }
    return check_range(k, o->i, msg, len);
}

static int conv_bind(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                     char *msg, size_t len)
{
    const char *s = text_of(n);
    int64_t port;
    char buf[300];
    if (!s) return expected(k, n, msg, len);
    const char *colon = strrchr(s, ':');
    if (parse_int(s, &port) == 0 && port >= 0 && port <= 65535) {
        snprintf(buf, sizeof(buf), "0.0.0.0:%" PRId64, port);
        s = buf;
    } else if (!colon || colon == s || parse_int(colon + 1, &port) < 0 || port < 0 ||
               port > 65535 || colon[1] == '-' || strlen(s) > 255) {
        snprintf(msg, len, "invalid address \"%.60s\", expected ip:port or port", s);
        return -1;
    }
    o->s = strdup(s);
    return o->s ? 0 : -1;
}

static int push_str(struct st_cval *o, const char *s, size_t n)
{
    char **arr = realloc(o->arr, (o->n + 1) * sizeof(*arr));
    if (!arr) return -1;
    o->arr = arr;
    if (!(arr[o->n] = strndup(s, n))) return -1;
    o->n++;
    return 0;
}

static int conv_strlist(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *o,
                        char *msg, size_t len)
{
    if (n->kind == ST_HOCON_STRING) { /* "a, b" */
        for (const char *p = n->str; *p;) {
            p += strspn(p, " \t");
            size_t l = strcspn(p, ",");
            size_t t = l;
            while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
                t--;
            if (t > 0 && push_str(o, p, t) < 0) return -1;
            p += l + (p[l] == ',');
        }
        return 0;
    }
    if (n->kind != ST_HOCON_ARRAY) return expected(k, n, msg, len);
    for (size_t i = 0; i < n->n; i++) {
        const char *s = text_of(n->items[i]);
        if (!s) {
            char got[96];
            describe(n->items[i], got, sizeof(got));
            snprintf(msg, len, "element %zu: expected string, got %s", i + 1, got);
            return -1;
        }
        if (push_str(o, s, strlen(s)) < 0) return -1;
    }
    return 0;
}

int st_schema_convert(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *out,
                      char *msg, size_t msglen)
{
    typedef int (*conv_fn)(const struct st_schema_key *, const st_hocon_node *, struct st_cval *,
                           char *, size_t);
    static const conv_fn conv[] = {
        [ST_T_BOOL] = conv_bool,      [ST_T_INT] = conv_int,   [ST_T_FLOAT] = conv_float,
        [ST_T_STRING] = conv_string,  [ST_T_ENUM] = conv_enum, [ST_T_DURATION] = conv_units,
        [ST_T_BYTESIZE] = conv_units, [ST_T_BIND] = conv_bind, [ST_T_STRLIST] = conv_strlist,
    };
    memset(out, 0, sizeof(*out));
    snprintf(msg, msglen, "out of memory");
    int rc = conv[k->type](k, n, out, msg, msglen);
    if (rc < 0) st_cval_free(out);
    return rc;
}
