/* acl_json.c — rules as JSON, the built-in database's and its API's (EMQX's shape):
 *   [{"topic": "t/${clientid}", "permission": "allow" | "deny",
 *     "action": "publish" | "subscribe" | "all", "qos": [0, 1, 2], "retain": true | false | "all"}]
 * Who is not in a rule: the row's key (a client id, a username, or everyone) says it. */
#include "auth/acl_rules.h"
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 8192

typedef struct out {
    char *p;
    size_t len, cap;
    int oom;
} out;

static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !o->oom; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = 1;
        } else if (o->p && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        } else {
            size_t cap = (o->len + (size_t)n + 1) * 2;
            char *g = realloc(o->p, cap);
            if (!g) o->oom = 1;
            o->p = g ? g : o->p;
            o->cap = g ? cap : o->cap;
        }
    }
}

static void put_str(out *o, const char *s)
{
    put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static int bad(char *err, size_t errlen, int i, const char *why)
{
    snprintf(err, errlen, "rule %d: %s", i + 1, why);
    return -1;
}

/* "qos": 1 or [0, 1]: the bits; -1 when it is neither. */
static int qos_bits(const char *s, const st_jtok *t, int at)
{
    int n = t[at].type == ST_J_ARRAY ? (int)t[at].size : 1, bits = 0;
    for (int i = 0; i < n; i++) {
        int e = t[at].type == ST_J_ARRAY ? st_json_at(t, (uint32_t)at, (uint32_t)i) : at;
        if (e < 0 || t[e].type != ST_J_NUMBER || t[e].end - t[e].start != 1) return -1;
        char d = s[t[e].start];
        if (d < '0' || d > '2') return -1;
        bits |= 1 << (d - '0');
    }
    return bits;
}

/* A rule's "permission" and "action" (short: "pub" and "sub" too, as in a claim's rules):
 * NULL, or what is wrong. */
static const char *permission_action(const char *s, const st_jtok *t, int o, acl_rule *r,
                                     int short_names)
{
    char buf[32];
    int k;
    if ((k = st_json_get(s, t, (uint32_t)o, "permission")) < 0 ||
        (!st_json_eq(s, &t[k], "allow") && !st_json_eq(s, &t[k], "deny")))
        return "\"permission\" is allow or deny";
    r->allow = st_json_eq(s, &t[k], "allow");
    if ((k = st_json_get(s, t, (uint32_t)o, "action")) < 0 ||
        st_json_str(s, &t[k], buf, sizeof buf) < 0)
        return "\"action\" is publish, subscribe or all";
    int pub = !strcmp(buf, "publish") || (short_names && !strcmp(buf, "pub"));
    int sub = !strcmp(buf, "subscribe") || (short_names && !strcmp(buf, "sub"));
    r->actions = pub                   ? ST_ACL_PUBLISH
                 : sub                 ? ST_ACL_SUBSCRIBE
                 : !strcmp(buf, "all") ? ST_ACL_PUBLISH | ST_ACL_SUBSCRIBE
                                       : 0;
    return r->actions ? NULL : "\"action\" is publish, subscribe or all";
}

static int one(const char *s, const st_jtok *t, int o, int i, acl_rule *r, char *err, size_t errlen)
{
    char topic[1024];
    int k;
    memset(r, 0, sizeof *r);
    r->who.kind = W_ALL;
    if (t[o].type != ST_J_OBJECT) return bad(err, errlen, i, "not an object");
    if ((k = st_json_get(s, t, (uint32_t)o, "topic")) < 0 ||
        st_json_str(s, &t[k], topic, sizeof topic) <= 0)
        return bad(err, errlen, i, "\"topic\" is required: a topic filter");
    const char *why = permission_action(s, t, o, r, 0);
    if (why) return bad(err, errlen, i, why);
    int q = (k = st_json_get(s, t, (uint32_t)o, "qos")) < 0 ? 7 : qos_bits(s, t, k);
    if (q <= 0) return bad(err, errlen, i, "\"qos\" is a list of 0, 1 and 2");
    r->qos = (uint8_t)q;
    r->retain = ACL_RETAIN_ALL;
    if ((k = st_json_get(s, t, (uint32_t)o, "retain")) >= 0) {
        if (t[k].type == ST_J_TRUE || t[k].type == ST_J_FALSE)
            r->retain = t[k].type == ST_J_TRUE;
        else if (!st_json_eq(s, &t[k], "all"))
            return bad(err, errlen, i, "\"retain\" is true, false or \"all\"");
    }
    if (!(r->topics = calloc(1, sizeof *r->topics))) return bad(err, errlen, i, "out of memory");
    r->ntopics = 1;
    const char *f = topic;
    if (!strncmp(f, "eq ", 3)) {
        r->topics[0].eq = 1;
        f += 3;
    }
    r->topics[0].placeholder = r->placeholder = !r->topics[0].eq && strstr(f, "${") != NULL;
    if (!(r->topics[0].s = strdup(f))) return bad(err, errlen, i, "out of memory");
    return 0;
}

static void emit(out *o, const acl_rule *r, int first)
{
    static const char *actions[] = {"", "publish", "subscribe", "all"};
    put(o, "%s{\"topic\":", first ? "" : ",");
    char topic[1100];
    snprintf(topic, sizeof topic, "%s%s", r->topics[0].eq ? "eq " : "", r->topics[0].s);
    put_str(o, topic);
    put(o, ",\"permission\":\"%s\",\"action\":\"%s\",\"qos\":[", r->allow ? "allow" : "deny",
        actions[r->actions & 3]);
    for (int q = 0, n = 0; q < 3; q++)
        if (r->qos & (1 << q)) put(o, "%s%d", n++ ? "," : "", q);
    put(o, "],\"retain\":%s}",
        r->retain == ACL_RETAIN_ALL ? "\"all\""
        : r->retain                 ? "true"
                                    : "false");
}

st_acl *st_acl_from_json(const char *s, size_t len, int max_rules, char **normal, char *err,
                         size_t errlen)
{
    st_jtok *t = malloc(sizeof *t * MAX_TOKENS);
    int n = t ? st_json_parse(s, len, t, MAX_TOKENS) : -1;
    st_acl *a = NULL;
    out o = {0};
    if (normal) *normal = NULL;
    if (n < 0 || t[0].type != ST_J_ARRAY) {
        snprintf(err, errlen, "the rules are a JSON array of objects");
        goto done;
    }
    if ((int)t[0].size > max_rules) {
        snprintf(err, errlen, "more than %d rules (max_rules)", max_rules);
        goto done;
    }
    if ((a = calloc(1, sizeof *a))) atomic_init(&a->refs, 1);
    if (!a || !(a->r = calloc(t[0].size + 1, sizeof *a->r))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    put(&o, "[");
    for (uint32_t i = 0; i < t[0].size; i++) {
        int rc = one(s, t, st_json_at(t, 0, i), (int)i, &a->r[i], err, errlen);
        a->n++; /* freed with the others, also when it failed */
        if (rc < 0) goto fail;
        emit(&o, &a->r[i], i == 0);
    }
    put(&o, "]");
    if (o.oom) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (normal)
        *normal = o.p;
    else
        free(o.p);
    goto done;
fail:
    free(o.p);
    st_acl_free(a);
    a = NULL;
done:
    free(t);
    return a;
}

/* ---- the acl of a JWT claim or of an HTTP authenticator's answer (EMQX's client_info) ---- */

/* A topic list entry: "t", "eq t" (placeholders expanded later). */
static int add_topic(acl_rule *r, const char *s, const st_jtok *t, int k)
{
    char topic[1024];
    if (t[k].type != ST_J_STRING || st_json_str(s, &t[k], topic, sizeof topic) <= 0) return -1;
    acl_topic *g = realloc(r->topics, sizeof *g * (size_t)(r->ntopics + 1));
    if (!g) return -1;
    r->topics = g;
    acl_topic *tp = &g[r->ntopics];
    memset(tp, 0, sizeof *tp);
    const char *f = topic;
    if (!strncmp(f, "eq ", 3)) {
        tp->eq = 1;
        f += 3;
    }
    tp->placeholder = !tp->eq && strstr(f, "${") != NULL;
    r->placeholder |= tp->placeholder;
    if (!(tp->s = strdup(f))) return -1;
    r->ntopics++;
    return 0;
}

/* "qos": 1, [0, 1] or "0,1" */
static int claim_qos(const char *s, const st_jtok *t, int k)
{
    if (t[k].type != ST_J_STRING) return qos_bits(s, t, k);
    char v[16];
    int bits = 0;
    if (st_json_str(s, &t[k], v, sizeof v) <= 0) return -1;
    for (char *p = v; *p; p++) {
        if (*p >= '0' && *p <= '2')
            bits |= 1 << (*p - '0');
        else if (*p != ',' && *p != ' ')
            return -1;
    }
    return bits;
}

static int claim_rule(const char *s, const st_jtok *t, int o, int i, acl_rule *r, char *err,
                      size_t errlen)
{
    int k;
    memset(r, 0, sizeof *r);
    r->who.kind = W_ALL;
    r->qos = 7;
    r->retain = ACL_RETAIN_ALL;
    if (t[o].type != ST_J_OBJECT) return bad(err, errlen, i, "not an object");
    const char *why = permission_action(s, t, o, r, 1);
    if (why) return bad(err, errlen, i, why);
    if ((k = st_json_get(s, t, (uint32_t)o, "qos")) >= 0) {
        int q = claim_qos(s, t, k);
        if (q <= 0) return bad(err, errlen, i, "\"qos\" is 0, 1, 2 or a list of them");
        r->qos = (uint8_t)q;
    }
    if ((k = st_json_get(s, t, (uint32_t)o, "retain")) >= 0) {
        char v[8] = "";
        if (t[k].type == ST_J_TRUE || t[k].type == ST_J_FALSE)
            r->retain = t[k].type == ST_J_TRUE;
        else if (t[k].end - t[k].start == 1 && (s[t[k].start] == '0' || s[t[k].start] == '1'))
            r->retain = s[t[k].start] == '1';
        else if (st_json_str(s, &t[k], v, sizeof v) < 0 || strcmp(v, "all"))
            return bad(err, errlen, i, "\"retain\" is true, false or \"all\"");
    }
    int one_topic = st_json_get(s, t, (uint32_t)o, "topic");
    int list = st_json_get(s, t, (uint32_t)o, "topics");
    if (one_topic >= 0 && add_topic(r, s, t, one_topic) < 0)
        return bad(err, errlen, i, "\"topic\" is a topic filter");
    for (uint32_t j = 0; list >= 0 && t[list].type == ST_J_ARRAY && j < t[list].size; j++)
        if (add_topic(r, s, t, st_json_at(t, (uint32_t)list, j)) < 0)
            return bad(err, errlen, i, "\"topics\" is a list of topic filters");
    if (!r->ntopics) return bad(err, errlen, i, "\"topic\" or \"topics\" is required");
    return 0;
}

/* The legacy map {"pub": [...], "sub": [...], "all": [...]}: allow rules. */
static int legacy_rules(const char *s, const st_jtok *t, st_acl *a, char *err, size_t errlen)
{
    static const struct {
        const char *key;
        uint8_t actions;
    } keys[] = {{"pub", ST_ACL_PUBLISH},
                {"sub", ST_ACL_SUBSCRIBE},
                {"all", ST_ACL_PUBLISH | ST_ACL_SUBSCRIBE}};
    for (int i = 0; i < 3; i++) {
        int k = st_json_get(s, t, 0, keys[i].key);
        if (k < 0) continue;
        acl_rule *r = &a->r[a->n++];
        *r = (acl_rule){.allow = 1, .actions = keys[i].actions, .qos = 7, .retain = ACL_RETAIN_ALL};
        for (uint32_t j = 0; t[k].type == ST_J_ARRAY && j < t[k].size; j++)
            if (add_topic(r, s, t, st_json_at(t, (uint32_t)k, j)) < 0)
                return bad(err, errlen, i, "\"pub\", \"sub\" and \"all\" are lists of topics");
        if (t[k].type != ST_J_ARRAY)
            return bad(err, errlen, i, "\"pub\", \"sub\" and \"all\" are lists of topics");
    }
    return 0;
}

st_acl *st_acl_from_claim(const char *s, size_t len, int *legacy, char *err, size_t errlen)
{
    st_jtok *t = malloc(sizeof *t * MAX_TOKENS);
    int n = t ? st_json_parse(s, len, t, MAX_TOKENS) : -1;
    st_acl *a = NULL;
    *legacy = n > 0 && t[0].type == ST_J_OBJECT;
    if (n <= 0 || (t[0].type != ST_J_ARRAY && t[0].type != ST_J_OBJECT)) {
        snprintf(err, errlen, "the acl is a list of rules or {\"pub\", \"sub\", \"all\"}");
        goto done;
    }
    if ((a = calloc(1, sizeof *a))) atomic_init(&a->refs, 1);
    if (!a || !(a->r = calloc(*legacy ? 3 : t[0].size + 1, sizeof *a->r))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (*legacy) {
        if (legacy_rules(s, t, a, err, errlen) < 0) goto fail;
        goto done;
    }
    for (uint32_t i = 0; i < t[0].size; i++) {
        int rc = claim_rule(s, t, st_json_at(t, 0, i), (int)i, &a->r[i], err, errlen);
        a->n++;
        if (rc < 0) goto fail;
    }
    goto done;
fail:
    st_acl_free(a);
    a = NULL;
done:
    free(t);
    return a;
}
