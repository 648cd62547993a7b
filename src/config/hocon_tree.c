/* hocon_tree.c — the generic HOCON tree: allocation, copying, object fields and merging.
 * Objects keep their fields in insertion order in two parallel arrays (configs are small, so
 * lookups are linear). Merging follows HOCON: for a repeated key, two objects merge
 * recursively and anything else is replaced by the later value. File names are interned in
 * an st_hocon_doc so nodes can point at them without owning them. */
#include "config/hocon.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct doc_name {
    struct doc_name *next;
    char name[];
};

struct st_hocon_doc {
    struct doc_name *names;
};

st_hocon_doc *st_hocon_doc_new(void)
{
    return calloc(1, sizeof(st_hocon_doc));
}

void st_hocon_doc_free(st_hocon_doc *d)
{
    if (!d) return;
    struct doc_name *n = d->names;
    while (n) {
        struct doc_name *next = n->next;
        free(n);
        n = next;
    }
    free(d);
}

const char *st_hocon_doc_intern(st_hocon_doc *d, const char *name)
{
    for (struct doc_name *n = d->names; n; n = n->next)
        if (strcmp(n->name, name) == 0) return n->name;
    size_t len = strlen(name);
    struct doc_name *n = malloc(sizeof(*n) + len + 1);
    if (!n) return NULL;
    memcpy(n->name, name, len + 1);
    n->next = d->names;
    d->names = n;
    return n->name;
}

const char *st_hocon_kind_name(enum st_hocon_kind k)
{
    switch (k) {
    case ST_HOCON_OBJECT:
        return "object";
    case ST_HOCON_ARRAY:
        return "array";
    case ST_HOCON_STRING:
        return "string";
    case ST_HOCON_NUMBER:
        return "number";
    case ST_HOCON_BOOL:
        return "bool";
    case ST_HOCON_NULL:
        return "null";
    case ST_HOCON_SUBST_:
    case ST_HOCON_CONCAT_:
    case ST_HOCON_MERGE_:
        return "substitution";
    case ST_HOCON_UNSET_:
        return "unset";
    }
    return "?";
}

st_hocon_node *st_hocon_node_new(enum st_hocon_kind kind, const char *file, int line)
{
    st_hocon_node *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    return n;
}

void st_hocon_node_free(st_hocon_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        st_hocon_node_free(n->items[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->str);
    free(n);
}

static int grow(st_hocon_node *n, int with_keys)
{
    if (n->n < n->cap) return 0;
    size_t cap = n->cap ? n->cap * 2 : 4;
    st_hocon_node **items = realloc(n->items, cap * sizeof(*items));
    if (!items) return ST_ENOMEM;
    n->items = items;
    if (with_keys) {
        char **keys = realloc(n->keys, cap * sizeof(*keys));
        if (!keys) return ST_ENOMEM;
        n->keys = keys;
    }
    n->cap = cap;
    return 0;
}

st_hocon_node *st_hocon_copy(const st_hocon_node *n)
{
    st_hocon_node *c = st_hocon_node_new(n->kind, n->file, n->line);
    if (!c) return NULL;
    c->quoted = n->quoted;
    c->optional = n->optional;
    c->is_int = n->is_int;
    c->boolean = n->boolean;
    c->num = n->num;
    c->inum = n->inum;
    if (n->str && !(c->str = strdup(n->str))) goto fail;
    for (size_t i = 0; i < n->n; i++) {
        st_hocon_node *item = st_hocon_copy(n->items[i]);
        if (!item) goto fail;
        int rc = n->keys ? st_hocon_obj_set(c, n->keys[i], item) : st_hocon_push(c, item);
        if (rc < 0) goto fail;
    }
    return c;
fail:
    st_hocon_node_free(c);
    return NULL;
}

st_hocon_node *st_hocon_obj_get(const st_hocon_node *obj, const char *key)
{
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

int st_hocon_obj_set(st_hocon_node *obj, const char *key, st_hocon_node *v)
{
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            st_hocon_node_free(obj->items[i]);
            obj->items[i] = v;
            return 0;
        }
    }
    char *k = strdup(key);
    if (!k || grow(obj, 1) < 0) {
        free(k);
        st_hocon_node_free(v);
        return ST_ENOMEM;
    }
    obj->keys[obj->n] = k;
    obj->items[obj->n++] = v;
    return 0;
}

void st_hocon_obj_del(st_hocon_node *obj, const char *key)
{
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) != 0) continue;
        free(obj->keys[i]);
        st_hocon_node_free(obj->items[i]);
        memmove(obj->keys + i, obj->keys + i + 1, (obj->n - i - 1) * sizeof *obj->keys);
        memmove(obj->items + i, obj->items + i + 1, (obj->n - i - 1) * sizeof *obj->items);
        obj->n--;
        return;
    }
}

int st_hocon_push(st_hocon_node *arr, st_hocon_node *v)
{
    if (grow(arr, 0) < 0) {
        st_hocon_node_free(v);
        return ST_ENOMEM;
    }
    arr->items[arr->n++] = v;
    return 0;
}

static int unresolved(const st_hocon_node *n)
{
    return n->kind == ST_HOCON_SUBST_ || n->kind == ST_HOCON_MERGE_;
}

/* old and v may both turn out to be objects once substitutions are resolved: keep both in a
 * MERGE node (which takes ownership of v) and let st_hocon_resolve() decide. */
static int defer_merge(st_hocon_node *dst, size_t idx, st_hocon_node *v)
{
    st_hocon_node *old = dst->items[idx];
    if (old->kind != ST_HOCON_MERGE_) {
        st_hocon_node *m = st_hocon_node_new(ST_HOCON_MERGE_, v->file, v->line);
        if (!m || !(m->items = malloc(4 * sizeof(*m->items)))) {
            free(m);
            st_hocon_node_free(v);
            return ST_ENOMEM;
        }
        m->cap = 4;
        m->items[m->n++] = old;
        dst->items[idx] = old = m;
    }
    return st_hocon_push(old, v);
}

/* Merge one field into dst: objects merge, anything else replaces. Takes ownership of v. */
static int merge_field(st_hocon_node *dst, const char *key, st_hocon_node *v)
{
    for (size_t i = 0; i < dst->n; i++) {
        if (strcmp(dst->keys[i], key) != 0) continue;
        st_hocon_node *old = dst->items[i];
        if (old->kind == ST_HOCON_OBJECT && v->kind == ST_HOCON_OBJECT)
            return st_hocon_merge(old, v);
        if ((old->kind == ST_HOCON_OBJECT || unresolved(old)) &&
            (v->kind == ST_HOCON_OBJECT || unresolved(v)) && (unresolved(old) || unresolved(v)))
            return defer_merge(dst, i, v);
        break;
    }
    return st_hocon_obj_set(dst, key, v);
}

/* Wrap v in objects for segs[0..nseg): a.b = v becomes { a { b = v } }. */
static st_hocon_node *wrap(const char *const *segs, size_t nseg, st_hocon_node *v)
{
    for (size_t i = nseg; i-- > 0;) {
        st_hocon_node *o = st_hocon_node_new(ST_HOCON_OBJECT, v->file, v->line);
        if (!o || st_hocon_obj_set(o, segs[i], v) < 0) {
            if (!o) st_hocon_node_free(v);
            st_hocon_node_free(o);
            return NULL;
        }
        v = o;
    }
    return v;
}

int st_hocon_merge(st_hocon_node *dst, st_hocon_node *src)
{
    int rc = 0;
    for (size_t i = 0; i < src->n; i++) {
        if (rc == 0)
            rc = merge_field(dst, src->keys[i], src->items[i]);
        else
            st_hocon_node_free(src->items[i]);
        free(src->keys[i]);
    }
    src->n = 0;
    st_hocon_node_free(src);
    return rc;
}

int st_hocon_insert(st_hocon_node *obj, const char *const *segs, size_t nseg, st_hocon_node *v)
{
    for (size_t i = 0; i + 1 < nseg; i++) {
        st_hocon_node *child = st_hocon_obj_get(obj, segs[i]);
        if (child && unresolved(child)) { /* x = ${base}, then x.y = 1 */
            st_hocon_node *w = wrap(segs + i + 1, nseg - i - 1, v);
            return w ? merge_field(obj, segs[i], w) : ST_ENOMEM;
        }
        if (!child || child->kind != ST_HOCON_OBJECT) {
            child = st_hocon_node_new(ST_HOCON_OBJECT, v->file, v->line);
            if (!child || st_hocon_obj_set(obj, segs[i], child) < 0) {
                st_hocon_node_free(v);
                return ST_ENOMEM;
            }
        }
        obj = child;
    }
    return merge_field(obj, segs[nseg - 1], v);
}

const st_hocon_node *st_hocon_get(const st_hocon_node *root, const char *path)
{
    const st_hocon_node *n = root;
    while (n && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (n->kind != ST_HOCON_OBJECT) return NULL;
        const st_hocon_node *next = NULL;
        for (size_t i = 0; i < n->n; i++)
            if (strlen(n->keys[i]) == len && memcmp(n->keys[i], path, len) == 0) next = n->items[i];
        n = next;
        path += len + (dot ? 1 : 0);
    }
    return n;
}

void st_hocon_set_origin(st_hocon_node *v, const char *file, int line)
{
    v->file = file;
    v->line = line;
    for (size_t i = 0; i < v->n; i++)
        st_hocon_set_origin(v->items[i], file, line);
}
