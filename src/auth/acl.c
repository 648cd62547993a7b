/* acl.c — one client's share of an acl.conf (acl.h): the rules whose Who it is, as a bitmap
 * over the file's rules, with the topics that hold placeholders expanded for it; and the
 * match of an action and a topic against them. */
#include "auth/acl_rules.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

typedef struct acl_exp {
    char **topics; /* per topic of the rule: expanded, or NULL (a value it names is missing) */
    int n;
} acl_exp;

struct st_acl_list {
    st_acl *a;
    size_t n;      /* rules that apply */
    uint8_t *bits; /* bit i: rule i applies */
    acl_exp *exp;  /* one per applying rule with placeholders, in rule order */
    size_t nexp;
};

void st_acl_who_free(acl_who *w)
{
    free(w->s);
    if (w->has_re) regfree(&w->re);
    free(w->nets);
    for (int i = 0; i < w->nkids; i++)
        st_acl_who_free(&w->kids[i]);
    free(w->kids);
    memset(w, 0, sizeof *w);
}

static int net_has(const acl_net *n, const char *host)
{
    uint8_t a[16];
    int v6 = strchr(host, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1) return 0;
    const uint8_t *p = a;
    if (v6 && !n->v6) { /* ::ffff:a.b.c.d against a v4 rule */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) != 0) return 0;
        p = a + 12;
    } else if (v6 != n->v6) {
        return 0;
    }
    int full = n->bits / 8, rest = n->bits % 8;
    if (memcmp(p, n->addr, (size_t)full) != 0) return 0;
    if (!rest) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (p[full] & mask) == (n->addr[full] & mask);
}

static int value_is(const acl_who *w, const char *v)
{
    if (!v) return 0;
    return w->has_re ? regexec(&w->re, v, 0, NULL, 0) == 0 : strcmp(w->s, v) == 0;
}

static int who_is(const acl_who *w, const st_acl_who *c)
{
    switch (w->kind) {
    case W_ALL:
        return 1;
    case W_USER:
        return value_is(w, c->username);
    case W_CID:
        return value_is(w, c->clientid);
    case W_IP:
        for (int i = 0; c->peerhost && i < w->nnets; i++)
            if (net_has(&w->nets[i], c->peerhost)) return 1;
        return 0;
    case W_AND:
        for (int i = 0; i < w->nkids; i++)
            if (!who_is(&w->kids[i], c)) return 0;
        return 1;
    case W_OR:
        for (int i = 0; i < w->nkids; i++)
            if (who_is(&w->kids[i], c)) return 1;
        return 0;
    default:
        return 0; /* client_attr: clients have no attributes here */
    }
}

/* The value of ${name} for this client; *known = 0 for a name that is not a placeholder. */
static const char *var(const st_acl_who *c, const char *name, size_t n, int *known)
{
    *known = 1;
    if (n == 8 && !memcmp(name, "username", 8)) return c->username;
    if (n == 8 && !memcmp(name, "clientid", 8)) return c->clientid;
    if (n == 16 && !memcmp(name, "cert_common_name", 16)) return c->cn;
    if (n == 4 && !memcmp(name, "zone", 4)) return "default";
    if (n > 13 && !memcmp(name, "client_attrs.", 13)) return NULL;
    *known = 0;
    return NULL;
}

/* The topic with its placeholders filled in; NULL when a value is missing (or no memory). */
static char *expand(const char *t, const st_acl_who *c)
{
    size_t cap = strlen(t) + 64, n = 0;
    char *out = malloc(cap);
    while (out && *t) {
        const char *v = NULL, *end = NULL;
        size_t vl = 1;
        int known = 0;
        if (t[0] == '$' && t[1] == '{' && (end = strchr(t, '}'))) {
            v = var(c, t + 2, (size_t)(end - t - 2), &known);
            if (known && !v) break;
            vl = known ? strlen(v) : 1;
        }
        if (n + vl + 1 > cap) {
            char *g = realloc(out, cap = (n + vl + 1) * 2);
            if (!g) break;
            out = g;
        }
        if (known) {
            memcpy(out + n, v, vl);
            t = end + 1;
        } else {
            out[n] = *t++;
        }
        n += vl;
    }
    if (out && *t) {
        free(out);
        return NULL;
    }
    if (out) out[n] = 0;
    return out;
}

static int add_exp(st_acl_list *l, const acl_rule *r, const st_acl_who *c)
{
    acl_exp *g = realloc(l->exp, sizeof *g * (l->nexp + 1));
    if (!g) return -1;
    l->exp = g;
    acl_exp *e = &g[l->nexp++];
    e->n = 0;
    if (!(e->topics = calloc((size_t)r->ntopics, sizeof *e->topics))) return -1;
    for (; e->n < r->ntopics; e->n++)
        e->topics[e->n] = r->topics[e->n].placeholder ? expand(r->topics[e->n].s, c) : NULL;
    return 0;
}

void st_acl_list_free(st_acl_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->nexp; i++) {
        for (int j = 0; j < l->exp[i].n; j++)
            free(l->exp[i].topics[j]);
        free(l->exp[i].topics);
    }
    free(l->exp);
    free(l->bits);
    st_acl_free(l->a);
    free(l);
}

st_acl_list *st_acl_compile(const st_acl *a, const st_acl_who *who)
{
    st_acl_list *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->a = st_acl_ref((st_acl *)a);
    if (!(l->bits = calloc(a->n / 8 + 1, 1))) goto fail;
    for (size_t i = 0; i < a->n; i++) {
        const acl_rule *r = &a->r[i];
        if (!who_is(&r->who, who)) continue;
        if (r->placeholder && add_exp(l, r, who) < 0) goto fail;
        l->bits[i / 8] |= (uint8_t)(1u << (i % 8));
        l->n++;
    }
    return l;
fail:
    st_acl_list_free(l);
    return NULL;
}

size_t st_acl_list_count(const st_acl_list *l)
{
    return l ? l->n : 0;
}

int st_acl_topic_match(const char *s, size_t sl, const char *f, size_t fl)
{
    if (sl && s[0] == '$' && fl && (f[0] == '+' || f[0] == '#') && (fl == 1 || f[1] == '/'))
        return 0;
    const char *sp = s, *se = s + sl, *fp = f, *fe = f + fl;
    int s_more = 1;
    for (;;) {
        const char *fle = memchr(fp, '/', (size_t)(fe - fp));
        if (!fle) fle = fe;
        size_t flen = (size_t)(fle - fp);
        if (flen == 1 && *fp == '#') return 1;
        if (!s_more) return 0;
        const char *sle = memchr(sp, '/', (size_t)(se - sp));
        if (!sle) sle = se;
        if (!(flen == 1 && *fp == '+') && (flen != (size_t)(sle - sp) || memcmp(fp, sp, flen) != 0))
            return 0;
        if (fle == fe) return sle == se;
        fp = fle + 1;
        if (sle == se)
            s_more = 0;
        else
            sp = sle + 1;
    }
}

static int topic_hit(const acl_rule *r, const acl_exp *e, const char *topic, size_t len)
{
    if (r->all_topics) return 1;
    for (int j = 0; j < r->ntopics; j++) {
        const char *s = r->topics[j].placeholder ? e->topics[j] : r->topics[j].s;
        if (!s) continue;
        size_t sl = strlen(s);
        if (r->topics[j].eq ? (sl == len && memcmp(s, topic, len) == 0)
                            : st_acl_topic_match(topic, len, s, sl))
            return 1;
    }
    return 0;
}

int st_acl_check(const st_acl_list *l, int action, const char *topic, size_t len, int qos,
                 int retain)
{
    const st_acl *a = l->a;
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!(l->bits[i / 8] & (1u << (i % 8)))) continue;
        const acl_rule *r = &a->r[i];
        const acl_exp *e = r->placeholder ? &l->exp[k++] : NULL;
        if (!(r->actions & action) || !(r->qos & (1u << (qos & 3)))) continue;
        if (action == ST_ACL_PUBLISH && r->retain != ACL_RETAIN_ALL && r->retain != !!retain)
            continue;
        if (topic_hit(r, e, topic, len)) return r->allow ? ST_ACL_ALLOW : ST_ACL_DENY;
    }
    return ST_ACL_NOMATCH;
}
