/* hocon_resolve.c — resolves ${path} and ${?path} substitutions in a parsed tree.
 * A substitution is replaced in place by a copy of the value it names (resolved first, so
 * chains work), or else by the environment variable of that exact name from the envp the
 * caller passes (never getenv, so tests can supply their own). Cycles, runaway chains and
 * copies that would blow up memory ("billion laughs") are errors, not crashes. Optional
 * substitutions that find nothing become UNSET and are pruned once everything is resolved,
 * so no object is modified while an outer walk is iterating it. */
#include "config/hocon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define MAX_CHAIN 32                             /* substitution leading to substitution */
#define MAX_TREE_DEPTH (ST_HOCON_MAX_DEPTH + 32) /* after copying values around */
#define COPY_BUDGET ((size_t)1 << 20)            /* nodes created by substitutions */

struct rctx {
    st_hocon_node *root;
    char *const *envp;
    char *err;
    size_t errlen;
    size_t budget;
    int chain;
};

static int resolve(struct rctx *c, st_hocon_node *n, int depth);

static int rerr(struct rctx *c, const st_hocon_node *n, const char *fmt, ...)
{
    int len = n->line > 0 ? snprintf(c->err, c->errlen, "%s:%d: ", n->file, n->line)
                          : snprintf(c->err, c->errlen, "%s: ", n->file);
    if (len >= 0 && (size_t)len < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + len, c->errlen - (size_t)len, fmt, ap);
        va_end(ap);
    }
    return ST_ECONFIG;
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=') return *envp + len + 1;
    return NULL;
}

/* Split "a.b.\"c.d\"" into NUL-terminated segments inside buf; returns the count. */
static size_t split_path(const char *path, char *buf, char **segs)
{
    size_t n = 0;
    char *o = buf;
    segs[n++] = o;
    for (const char *p = path; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                *o++ = *p;
            if (!*p) break;
        } else if (*p == '.') {
            *o++ = '\0';
            segs[n++] = o;
        } else if (*p != ' ' && *p != '\t') {
            *o++ = *p;
        }
    }
    *o = '\0';
    return n;
}

/* Find the node a path names, resolving substitutions met on the way. */
static int lookup(struct rctx *c, const char *path, st_hocon_node **found)
{
    size_t len = strlen(path);
    char *buf = malloc(len + 1);
    char **segs = malloc((len + 1) * sizeof(*segs));
    int rc = 0;
    st_hocon_node *n = c->root;
    if (!buf || !segs) {
        rc = ST_ENOMEM;
        n = NULL;
    }
    size_t nseg = n ? split_path(path, buf, segs) : 0;
    for (size_t i = 0; n && i <= nseg; i++) {
        if ((n->kind == ST_HOCON_SUBST_ || n->kind == ST_HOCON_CONCAT_ ||
             n->kind == ST_HOCON_MERGE_) &&
            (rc = resolve(c, n, (int)i)) < 0) {
            n = NULL;
            break;
        }
        if (i == nseg) break;
        n = n->kind == ST_HOCON_OBJECT ? st_hocon_obj_get(n, segs[i]) : NULL;
    }
    if (n && n->kind == ST_HOCON_UNSET_) n = NULL;
    if (n && (rc = resolve(c, n, (int)nseg)) < 0) n = NULL;
    if (rc == 0 && n && (int)nseg > MAX_TREE_DEPTH) n = NULL;
    free(buf);
    free(segs);
    *found = n;
    return rc;
}

/* Count nodes and depth of a subtree (bounded by the tree depth limit). */
static void measure(const st_hocon_node *n, int depth, size_t *count, int *maxdepth)
{
    (*count)++;
    if (depth > *maxdepth) *maxdepth = depth;
    for (size_t i = 0; i < n->n; i++)
        measure(n->items[i], depth + 1, count, maxdepth);
}

/* Replace SUBST n (at depth in the tree) by a copy of target. */
static int take_copy(struct rctx *c, st_hocon_node *n, const st_hocon_node *target, int depth)
{
    size_t count = 0;
    int sub = 0;
    measure(target, 0, &count, &sub);
    if (count > c->budget) return rerr(c, n, "substitutions expand to too many values");
    if (depth + sub > MAX_TREE_DEPTH)
        return rerr(c, n, "substitution ${%s} nests too deeply", n->str);
    c->budget -= count;
    st_hocon_node *copy = st_hocon_copy(target);
    if (!copy) return rerr(c, n, "out of memory");
    const char *file = n->file;
    int line = n->line;
    free(n->str);
    *n = *copy;
    n->file = file;
    n->line = line;
    free(copy);
    return 0;
}

static int do_subst(struct rctx *c, st_hocon_node *n, int depth)
{
    if (n->resolving) return rerr(c, n, "substitution cycle involving ${%s}", n->str);
    if (c->chain >= MAX_CHAIN)
        return rerr(c, n, "substitutions nested too deeply at ${%s}", n->str);
    c->chain++;
    n->resolving = 1;
    st_hocon_node *target;
    const char *env;
    int rc = lookup(c, n->str, &target);
    if (rc == ST_ENOMEM) {
        rc = rerr(c, n, "out of memory");
    } else if (rc == 0 && target) {
        rc = take_copy(c, n, target, depth);
    } else if (rc == 0 && (env = env_lookup(c->envp, n->str))) {
        char *s = strdup(env);
        if (!s) {
            rc = rerr(c, n, "out of memory");
        } else {
            free(n->str);
            n->str = s;
            n->kind = ST_HOCON_STRING;
            n->quoted = 1;
        }
    } else if (rc == 0 && n->optional) {
        n->kind = ST_HOCON_UNSET_;
    } else if (rc == 0) {
        rc = rerr(c, n, "unresolved substitution ${%s}", n->str);
    }
    n->resolving = 0;
    c->chain--;
    return rc;
}

static const char *piece_text(const st_hocon_node *p)
{
    switch (p->kind) {
    case ST_HOCON_STRING:
    case ST_HOCON_NUMBER:
        return p->str;
    case ST_HOCON_BOOL:
        return p->boolean ? "true" : "false";
    case ST_HOCON_NULL:
        return "null";
    case ST_HOCON_UNSET_:
        return "";
    default:
        return NULL;
    }
}

static int do_concat(struct rctx *c, st_hocon_node *n, int depth)
{
    if (n->resolving) return rerr(c, n, "substitution cycle");
    n->resolving = 1;
    size_t len = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n->n; i++) {
        if ((rc = resolve(c, n->items[i], depth + 1)) == 0 && !piece_text(n->items[i]))
            rc = rerr(c, n->items[i], "cannot concatenate an %s with text",
                      st_hocon_kind_name(n->items[i]->kind));
        if (rc == 0) len += strlen(piece_text(n->items[i]));
    }
    n->resolving = 0;
    if (rc < 0) return rc;
    char *s = malloc(len + 1), *o = s;
    if (!s) return rerr(c, n, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        const char *t = piece_text(n->items[i]);
        size_t l = strlen(t);
        memcpy(o, t, l);
        o += l;
        st_hocon_node_free(n->items[i]);
    }
    *o = '\0';
    n->n = 0;
    n->kind = ST_HOCON_STRING;
    n->quoted = 1;
    free(n->str);
    n->str = s;
    return 0;
}

/* MERGE: resolve the parts in order; objects merge, anything else replaces what came before. */
static int do_merge(struct rctx *c, st_hocon_node *n, int depth)
{
    if (n->resolving) return rerr(c, n, "substitution cycle");
    n->resolving = 1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n->n; i++)
        rc = resolve(c, n->items[i], depth);
    n->resolving = 0;
    if (rc < 0) return rc;
    st_hocon_node *acc = NULL;
    for (size_t i = 0; i < n->n; i++) {
        st_hocon_node *part = n->items[i];
        if (part->kind == ST_HOCON_UNSET_) {
            st_hocon_node_free(part);
        } else if (acc && acc->kind == ST_HOCON_OBJECT && part->kind == ST_HOCON_OBJECT) {
            if (st_hocon_merge(acc, part) < 0) rc = ST_ENOMEM;
        } else {
            st_hocon_node_free(acc);
            acc = part;
        }
    }
    n->n = 0;
    free(n->items);
    const char *file = n->file;
    int line = n->line;
    if (!acc) {
        n->items = NULL;
        n->cap = 0;
        n->kind = ST_HOCON_UNSET_;
    } else {
        *n = *acc;
        n->file = file;
        n->line = line;
        free(acc);
    }
    return rc < 0 ? rerr(c, n, "out of memory") : 0;
}

static int resolve(struct rctx *c, st_hocon_node *n, int depth)
{
    switch (n->kind) {
    case ST_HOCON_OBJECT:
    case ST_HOCON_ARRAY:
        for (size_t i = 0; i < n->n; i++) {
            int rc = resolve(c, n->items[i], depth + 1);
            if (rc < 0) return rc;
        }
        return 0;
    case ST_HOCON_SUBST_:
        return do_subst(c, n, depth);
    case ST_HOCON_CONCAT_:
        return do_concat(c, n, depth);
    case ST_HOCON_MERGE_:
        return do_merge(c, n, depth);
    default:
        return 0;
    }
}

/* Drop fields and elements whose optional substitution found nothing. */
static void prune(st_hocon_node *n)
{
    size_t out = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->kind == ST_HOCON_UNSET_) {
            st_hocon_node_free(n->items[i]);
            if (n->keys) free(n->keys[i]);
            continue;
        }
        prune(n->items[i]);
        n->items[out] = n->items[i];
        if (n->keys) n->keys[out] = n->keys[i];
        out++;
    }
    n->n = out;
}

int st_hocon_resolve(st_hocon_node *root, char *const *envp, char *err, size_t errlen)
{
    struct rctx c = {
        .root = root, .envp = envp, .err = err, .errlen = errlen, .budget = COPY_BUDGET};
    if (errlen) err[0] = '\0';
    int rc = resolve(&c, root, 0);
    if (rc == 0) prune(root);
    return rc;
}
