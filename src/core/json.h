/* json.h — a strict, allocation-free JSON reader (RFC 8259) in the style of jsmn: one pass
 * fills an array of tokens that point into the input; helpers find object members and
 * decode strings. Used for the HTTP API's clients (`starling ctl`) and, later, the etcd
 * and Kubernetes discovery answers (docs/cluster.md §6). Writers build JSON with printf. */
#ifndef ST_JSON_H
#define ST_JSON_H

#include <stddef.h>
#include <stdint.h>

enum st_jtype {
    ST_J_OBJECT = 1,
    ST_J_ARRAY,
    ST_J_STRING,
    ST_J_NUMBER,
    ST_J_TRUE,
    ST_J_FALSE,
    ST_J_NULL
};

typedef struct st_jtok {
    uint8_t type;
    uint32_t start, end; /* bytes [start, end) of the value; a string's exclude the quotes */
    uint32_t size;       /* object: members; array: elements */
    uint32_t next;       /* index of the token after this value and all it contains */
} st_jtok;

#define ST_JSON_MAX_DEPTH 64

/* n bytes of s as a JSON string, quotes included, handed to put in pieces: '"' and '\\'
 * escaped, control characters as \u00XX, everything else as it is (UTF-8 passes through). */
typedef void (*st_json_put_fn)(void *ctx, const char *p, size_t n);
void st_json_quote(const char *s, size_t n, st_json_put_fn put, void *ctx);

/* Tokenize one JSON value (surrounded by optional whitespace). Returns the number of
 * tokens, or ST_EMALFORMED, or ST_EFULL when max tokens do not suffice. */
int st_json_parse(const char *s, size_t len, st_jtok *t, uint32_t max);
/* Member `key` of the object at index obj: the value's token index, or -1. */
int st_json_get(const char *s, const st_jtok *t, uint32_t obj, const char *key);
/* Element i of the array at index arr: its token index, or -1. */
int st_json_at(const st_jtok *t, uint32_t arr, uint32_t i);
/* Decode a string token into out (NUL-terminated, escapes resolved, \u to UTF-8). Returns
 * its length, or ST_EFULL if it does not fit in cap, or ST_EINVAL if it is not a string. */
int st_json_str(const char *s, const st_jtok *t, char *out, size_t cap);
/* A string token equal to lit (after decoding)? */
int st_json_eq(const char *s, const st_jtok *t, const char *lit);

#endif
