/* config.h — Starling's configuration: one HOCON file (etc/starling.conf) checked against a
 * schema of EMQX-compatible keys, with environment overrides on top.
 *
 * Precedence: schema defaults < file < environment (STARLING_A__B=..., alias EMQX_A__B=...;
 * short forms STARLING_NODE_NAME, STARLING_DISCOVERY_STRATEGY, STARLING_STATIC_DISCOVERY_NODES).
 * A loaded st_config is immutable, so any thread may read it. Key reference: docs/config.md. */
#ifndef ST_CONFIG_H
#define ST_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What st_config_int() returns for "infinity" (and 0 where 0 means unlimited). */
#define ST_CONFIG_INFINITY INT64_MAX

typedef struct st_config st_config;

/* Called once per warning (e.g. an environment variable naming an unknown key under a known
 * root). msg is only valid during the call. */
typedef void (*st_config_warn_fn)(void *ctx, const char *msg);

/* Load path (NULL: defaults + environment only). envp is a NULL-terminated "K=V" list (pass
 * environ, or NULL for none); it is also what ${?VAR} substitutions read. warn may be NULL.
 * On success returns 0 and *out (free with st_config_free). On error returns a negative
 * ST_E* (ST_ECONFIG for bad config) and writes the errors into err, one per line, each as
 * "file:line: message" (syntax) or "file:line: key: message" (schema); for values from the
 * environment "env STARLING_X__Y: key: message". */
int st_config_load(const char *path, char *const *envp, st_config_warn_fn warn, void *ctx,
                   st_config **out, char *err, size_t errlen);
/* The same with the file's text in memory; name is used in messages and as the base for
 * relative includes. */
int st_config_load_buffer(const char *buf, size_t len, const char *name, char *const *envp,
                          st_config_warn_fn warn, void *ctx, st_config **out, char *err,
                          size_t errlen);
void st_config_free(st_config *c);

/* A layer of overrides between the file and the environment: HOCON text merged over the
 * file's tree (the cluster's overrides, data/configs/cluster.hocon, docs/operations.md
 * "Configuration through the API"). name is used in messages; `include` is refused in it. */
struct st_config_layer {
    const char *text;
    size_t len;
    const char *name;
};
/* st_config_load with over (NULL: none) between the file and the environment. */
int st_config_load_over(const char *path, const struct st_config_layer *over, char *const *envp,
                        st_config_warn_fn warn, void *ctx, st_config **out, char *err,
                        size_t errlen);

/* The values under prefix ("" or NULL: all; a root; a map entry; a key) written to out as
 * HOCON (json 0) or JSON (json 1; ST_CONFIG_JSON_VALUE: the value at prefix alone, not
 * wrapped in its path's objects), the way an operator writes them ("30s", "1MB",
 * "infinity"): the text loads back to the same values. Secrets (st_config_sensitive) are
 * written as ST_CONFIG_MASK. 0, ST_ENOENT (nothing under prefix), ST_ENOMEM. */
#define ST_CONFIG_MASK "******"
#define ST_CONFIG_JSON_VALUE 2
int st_config_write(const st_config *c, const char *prefix, int json, FILE *out);
/* A key whose value is a secret (a password, a cookie, a salt). */
int st_config_sensitive(const char *key);
/* fn(ctx, key) for each key whose value differs between a and b (or that one lacks), in
 * key order. 0 or ST_ENOMEM. */
typedef void (*st_config_diff_fn)(void *ctx, const char *key);
int st_config_diff(const st_config *a, const st_config *b, st_config_diff_fn fn, void *ctx);

/* Getters. key is a full path; for map keys use the concrete name
 * ("listeners.tcp.default.bind"). A key that is not in the schema, a map name that does not
 * exist, or a getter that does not fit the key's type is a programming error: the process
 * prints the key and aborts. */

/* int, bool (0/1), enum (index into its choices), duration (ms), bytesize (bytes).
 * "infinity" -> ST_CONFIG_INFINITY, "disabled" -> 0. */
int64_t st_config_int(const st_config *c, const char *key);
int st_config_bool(const st_config *c, const char *key);
double st_config_float(const st_config *c, const char *key);
/* string, enum (the text), ip:port ("0.0.0.0:1883"). Valid until st_config_free. */
const char *st_config_str(const st_config *c, const char *key);
/* Arrays of strings. */
size_t st_config_array_len(const st_config *c, const char *key);
const char *st_config_array_str(const st_config *c, const char *key, size_t i);
/* Names of a map ("listeners.tcp" -> "default", ...), in file order. Fills up to max names
 * (valid until st_config_free) and returns how many there are. */
size_t st_config_names(const st_config *c, const char *prefix, const char **names, size_t max);

/* Where a key's value came from: "file:line", "env STARLING_X", or "default". */
const char *st_config_origin(const st_config *c, const char *key);

/* Write the key reference (docs/config.md) generated from the schema. */
void st_config_doc_markdown(FILE *out);

#endif
