/* config.c — loading and reading the configuration. Load is a pipeline over one HOCON tree:
 * parse the file, merge environment overrides into it, resolve substitutions, then walk the
 * tree against the schema, converting every leaf and collecting every error (so a user sees
 * all mistakes at once), and finally fill in defaults. The result is a flat, sorted array of
 * typed values keyed by concrete path; the tree is thrown away. Getters treat a wrong key or
 * type as a programming error and abort, so callers need no error handling for reads. */
#include "config/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_env.h"
#include "config/hocon.h"
#include "config/schema.h"
#include "core/err.h"

#define MAX_SEGS 16

struct cfg_val {
    char *key;
    const struct st_schema_key *k;
    struct st_cval v;
    char *origin;
};

struct cfg_map {
    char *prefix;
    char **names;
    size_t n;
};

struct st_config {
    struct cfg_val *vals;
    size_t n, cap;
    struct cfg_map *maps;
    size_t nmaps;
};

struct build {
    st_config *c;
    st_hocon_doc *doc;
    char *err;
    size_t errlen, used;
    int errors;
};

static void add_error(struct build *b, const st_hocon_node *at, const char *key, const char *fmt,
                      ...)
{
    if (b->used + 1 >= b->errlen) {
        b->errors++;
        return;
    }
    char *o = b->err + b->used;
    size_t room = b->errlen - b->used;
    int n = snprintf(o, room, "%s", b->errors ? "\n" : "");
    if (at && at->line > 0)
        n += snprintf(o + n, room - (size_t)n, "%s:%d: ", at->file, at->line);
    else if (at)
        n += snprintf(o + n, room - (size_t)n, "%s: ", at->file);
    if ((size_t)n < room && key) n += snprintf(o + n, room - (size_t)n, "%s: ", key);
    if ((size_t)n < room) {
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(o + n, room - (size_t)n, fmt, ap);
        va_end(ap);
    }
    b->used += (size_t)n < room ? (size_t)n : room - 1;
    b->errors++;
}

static char *join(const char *const *segs, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(segs[i]) + 1;
    char *s = malloc(len + 1), *o = s;
    if (!s) return NULL;
    *o = '\0';
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s%s", i ? "." : "", segs[i]);
    return s;
}

static struct cfg_val *find_val(const st_config *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->vals[i].key, key) == 0) return &c->vals[i];
    return NULL;
}

static struct cfg_map *find_map(const st_config *c, const char *prefix)
{
    for (size_t i = 0; i < c->nmaps; i++)
        if (strcmp(c->maps[i].prefix, prefix) == 0) return &c->maps[i];
    return NULL;
}

static int add_name(struct cfg_map *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0) return 0;
    char **names = realloc(m->names, (m->n + 1) * sizeof(*names));
    if (!names) return ST_ENOMEM;
    m->names = names;
    if (!(names[m->n] = strdup(name))) return ST_ENOMEM;
    m->n++;
    return 0;
}

/* Store a converted value; takes ownership of key and v's contents. */
static int add_val(st_config *c, char *key, const struct st_schema_key *k, struct st_cval *v,
                   const st_hocon_node *from)
{
    char origin[300];
    if (!from)
        snprintf(origin, sizeof(origin), "default");
    else if (from->line > 0)
        snprintf(origin, sizeof(origin), "%s:%d", from->file, from->line);
    else
        snprintf(origin, sizeof(origin), "%s", from->file);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct cfg_val *vals = realloc(c->vals, cap * sizeof(*vals));
        if (!vals) goto fail;
        c->vals = vals;
        c->cap = cap;
    }
    char *o = strdup(origin);
    if (!o) goto fail;
    c->vals[c->n++] = (struct cfg_val){key, k, *v, o};
    return 0;
fail:
    free(key);
    st_cval_free(v);
    return ST_ENOMEM;
}

static int convert_leaf(struct build *b, const struct st_schema_key *k, const st_hocon_node *n,
                        const char *const *segs, size_t nseg)
{
    char *key = join(segs, nseg), msg[256];
    struct st_cval v;
    if (!key) return ST_ENOMEM;
    if (st_schema_convert(k, n, &v, msg, sizeof(msg)) < 0) {
        add_error(b, n, key, "%s", msg);
        free(key);
        return 0;
    }
    return add_val(b->c, key, k, &v, n);
}

static int walk(struct build *b, const st_hocon_node *obj, const char **segs, size_t depth);

/* An empty map for prefix (a list inside a map's entry: listeners.tcp.x.authentication). */
static struct cfg_map *new_map(st_config *c, const char *prefix)
{
    char *copy = strdup(prefix);
    struct cfg_map *maps = copy ? realloc(c->maps, (c->nmaps + 1) * sizeof(*maps)) : NULL;
    if (!maps) {
        free(copy);
        return NULL;
    }
    c->maps = maps;
    c->maps[c->nmaps] = (struct cfg_map){copy, NULL, 0};
    return &c->maps[c->nmaps++];
}

/* A list of objects at segs[0..depth): each element is the map entry named by its index
 * ("0", "1", ...). A single object stands for a list of one, as in EMQX. */
static int walk_list(struct build *b, const st_hocon_node *node, const char **segs, size_t depth)
{
    char idx[24];
    char *prefix = join(segs, depth);
    int rc = prefix && (find_map(b->c, prefix) || new_map(b->c, prefix)) ? 0 : ST_ENOMEM;
    size_t n = node->kind == ST_HOCON_OBJECT ? 1 : node->kind == ST_HOCON_ARRAY ? node->n : 0;
    if (rc == 0 && n == 0 && node->kind != ST_HOCON_ARRAY)
        add_error(b, node, prefix, "expected an array of objects, got %s",
                  st_hocon_kind_name(node->kind));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const st_hocon_node *item = node->kind == ST_HOCON_OBJECT ? node : node->items[i];
        snprintf(idx, sizeof idx, "%zu", i);
        if (item->kind != ST_HOCON_OBJECT) {
            add_error(b, item, prefix, "element %zu: expected an object, got %s", i,
                      st_hocon_kind_name(item->kind));
            continue;
        }
        segs[depth] = idx;
        rc = add_name(find_map(b->c, prefix), idx); /* walking may move the maps (realloc) */
        if (rc == 0) rc = walk(b, item, segs, depth + 1);
    }
    free(prefix);
    return rc;
}

/* An object at a list's path whose keys are all the list's plain siblings (the seed's
 * `authentication.password_hash_salt` beside EMQX's `authentication = [...]`): walked as
 * an object, not as a list of one. */
static int plain_object(const st_hocon_node *n, const char **segs, size_t depth)
{
    if (n->kind != ST_HOCON_OBJECT || n->n == 0) return 0;
    for (size_t i = 0; i < n->n; i++) {
        const struct st_schema_key *k = NULL;
        int wild = 0;
        segs[depth] = n->keys[i];
        if (st_schema_match(segs, depth + 1, &k, &wild) != ST_MATCH_LEAF || wild) return 0;
    }
    return 1;
}

/* segs[depth] names an entry of the map at segs[0..depth): note it. A map inside a list's
 * element (authentication.0.verify_claims) is made when its first entry is seen. */
static int name_in_map(struct build *b, const char **segs, size_t depth)
{
    char *prefix = join(segs, depth);
    struct cfg_map *map = prefix ? find_map(b->c, prefix) : NULL;
    if (prefix && !map) {
        struct cfg_map *maps = realloc(b->c->maps, (b->c->nmaps + 1) * sizeof(*maps));
        if (maps) {
            b->c->maps = maps;
            map = &maps[b->c->nmaps++];
            *map = (struct cfg_map){prefix, NULL, 0};
            prefix = NULL; /* the map's now */
        }
    }
    int rc = map ? add_name(map, segs[depth]) : ST_ENOMEM;
    free(prefix);
    return rc;
}

/* `listeners.<type>.<name> = 1883` (or "ip:port"), the seed document's form and EMQX 4's
 * `listener.tcp.external = 0.0.0.0:1883`: the listener's bind. The bind key (segs[n] is
 * set to "bind"), or NULL when the path or the value is not that. */
static const struct st_schema_key *bind_shorthand(const char **segs, size_t n,
                                                  const st_hocon_node *v)
{
    const struct st_schema_key *k = NULL;
    int wild = 0;
    if (n != 3 || n + 1 >= MAX_SEGS || strcmp(segs[0], "listeners") != 0 ||
        (v->kind != ST_HOCON_NUMBER && v->kind != ST_HOCON_STRING))
        return NULL;
    segs[n] = "bind";
    if (st_schema_match(segs, n + 1, &k, &wild) != ST_MATCH_LEAF || k->type != ST_T_BIND)
        return NULL;
    return k;
}

/* Check and convert every field of obj, whose path is segs[0..depth). */
static int walk(struct build *b, const st_hocon_node *obj, const char **segs, size_t depth)
{
    for (size_t i = 0; i < obj->n; i++) {
        const st_hocon_node *child = obj->items[i];
        const struct st_schema_key *k = NULL;
        int wild = 0, rc = 0;
        segs[depth] = obj->keys[i];
        enum st_match m =
            depth + 1 < MAX_SEGS ? st_schema_match(segs, depth + 1, &k, &wild) : ST_MATCH_NONE;
        if (m != ST_MATCH_NONE && child->kind == ST_HOCON_NULL)
            continue; /* null: keep the default */
        if (wild && (m == ST_MATCH_LEAF || m == ST_MATCH_PREFIX) &&
            (rc = name_in_map(b, segs, depth)) < 0)
            return rc;
        if (m == ST_MATCH_LEAF) {
            rc = convert_leaf(b, k, child, segs, depth + 1);
        } else if (m == ST_MATCH_PREFIX && depth + 2 < MAX_SEGS &&
                   st_schema_is_list(segs, depth + 1) && !plain_object(child, segs, depth + 1)) {
            rc = walk_list(b, child, segs, depth + 1);
        } else if (m == ST_MATCH_PREFIX && (k = bind_shorthand(segs, depth + 1, child)) != NULL) {
            rc = convert_leaf(b, k, child, segs, depth + 2);
        } else if (m == ST_MATCH_PREFIX && child->kind != ST_HOCON_OBJECT) {
            char *key = join(segs, depth + 1);
            add_error(b, child, key ? key : obj->keys[i], "expected an object, got %s",
                      st_hocon_kind_name(child->kind));
            free(key);
        } else if (m == ST_MATCH_PREFIX) {
            rc = walk(b, child, segs, depth + 1);
        } else {
            char *key = join(segs, depth + 1);
            add_error(b, child, key ? key : obj->keys[i], "unknown key");
            free(key);
        }
        if (rc < 0) return rc;
    }
    return 0;
}

static int add_default(struct build *b, const struct st_schema_key *k, const char *key)
{
    if (find_val(b->c, key)) return 0;
    char *copy = strdup(key), msg[256];
    st_hocon_node *n = NULL;
    struct st_cval v;
    if (!copy ||
        st_hocon_parse_value(b->doc, k->def, strlen(k->def), "default", &n, msg, sizeof(msg)) < 0 ||
        st_schema_convert(k, n, &v, msg, sizeof(msg)) < 0) {
        add_error(b, NULL, key, "bad default \"%s\": %s", k->def, msg);
        free(copy);
        st_hocon_node_free(n);
        return copy ? 0 : ST_ENOMEM;
    }
    st_hocon_node_free(n);
    return add_val(b->c, copy, k, &v, NULL);
}

/* Create one map entry per "<name>" in the schema (before the walk fills them). */
static int make_maps(st_config *c)
{
    size_t nkeys;
    const struct st_schema_key *keys = st_schema_keys(&nkeys);
    for (size_t i = 0; i < nkeys; i++) {
        const char *w = strstr(keys[i].path, ".<");
        if (!w) continue;
        char *prefix = strndup(keys[i].path, (size_t)(w - keys[i].path));
        if (!prefix) return ST_ENOMEM;
        if (find_map(c, prefix)) {
            free(prefix);
            continue;
        }
        struct cfg_map *maps = realloc(c->maps, (c->nmaps + 1) * sizeof(*maps));
        if (!maps) {
            free(prefix);
            return ST_ENOMEM;
        }
        c->maps = maps;
        c->maps[c->nmaps++] = (struct cfg_map){prefix, NULL, 0};
    }
    return 0;
}

/* listeners.tcp.<name>.authentication.<#>.x: the defaults of every element of every entry's
 * list (prefix "listeners.tcp", rest ".authentication.<#>.x", w2 at ".<#>", rest2 ".x"). */
static int list_defaults(struct build *b, const struct st_schema_key *k, const char *prefix,
                         const char *rest, const char *w2, const char *rest2)
{
    const struct cfg_map *m = find_map(b->c, prefix);
    int rc = 0;
    for (size_t j = 0; rc == 0 && m && j < m->n; j++) {
        char list[256], *key;
        snprintf(list, sizeof list, "%s.%s%.*s", prefix, m->names[j], (int)(w2 - rest), rest);
        const struct cfg_map *l = find_map(b->c, list);
        for (size_t e = 0; rc == 0 && l && e < l->n; e++) {
            if (asprintf(&key, "%s.%s%s", list, l->names[e], rest2 ? rest2 : "") < 0)
                return ST_ENOMEM;
            rc = add_default(b, k, key);
            free(key);
        }
    }
    return rc;
}

static int fill_defaults(struct build *b)
{
    size_t nkeys, nmaps;
    const struct st_schema_key *keys = st_schema_keys(&nkeys);
    const struct st_schema_map *maps = st_schema_maps(&nmaps);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nmaps; i++) {
        struct cfg_map *m = find_map(b->c, maps[i].prefix);
        if (m && m->n == 0) rc = add_name(m, maps[i].default_name);
    }
    for (size_t i = 0; rc == 0 && i < nkeys; i++) {
        const char *w = strstr(keys[i].path, ".<");
        if (!w) {
            rc = add_default(b, &keys[i], keys[i].path);
            continue;
        }
        char prefix[128], *key;
        const char *rest = strchr(w + 1, '.');
        snprintf(prefix, sizeof(prefix), "%.*s", (int)(w - keys[i].path), keys[i].path);
        const char *w2 = rest ? strstr(rest, ".<") : NULL;
        if (w2) { /* a map's entries have no defaults; a list's in a map's entry do */
            const char *rest2 = strchr(w2 + 1, '.');
            if (strncmp(w2, ".<#>", 4) == 0 && !(rest2 && strstr(rest2, ".<")))
                rc = list_defaults(b, &keys[i], prefix, rest, w2, rest2);
            continue;
        }
        const struct cfg_map *m = find_map(b->c, prefix);
        for (size_t j = 0; rc == 0 && m && j < m->n; j++) {
            if (asprintf(&key, "%s.%s%s", prefix, m->names[j], rest ? rest : "") < 0)
                return ST_ENOMEM;
            rc = add_default(b, &keys[i], key);
            free(key);
        }
    }
    return rc;
}

static int cmp_val(const void *a, const void *b)
{
    return strcmp(((const struct cfg_val *)a)->key, ((const struct cfg_val *)b)->key);
}

static int build(st_hocon_doc *doc, const st_hocon_node *root, st_config **out, char *err,
                 size_t errlen)
{
    st_config *c = calloc(1, sizeof(*c));
    struct build b = {c, doc, err, errlen, 0, 0};
    const char *segs[MAX_SEGS];
    int rc = c ? make_maps(c) : ST_ENOMEM;
    if (rc == 0) rc = walk(&b, root, segs, 0);
    if (rc == 0 && b.errors == 0) rc = fill_defaults(&b);
    if (rc == 0 && b.errors) rc = ST_ECONFIG;
    if (rc == ST_ENOMEM && b.errors == 0) snprintf(err, errlen, "out of memory");
    if (rc < 0) {
        st_config_free(c);
        return rc;
    }
    qsort(c->vals, c->n, sizeof(*c->vals), cmp_val);
    *out = c;
    return 0;
}

/* The overrides' text parsed and merged over root (no include: it is not a file the
 * operator wrote). */
static int overlay(st_hocon_doc *doc, st_hocon_node *root, const struct st_config_layer *over,
                   char *err, size_t errlen)
{
    if (!over || !over->text) return 0;
    struct st_hocon_opts o = {.no_include = 1};
    st_hocon_node *top = NULL;
    int rc = st_hocon_parse_buffer(doc, over->text, over->len, over->name, &o, &top, err, errlen);
    return rc < 0 ? rc : st_hocon_merge(root, top);
}

static int load(const char *buf, size_t len, const char *name, const struct st_config_layer *over,
                char *const *envp, st_config_warn_fn warn, void *ctx, st_config **out, char *err,
                size_t errlen)
{
    st_hocon_doc *doc = st_hocon_doc_new();
    st_hocon_node *root = NULL;
    int rc = 0;
    *out = NULL;
    if (errlen) err[0] = '\0';
    if (!doc) {
        rc = ST_ENOMEM;
    } else if (buf) {
        rc = st_hocon_parse_buffer(doc, buf, len, name, NULL, &root, err, errlen);
    } else if (name) {
        rc = st_hocon_parse_file(doc, name, NULL, &root, err, errlen);
    } else {
        const char *file = st_hocon_doc_intern(doc, "defaults");
        root = file ? st_hocon_node_new(ST_HOCON_OBJECT, file, 0) : NULL;
        rc = root ? 0 : ST_ENOMEM;
    }
    if (rc == 0) rc = overlay(doc, root, over, err, errlen);
    if (rc == 0) rc = st_config_env_apply(doc, root, envp, warn, ctx, err, errlen);
    if (rc == 0) rc = st_hocon_resolve(root, envp, err, errlen);
    if (rc == 0) rc = build(doc, root, out, err, errlen);
    if (rc == ST_ENOMEM && errlen && !err[0]) snprintf(err, errlen, "out of memory");
    st_hocon_node_free(root);
    st_hocon_doc_free(doc);
    return rc;
}

int st_config_load(const char *path, char *const *envp, st_config_warn_fn warn, void *ctx,
                   st_config **out, char *err, size_t errlen)
{
    return load(NULL, 0, path, NULL, envp, warn, ctx, out, err, errlen);
}

int st_config_load_over(const char *path, const struct st_config_layer *over, char *const *envp,
                        st_config_warn_fn warn, void *ctx, st_config **out, char *err,
                        size_t errlen)
{
    return load(NULL, 0, path, over, envp, warn, ctx, out, err, errlen);
}

int st_config_load_buffer(const char *buf, size_t len, const char *name, char *const *envp,
                          st_config_warn_fn warn, void *ctx, st_config **out, char *err,
                          size_t errlen)
{
    return load(buf ? buf : "", len, name ? name : "(config)", NULL, envp, warn, ctx, out, err,
                errlen);
}

void st_config_free(st_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->vals[i].key);
        free(c->vals[i].origin);
        st_cval_free(&c->vals[i].v);
    }
    for (size_t i = 0; i < c->nmaps; i++) {
        for (size_t j = 0; j < c->maps[i].n; j++)
            free(c->maps[i].names[j]);
        free(c->maps[i].names);
        free(c->maps[i].prefix);
    }
    free(c->maps);
    free(c->vals);
    free(c);
}

/* ---- getters ---------------------------------------------------------------------------- */

static _Noreturn void die(const char *fn, const char *key, const char *why)
{
    fprintf(stderr, "st_config: %s(\"%s\"): %s\n", fn, key ? key : "(null)", why);
    abort();
}

#define TYPE_BIT(t) (1u << (t))

static const struct cfg_val *get(const st_config *c, const char *key, unsigned types,
                                 const char *fn)
{
    struct cfg_val probe = {.key = (char *)key};
    const struct cfg_val *v =
        key && c->n ? bsearch(&probe, c->vals, c->n, sizeof(*c->vals), cmp_val) : NULL;
    if (!v)
        die(fn, key, key && st_schema_find(key) ? "no such map entry" : "key not in the schema");
    if (!(types & TYPE_BIT(v->k->type))) {
        char type[64], why[128];
        st_schema_type_name(v->k, type, sizeof(type));
        snprintf(why, sizeof(why), "key is of type %s", type);
        die(fn, key, why);
    }
    return v;
}

int64_t st_config_int(const st_config *c, const char *key)
{
    return get(c, key,
               TYPE_BIT(ST_T_INT) | TYPE_BIT(ST_T_BOOL) | TYPE_BIT(ST_T_ENUM) |
                   TYPE_BIT(ST_T_DURATION) | TYPE_BIT(ST_T_BYTESIZE),
               "st_config_int")
        ->v.i;
}

int st_config_bool(const st_config *c, const char *key)
{
    return (int)get(c, key, TYPE_BIT(ST_T_BOOL), "st_config_bool")->v.i;
}

double st_config_float(const st_config *c, const char *key)
{
    return get(c, key, TYPE_BIT(ST_T_FLOAT), "st_config_float")->v.f;
}

const char *st_config_str(const st_config *c, const char *key)
{
    return get(c, key, TYPE_BIT(ST_T_STRING) | TYPE_BIT(ST_T_ENUM) | TYPE_BIT(ST_T_BIND),
               "st_config_str")
        ->v.s;
}

size_t st_config_array_len(const st_config *c, const char *key)
{
    return get(c, key, TYPE_BIT(ST_T_STRLIST), "st_config_array_len")->v.n;
}

const char *st_config_array_str(const st_config *c, const char *key, size_t i)
{
    const struct cfg_val *v = get(c, key, TYPE_BIT(ST_T_STRLIST), "st_config_array_str");
    if (i >= v->v.n) die("st_config_array_str", key, "index out of range");
    return v->v.arr[i];
}

size_t st_config_split(char *path, const char **segs, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(path, ".", &save); t && n < max;
         t = strtok_r(NULL, ".", &save))
        segs[n++] = t;
    return n;
}

/* Is prefix a list of objects inside a map's entry, that the config did not fill? */
static int list_in_map(const char *prefix)
{
    char copy[256];
    const char *segs[MAX_SEGS];
    snprintf(copy, sizeof copy, "%s", prefix);
    size_t n = st_config_split(copy, segs, MAX_SEGS);
    return n && st_schema_is_list(segs, n);
}

size_t st_config_names(const st_config *c, const char *prefix, const char **names, size_t max)
{
    const struct cfg_map *m = prefix ? find_map(c, prefix) : NULL;
    if (!m && prefix && strspn(prefix, "abcdefghijklmnopqrstuvwxyz_.") < strlen(prefix))
        return 0; /* a map inside a list's element that has no entry */
    if (!m && prefix && list_in_map(prefix)) return 0; /* listeners.tcp.x.authentication */
    if (!m) die("st_config_names", prefix, "not a map in the schema");
    for (size_t i = 0; i < m->n && i < max; i++)
        names[i] = m->names[i];
    return m->n;
}

void st_config_visit(const st_config *c, st_config_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < c->n; i++)
        if (fn(ctx, c->vals[i].key, c->vals[i].k, &c->vals[i].v, c->vals[i].origin)) return;
}

const char *st_config_origin(const st_config *c, const char *key)
{
    return get(c, key, ~0u, "st_config_origin")->origin;
}
