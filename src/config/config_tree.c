/* config_tree.c — a loaded config as text again (GET /api/v5/configs, `ctl conf show`) and
 * the keys two configs differ in (what a change through the API touched). Values are written
 * the way an operator writes them ("30s", "1MB", "infinity"), so the text loads back to the
 * same values; secrets are written as ST_CONFIG_MASK. */
#include "config/config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/hocon.h"
#include "config/schema.h"
#include "core/err.h"

#define MAX_SEGS 16
static const char origin_file[] = "config";

int st_config_sensitive(const char *key)
{
    static const char *const words[] = {"password", "secret", "cookie", "default_password",
                                        "password_hash_salt"};
    const char *dot = strrchr(key, '.');
    const char *last = dot ? dot + 1 : key;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(last, words[i]) == 0) return 1;
    return 0;
}

static st_hocon_node *str_node(const char *s)
{
    st_hocon_node *n = st_hocon_node_new(ST_HOCON_STRING, origin_file, 0);
    if (n && !(n->str = strdup(s))) {
        st_hocon_node_free(n);
        return NULL;
    }
    return n;
}

/* v in the largest unit that holds it exactly: "30s", "1MB". */
static void with_unit(char *buf, size_t cap, int64_t v, int bytes)
{
    static const struct {
        const char *name;
        int64_t size;
    } dur[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}},
      size[] = {{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}};
    size_t n = bytes ? sizeof size / sizeof *size : sizeof dur / sizeof *dur;
    for (size_t i = 0; i < n; i++) {
        int64_t unit = bytes ? size[i].size : dur[i].size;
        if (v != 0 && v % unit != 0) continue;
        snprintf(buf, cap, "%" PRId64 "%s", v / unit, bytes ? size[i].name : dur[i].name);
        return;
    }
}

static st_hocon_node *value_node(const char *key, const struct st_schema_key *k,
                                 const struct st_cval *v)
{
    char buf[64];
    if (st_config_sensitive(key) && k->type == ST_T_STRING && v->s && v->s[0])
        return str_node(ST_CONFIG_MASK);
    int unlimited = (k->flags & (ST_F_INF | ST_F_ZERO_INF)) && v->i == INT64_MAX;
    if (k->type == ST_T_BOOL) {
        st_hocon_node *n = st_hocon_node_new(ST_HOCON_BOOL, origin_file, 0);
        if (n) n->boolean = v->i != 0;
        return n;
    }
    if (unlimited && (k->flags & ST_F_INF)) return str_node("infinity");
    if (unlimited) { /* ST_F_ZERO_INF: 0 says it */
        st_hocon_node *n = st_hocon_node_new(ST_HOCON_NUMBER, origin_file, 0);
        if (n) n->is_int = 1;
        return n;
    }
    if ((k->flags & ST_F_DISABLED) && v->i == 0 && k->type != ST_T_FLOAT)
        return str_node("disabled");
    if (k->type == ST_T_DURATION || k->type == ST_T_BYTESIZE) {
        with_unit(buf, sizeof buf, v->i, k->type == ST_T_BYTESIZE);
        return str_node(buf);
    }
    if (k->type == ST_T_INT || k->type == ST_T_FLOAT) {
        st_hocon_node *n = st_hocon_node_new(ST_HOCON_NUMBER, origin_file, 0);
        if (!n) return NULL;
        n->is_int = k->type == ST_T_INT;
        n->inum = v->i;
        n->num = k->type == ST_T_INT ? (double)v->i : v->f;
        return n;
    }
    if (k->type == ST_T_STRLIST) {
        st_hocon_node *a = st_hocon_node_new(ST_HOCON_ARRAY, origin_file, 0);
        for (size_t i = 0; a && i < v->n; i++)
            if (st_hocon_push(a, str_node(v->arr[i])) < 0) {
                st_hocon_node_free(a);
                return NULL;
            }
        return a;
    }
    return str_node(v->s ? v->s : "");
}

struct build_tree {
    const char *prefix;
    size_t plen;
    st_hocon_node *root;
    int rc, found;
};

static int add_value(void *ctx, const char *key, const struct st_schema_key *k,
                     const struct st_cval *v, const char *origin)
{
    (void)origin;
    struct build_tree *t = ctx;
    if (t->plen &&
        (strncmp(key, t->prefix, t->plen) != 0 || (key[t->plen] != '\0' && key[t->plen] != '.')))
        return 0;
    char copy[512];
    const char *segs[MAX_SEGS];
    snprintf(copy, sizeof copy, "%s", key);
    size_t n = st_config_split(copy, segs, MAX_SEGS);
    st_hocon_node *val = value_node(key, k, v);
    t->rc = val ? st_hocon_insert(t->root, segs, n, val) : ST_ENOMEM;
    t->found = 1;
    return t->rc < 0;
}

/* Objects that stand for a list of objects (their keys "0", "1", ...) become arrays. */
static int lists_to_arrays(st_hocon_node *obj, const char **segs, size_t depth)
{
    for (size_t i = 0; i < obj->n && depth < MAX_SEGS - 1; i++) {
        st_hocon_node *child = obj->items[i];
        if (child->kind != ST_HOCON_OBJECT) continue;
        segs[depth] = obj->keys[i];
        int rc = lists_to_arrays(child, segs, depth + 1);
        if (rc < 0) return rc;
        if (!st_schema_is_list(segs, depth + 1)) continue;
        st_hocon_node *arr = st_hocon_node_new(ST_HOCON_ARRAY, origin_file, 0);
        if (!arr) return ST_ENOMEM;
        for (size_t want = 0; want < child->n; want++) {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", want);
            st_hocon_node *el = st_hocon_obj_get(child, idx);
            if (el && st_hocon_push(arr, st_hocon_copy(el)) < 0) {
                st_hocon_node_free(arr);
                return ST_ENOMEM;
            }
        }
        st_hocon_obj_set(obj, obj->keys[i], arr);
    }
    return 0;
}

int st_config_write(const st_config *c, const char *prefix, int json, FILE *out)
{
    struct build_tree t = {prefix ? prefix : "", prefix ? strlen(prefix) : 0, NULL, 0, 0};
    t.root = st_hocon_node_new(ST_HOCON_OBJECT, origin_file, 0);
    if (!t.root) return ST_ENOMEM;
    st_config_visit(c, add_value, &t);
    const char *segs[MAX_SEGS];
    if (t.rc == 0) t.rc = lists_to_arrays(t.root, segs, 0);
    if (t.rc == 0 && !t.found) t.rc = ST_ENOENT;
    const st_hocon_node *at = t.root;
    if (t.rc == 0 && json == ST_CONFIG_JSON_VALUE) at = st_hocon_get(t.root, t.prefix);
    if (t.rc == 0 && at) st_hocon_write(out, at, json != 0);
    st_hocon_node_free(t.root);
    return t.rc;
}

/* ---- differences ------------------------------------------------------------------------ */

struct flat {
    const char **keys;
    const struct st_schema_key **k;
    const struct st_cval **v;
    size_t n, cap;
    int oom;
};

static int collect(void *ctx, const char *key, const struct st_schema_key *k,
                   const struct st_cval *v, const char *origin)
{
    (void)origin;
    struct flat *f = ctx;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        const char **keys = realloc(f->keys, cap * sizeof *keys);
        if (keys) f->keys = keys;
        const struct st_schema_key **ks = realloc(f->k, cap * sizeof *ks);
        if (ks) f->k = ks;
        const struct st_cval **vs = realloc(f->v, cap * sizeof *vs);
        if (vs) f->v = vs;
        if (!keys || !ks || !vs) return f->oom = 1;
        f->cap = cap;
    }
    f->keys[f->n] = key;
    f->k[f->n] = k;
    f->v[f->n++] = v;
    return 0;
}

static int same(const struct st_schema_key *k, const struct st_cval *a, const struct st_cval *b)
{
    if (a->i != b->i || a->f != b->f || a->n != b->n) return 0;
    if ((a->s == NULL) != (b->s == NULL) || (a->s && strcmp(a->s, b->s) != 0)) return 0;
    for (size_t i = 0; k->type == ST_T_STRLIST && i < a->n; i++)
        if (strcmp(a->arr[i], b->arr[i]) != 0) return 0;
    return 1;
}

int st_config_diff(const st_config *a, const st_config *b, st_config_diff_fn fn, void *ctx)
{
    struct flat fa = {0}, fb = {0};
    st_config_visit(a, collect, &fa);
    st_config_visit(b, collect, &fb);
    int rc = fa.oom || fb.oom ? ST_ENOMEM : 0;
    size_t i = 0, j = 0;
    while (rc == 0 && (i < fa.n || j < fb.n)) { /* both in key order */
        int cmp = i == fa.n ? 1 : j == fb.n ? -1 : strcmp(fa.keys[i], fb.keys[j]);
        if (cmp < 0) {
            fn(ctx, fa.keys[i++]);
        } else if (cmp > 0) {
            fn(ctx, fb.keys[j++]);
        } else {
            if (!same(fa.k[i], fa.v[i], fb.v[j])) fn(ctx, fa.keys[i]);
            i++, j++;
        }
    }
    free(fa.keys), free(fa.k), free(fa.v), free(fb.keys), free(fb.k), free(fb.v);
    return rc;
}
