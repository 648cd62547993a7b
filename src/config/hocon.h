/* hocon.h — a HOCON reader: text in, a generic tree out (object/array/string/number/bool/null).
 * Covers what EMQX users write: objects with '=' ':' or nothing before '{', dotted keys,
 * quoted keys, merging of repeated objects, arrays, include "file", ${path} / ${?path}
 * substitutions with environment fallback, quoted/unquoted/triple-quoted strings, comments.
 * Every node records its file and line so later stages can say "file:line: ...".
 *
 * Parsing and substitution are separate steps: the config loader merges environment
 * overrides into the parsed tree before substitutions are resolved. */
#ifndef ST_HOCON_H
#define ST_HOCON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum st_hocon_kind {
    ST_HOCON_OBJECT,
    ST_HOCON_ARRAY,
    ST_HOCON_STRING,
    ST_HOCON_NUMBER,
    ST_HOCON_BOOL,
    ST_HOCON_NULL,
    /* Only present before st_hocon_resolve(): */
    ST_HOCON_SUBST_,  /* ${path}; str = path text, optional = ${?path} */
    ST_HOCON_CONCAT_, /* value concatenation containing substitutions; items = pieces */
    ST_HOCON_UNSET_,  /* an optional substitution that found nothing (removed by resolve) */
    ST_HOCON_MERGE_,  /* a repeated key where a side is a substitution: items merge in order */
};

typedef struct st_hocon_node st_hocon_node;
struct st_hocon_node {
    enum st_hocon_kind kind;
    const char *file;       /* interned by the st_hocon_doc; never NULL */
    int line;               /* 1-based; 0 when the value has no line (environment) */
    unsigned quoted : 1;    /* STRING came from quotes */
    unsigned optional : 1;  /* SUBST: ${?path} */
    unsigned is_int : 1;    /* NUMBER: integral and fits int64 (inum valid) */
    unsigned resolving : 1; /* SUBST: being resolved (cycle detection) */
    int boolean;            /* BOOL */
    double num;             /* NUMBER */
    int64_t inum;           /* NUMBER when is_int */
    char *str;              /* STRING text, NUMBER source text, SUBST path */
    size_t n, cap;          /* OBJECT fields, ARRAY elements, CONCAT pieces */
    char **keys;            /* OBJECT: keys[i] names items[i] (insertion order, unique) */
    st_hocon_node **items;
};

/* A parse context: owns the interned file names every node points to. Free it after the
 * nodes (or keep it as long as nodes live). */
typedef struct st_hocon_doc st_hocon_doc;

struct st_hocon_opts {
    int no_include; /* treat `include` as an error (fuzzing, untrusted text) */
};

st_hocon_doc *st_hocon_doc_new(void);
void st_hocon_doc_free(st_hocon_doc *d);
/* A copy of name that lives as long as d. NULL on out of memory. */
const char *st_hocon_doc_intern(st_hocon_doc *d, const char *name);

/* Parse a whole file (the root object, braces optional). On error returns a negative ST_E*
 * code and writes "file:line: message" into err. *out is an OBJECT owned by the caller. */
int st_hocon_parse_file(st_hocon_doc *d, const char *path, const struct st_hocon_opts *opts,
                        st_hocon_node **out, char *err, size_t errlen);
/* The same from memory; name is used in messages and as the base for relative includes. */
int st_hocon_parse_buffer(st_hocon_doc *d, const char *buf, size_t len, const char *name,
                          const struct st_hocon_opts *opts, st_hocon_node **out, char *err,
                          size_t errlen);
/* Parse a single value ("2MB", "[a, b]", "{x = 1}", "\"q\""), as for environment overrides. */
int st_hocon_parse_value(st_hocon_doc *d, const char *buf, size_t len, const char *name,
                         st_hocon_node **out, char *err, size_t errlen);

/* Resolve ${path} and ${?path} in place. A path not found in root falls back to the
 * environment variable of that exact name in envp (NULL-terminated "K=V" list; may be NULL).
 * ${?x} that finds nothing removes the field (or array element). */
int st_hocon_resolve(st_hocon_node *root, char *const *envp, char *err, size_t errlen);

/* Tree helpers. */
st_hocon_node *st_hocon_node_new(enum st_hocon_kind kind, const char *file, int line);
void st_hocon_node_free(st_hocon_node *n);
st_hocon_node *st_hocon_copy(const st_hocon_node *n);
st_hocon_node *st_hocon_obj_get(const st_hocon_node *obj, const char *key);
/* Set obj[key] = v (takes ownership of v; a previous value is freed). 0 or ST_ENOMEM. */
int st_hocon_obj_set(st_hocon_node *obj, const char *key, st_hocon_node *v);
/* Remove obj[key] (nothing if absent). */
void st_hocon_obj_del(st_hocon_node *obj, const char *key);
/* Append to an ARRAY or CONCAT (takes ownership). 0 or ST_ENOMEM. */
int st_hocon_push(st_hocon_node *arr, st_hocon_node *v);
/* Merge object src into object dst: later wins per leaf, objects merge recursively.
 * Takes ownership of src. */
int st_hocon_merge(st_hocon_node *dst, st_hocon_node *src);
/* Place v at the path segs[0..nseg) under obj, creating objects and merging as a repeated
 * key would. Takes ownership of v (freed on error). */
int st_hocon_insert(st_hocon_node *obj, const char *const *segs, size_t nseg, st_hocon_node *v);
/* Look up a dotted path ("a.b.c", no quoting) in a resolved tree. NULL if absent. */
const st_hocon_node *st_hocon_get(const st_hocon_node *root, const char *path);
/* Set file and line on v and everything below it. */
void st_hocon_set_origin(st_hocon_node *v, const char *file, int line);
/* "object", "array", "string", ... */
const char *st_hocon_kind_name(enum st_hocon_kind k);

/* Write a resolved tree as text: HOCON (json 0; an object root as its fields, without braces)
 * or JSON (json 1). Strings are always quoted, so what is written parses back to the same
 * tree. */
void st_hocon_write(FILE *out, const st_hocon_node *n, int json);

/* Deepest nesting the parser and substitutions will build. */
#define ST_HOCON_MAX_DEPTH 128

#endif
