/* schema.h — internal: the table of known config keys and the value converters.
 * Shared by config.c (validation, getters), config_env.c and config_doc.c. */
#ifndef ST_CONFIG_SCHEMA_H
#define ST_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "config/hocon.h"

enum st_ctype {
    ST_T_BOOL,
    ST_T_INT,
    ST_T_FLOAT,
    ST_T_STRING,
    ST_T_ENUM,
    ST_T_DURATION, /* stored as milliseconds */
    ST_T_BYTESIZE, /* stored as bytes */
    ST_T_BIND,     /* "ip:port", a bare port becomes "0.0.0.0:port" */
    ST_T_STRLIST,  /* array of strings (a "a,b" string is split at commas) */
};

#define ST_F_INF 1u      /* "infinity" accepted (stored as INT64_MAX) */
#define ST_F_DISABLED 2u /* "disabled" accepted (stored as 0) */
#define ST_F_ZERO_INF 4u /* 0 means unlimited (stored as INT64_MAX) */
#define ST_F_NODENAME 8u /* string must look like name@host */

struct st_schema_key {
    const char *path; /* dotted; a "<name>" segment matches any map key, "<#>" an index of
                       * a list of objects (EMQX's `authentication = [{...}, ...]`) */
    enum st_ctype type;
    unsigned flags;
    const char *def; /* default, as HOCON value text */
    int64_t min, max;
    const char *choices; /* ST_T_ENUM: "a|b|c" */
    const char *desc;
};

/* Maps that get one instance with all defaults when the config defines none. */
struct st_schema_map {
    const char *prefix; /* "listeners.tcp" */
    const char *default_name;
};

/* A converted value. */
struct st_cval {
    int64_t i;
    double f;
    char *s;
    char **arr;
    size_t n;
};

const struct st_schema_key *st_schema_keys(size_t *n);
const struct st_schema_map *st_schema_maps(size_t *n);

enum st_match { ST_MATCH_NONE, ST_MATCH_LEAF, ST_MATCH_PREFIX };
/* Match a concrete path against the schema. For LEAF, *key is the entry; *wild is set when
 * the last segment matched a "<name>" segment. */
enum st_match st_schema_match(const char *const *segs, size_t n, const struct st_schema_key **key,
                              int *wild);
/* Is the object at this path a list of objects ("<#>": its elements' indexes, 0, 1, ...)? */
int st_schema_is_list(const char *const *segs, size_t n);
/* Does any key start with this root segment? */
int st_schema_root_known(const char *root);
/* The same for a dotted concrete path ("listeners.tcp.default.bind"). */
const struct st_schema_key *st_schema_find(const char *path);

/* Convert a resolved node for key k. 0, or -1 with a message (no location) in msg. */
int st_schema_convert(const struct st_schema_key *k, const st_hocon_node *n, struct st_cval *out,
                      char *msg, size_t msglen);
void st_cval_free(struct st_cval *v);

/* "30s", "1h30m", "100ms", "2d", "500" (ms). 0 or -1. */
int st_parse_duration(const char *s, int64_t *ms);
/* "1MB", "64kb", "1GB", "512B", "1024" (bytes). 0 or -1. */
int st_parse_bytesize(const char *s, int64_t *bytes);
/* Human name of a key's type, as shown in messages and docs ("integer | infinity"). */
void st_schema_type_name(const struct st_schema_key *k, char *buf, size_t len);

/* A dotted path split in place at its dots into segs (at most max): the count (config.c). */
size_t st_config_split(char *path, const char **segs, size_t max);
/* Every value of a loaded config, in key order, until fn returns non-zero (config.c). */
struct st_config;
typedef int (*st_config_visit_fn)(void *ctx, const char *key, const struct st_schema_key *k,
                                  const struct st_cval *v, const char *origin);
void st_config_visit(const struct st_config *c, st_config_visit_fn fn, void *ctx);

#endif
