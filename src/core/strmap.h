/* strmap.h — a string-keyed hash map (byte-string keys -> void *), and the hash function
 * the rest of the broker uses (st_hash).
 *
 * Keys are (pointer, length) byte strings; they may contain any byte, including NUL, and
 * are copied into the map. Values are borrowed: the map never frees them. A NULL value may
 * be stored but is then indistinguishable from "absent" for st_strmap_get.
 *
 * Iteration:
 *     size_t it = 0; const char *k; size_t klen; void *v;
 *     while (st_strmap_next(m, &it, &k, &klen, &v)) { ... }
 * During an iteration it is safe to st_strmap_del() the current entry (or any other
 * entry) and to st_strmap_put() a new value for a key that is already present: neither
 * moves entries. Inserting a NEW key may rehash the table; after that the iteration may
 * skip or repeat entries. The key pointer returned by st_strmap_next is valid until that
 * entry is deleted or the map is freed (it is NUL-terminated for convenience).
 *
 * Thread safety: none; the caller locks. */
#ifndef ST_STRMAP_H
#define ST_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/* A fast, well-distributed 64-bit hash of len bytes (wyhash-style). Deterministic: the same
 * bytes give the same value on every platform and in every process, so it is usable for
 * partitioning (worker choice, clientid/topic hashes). Not a MAC: do not rely on it to
 * resist deliberate collisions. */
uint64_t st_hash(const void *p, size_t len);
/* The same hash family with a caller-chosen seed; st_hash(p, len) == st_hash_seed(p, len, 0). */
uint64_t st_hash_seed(const void *p, size_t len, uint64_t seed);

typedef struct st_strmap st_strmap;

/* A new empty map, or NULL on out of memory. Allocates no table until the first put. */
st_strmap *st_strmap_new(void);
/* Frees the map and its key copies; values are not touched. NULL is a no-op. */
void st_strmap_free(st_strmap *m);

/* The value stored for key, or NULL. */
void *st_strmap_get(const st_strmap *m, const char *key, size_t len);
/* Insert key -> val, or replace the value of an existing key. 0 or ST_ENOMEM (map unchanged). */
int st_strmap_put(st_strmap *m, const char *key, size_t len, void *val);
/* Remove key; returns its value, or NULL if it was absent. Never moves other entries. */
void *st_strmap_del(st_strmap *m, const char *key, size_t len);
/* Number of entries. */
size_t st_strmap_count(const st_strmap *m);

/* Iterate: *it starts at 0. Returns 1 and sets *key, *len and *val (each pointer may be
 * NULL) for the next entry, 0 at the end. Order is unspecified. See the header comment for
 * what may be changed during an iteration. */
int st_strmap_next(const st_strmap *m, size_t *it, const char **key, size_t *len, void **val);

#endif
