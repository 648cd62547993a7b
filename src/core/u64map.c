/* u64map.c — uint64_t -> void * hash map.
 *
 * The same design as strmap.c (open addressing, linear probing, tombstones so that deletes
 * never move entries and iteration may delete; rebuilt only by put, sized from the live
 * count), with the integer key stored inline. Slot states live in a separate byte array
 * so a slot is 16 bytes. Keys are scrambled with the splitmix64 finalizer (and a per-map
 * seed) because real keys (packet ids, counters) are sequential. */
#include "core/u64map.h"

#include <stdlib.h>

#include "core/err.h"

enum { EMPTY = 0, LIVE = 1, TOMB = 2 };

struct slot {
    uint64_t key;
    void *val;
};

struct st_u64map {
    struct slot *slots;
    uint8_t *state; /* cap entries: EMPTY, LIVE or TOMB */
    size_t cap;     /* 0 or a power of two */
    size_t count, tombs;
    uint64_t seed;
};

#define MIN_CAP 8

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hkey(const st_u64map *m, uint64_t key)
{
    return mix64(key ^ m->seed);
}

st_u64map *st_u64map_new(void)
{
    st_u64map *m = calloc(1, sizeof(*m));
    if (m) m->seed = mix64((uint64_t)(uintptr_t)m);
    return m;
}

void st_u64map_free(st_u64map *m)
{
    if (!m) return;
    free(m->slots);
    free(m->state);
    free(m);
}

static size_t find(const st_u64map *m, uint64_t key)
{
    if (!m->cap) return SIZE_MAX;
    size_t mask = m->cap - 1;
    for (size_t i = hkey(m, key) & mask; m->state[i] != EMPTY; i = (i + 1) & mask)
        if (m->state[i] == LIVE && m->slots[i].key == key) return i;
    return SIZE_MAX;
}

void *st_u64map_get(const st_u64map *m, uint64_t key)
{
    size_t i = find(m, key);
    return i == SIZE_MAX ? NULL : m->slots[i].val;
}

static int rehash(st_u64map *m, size_t want)
{
    size_t cap = MIN_CAP;
    while (cap < want * 2)
        cap *= 2;
    struct slot *ns = malloc(cap * sizeof(*ns));
    uint8_t *st = calloc(cap, 1);
    if (!ns || !st) {
        free(ns);
        free(st);
        return ST_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->state[i] != LIVE) continue;
        size_t j = hkey(m, m->slots[i].key) & (cap - 1);
        while (st[j])
            j = (j + 1) & (cap - 1);
        ns[j] = m->slots[i];
        st[j] = LIVE;
    }
    free(m->slots);
    free(m->state);
    m->slots = ns;
    m->state = st;
    m->cap = cap;
    m->tombs = 0;
    return 0;
}

int st_u64map_put(st_u64map *m, uint64_t key, void *val)
{
    size_t i = find(m, key);
    if (i != SIZE_MAX) {
        m->slots[i].val = val;
        return 0;
    }
    if ((m->count + m->tombs + 1) * 4 > m->cap * 3 && rehash(m, m->count + 1) < 0) return ST_ENOMEM;
    size_t mask = m->cap - 1;
    for (i = hkey(m, key) & mask; m->state[i] == LIVE; i = (i + 1) & mask)
        ;
    if (m->state[i] == TOMB) m->tombs--;
    m->slots[i] = (struct slot){key, val};
    m->state[i] = LIVE;
    m->count++;
    return 0;
}

void *st_u64map_del(st_u64map *m, uint64_t key)
{
    size_t i = find(m, key);
    if (i == SIZE_MAX) return NULL;
    void *val = m->slots[i].val;
    m->state[i] = TOMB;
    m->count--;
    m->tombs++;
    return val;
}

size_t st_u64map_count(const st_u64map *m)
{
    return m->count;
}

int st_u64map_next(const st_u64map *m, size_t *it, uint64_t *key, void **val)
{
    for (size_t i = *it; i < m->cap; i++) {
        if (m->state[i] != LIVE) continue;
        *it = i + 1;
        if (key) *key = m->slots[i].key;
        if (val) *val = m->slots[i].val;
        return 1;
    }
    *it = m->cap;
    return 0;
}
