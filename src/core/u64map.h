/* u64map.h — a hash map from uint64_t keys to void * (packet ids, session ids, node ids).
 *
 * Same contract as st_strmap (core/strmap.h): values are borrowed, NULL values are
 * indistinguishable from "absent" for get, and during an iteration it is safe to delete
 * any entry (including the current one) and to replace the value of a present key;
 * inserting a new key may rehash and make the iteration skip or repeat entries.
 *
 *     size_t it = 0; uint64_t k; void *v;
 *     while (st_u64map_next(m, &it, &k, &v)) { ... }
 *
 * Thread safety: none; the caller locks. */
#ifndef ST_U64MAP_H
#define ST_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_u64map st_u64map;

/* A new empty map, or NULL on out of memory. */
st_u64map *st_u64map_new(void);
/* Frees the map; values are not touched. NULL is a no-op. */
void st_u64map_free(st_u64map *m);

/* The value stored for key, or NULL. */
void *st_u64map_get(const st_u64map *m, uint64_t key);
/* Insert key -> val or replace the value of an existing key. 0 or ST_ENOMEM (map unchanged). */
int st_u64map_put(st_u64map *m, uint64_t key, void *val);
/* Remove key; returns its value, or NULL if it was absent. Never moves other entries. */
void *st_u64map_del(st_u64map *m, uint64_t key);
/* Number of entries. */
size_t st_u64map_count(const st_u64map *m);
/* Iterate: *it starts at 0. Returns 1 and sets *key and *val (each pointer may be NULL) for
 * the next entry, 0 at the end. Order is unspecified. */
int st_u64map_next(const st_u64map *m, size_t *it, uint64_t *key, void **val);

#endif
