/* strmap.c — st_hash and a string-keyed hash map.
 *
 * st_hash follows the structure of wyhash (public domain, Wang Yi): 64x64->128 multiply
 * and fold, 8-byte reads, a fast path for keys <= 16 bytes (client ids and topic levels
 * are mostly short). Reads are assembled little-endian byte by byte so the value is the
 * same on every platform; compilers turn that into plain loads on x86-64 and arm64.
 *
 * The map is open addressing with linear probing and tombstones. Each slot keeps the full
 * 64-bit hash, so probing compares one integer before touching the key copy. Tombstones
 * (rather than backward-shift deletion) are what make "delete the current entry while
 * iterating" safe: st_strmap_del never moves an entry and never resizes. The table is
 * rebuilt only by st_strmap_put, when live entries + tombstones pass 3/4 of the capacity;
 * the new size is chosen from the live count, so the table also shrinks after mass deletes.
 * Each map seeds its hash from its own address so that probe sequences differ per map. */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* ---- hash ---------------------------------------------------------------------------- */

#define ST_WYP0 0x2d358dccaa6c78a5ULL
#define ST_WYP1 0x8bb84b93962eacc9ULL
#define ST_WYP2 0x4b33a62ed433d4a3ULL
#define ST_WYP3 0x4d5a2da51de1aa47ULL

static inline void mum(uint64_t *a, uint64_t *b)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)*a * *b;
    *a = (uint64_t)r;
    *b = (uint64_t)(r >> 64);
#else
    uint64_t ha = *a >> 32, hb = *b >> 32, la = (uint32_t)*a, lb = (uint32_t)*b;
    uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
    uint64_t t = rl + (rm0 << 32), c = t < rl, lo = t + (rm1 << 32);
    c += lo < t;
    *a = lo;
    *b = rh + (rm0 >> 32) + (rm1 >> 32) + c;
#endif
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    mum(&a, &b);
    return a ^ b;
}

static inline uint64_t rd8(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint64_t rd4(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

uint64_t st_hash_seed(const void *key, size_t len, uint64_t seed)
{
    const uint8_t *p = key;
    uint64_t a, b;

    seed ^= mix(seed ^ ST_WYP0, ST_WYP1);
    if (len <= 16) {
        if (len >= 4) {
            size_t q = (len >> 3) << 2;
            a = rd4(p) << 32 | rd4(p + q);
            b = rd4(p + len - 4) << 32 | rd4(p + len - 4 - q);
        } else if (len > 0) {
            a = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        if (i > 48) {
            uint64_t s1 = seed, s2 = seed;
            do {
                seed = mix(rd8(p) ^ ST_WYP1, rd8(p + 8) ^ seed);
                s1 = mix(rd8(p + 16) ^ ST_WYP2, rd8(p + 24) ^ s1);
                s2 = mix(rd8(p + 32) ^ ST_WYP3, rd8(p + 40) ^ s2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= s1 ^ s2;
        }
        while (i > 16) {
            seed = mix(rd8(p) ^ ST_WYP1, rd8(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = rd8(p + i - 16);
        b = rd8(p + i - 8);
    }
    a ^= ST_WYP1;
    b ^= seed;
    mum(&a, &b);
    return mix(a ^ ST_WYP0 ^ len, b ^ ST_WYP1);
}

uint64_t st_hash(const void *p, size_t len)
{
    return st_hash_seed(p, len, 0);
}

/* ---- map ----------------------------------------------------------------------------- */

/* key == NULL: free slot; then len == 0 means never used, len == 1 means tombstone. */
struct slot {
    uint64_t h;
    char *key;
    size_t len;
    void *val;
};

struct st_strmap {
    struct slot *slots;
    size_t cap;   /* 0 or a power of two */
    size_t count; /* live entries */
    size_t tombs; /* tombstones */
    uint64_t seed;
};

#define MIN_CAP 8

static int is_tomb(const struct slot *s)
{
    return !s->key && s->len == 1;
}

st_strmap *st_strmap_new(void)
{
    st_strmap *m = calloc(1, sizeof(*m));
    if (m) {
        uintptr_t a = (uintptr_t)m;
        m->seed = st_hash_seed(&a, sizeof(a), ST_WYP2);
    }
    return m;
}

void st_strmap_free(st_strmap *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

/* Index of the slot holding key, or SIZE_MAX. */
static size_t find(const st_strmap *m, const char *key, size_t len, uint64_t h)
{
    if (!m->cap) return SIZE_MAX;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct slot *s = &m->slots[i];
        if (!s->key) {
            if (!s->len) return SIZE_MAX;
            continue; /* tombstone: keep probing */
        }
        if (s->h == h && s->len == len && memcmp(s->key, key, len) == 0) return i;
    }
}

static uint64_t hkey(const st_strmap *m, const char *key, size_t len)
{
    return st_hash_seed(key, len, m->seed);
}

void *st_strmap_get(const st_strmap *m, const char *key, size_t len)
{
    size_t i = find(m, key, len, hkey(m, key, len));
    return i == SIZE_MAX ? NULL : m->slots[i].val;
}

/* Rebuild the table with room for at least `want` live entries (load <= 1/2 afterwards). */
static int rehash(st_strmap *m, size_t want)
{
    size_t cap = MIN_CAP;
    while (cap < want * 2)
        cap *= 2;
    struct slot *ns = calloc(cap, sizeof(*ns));
    if (!ns) return ST_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (!s->key) continue;
        size_t j = s->h & (cap - 1);
        while (ns[j].key)
            j = (j + 1) & (cap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = cap;
    m->tombs = 0;
    return 0;
}

int st_strmap_put(st_strmap *m, const char *key, size_t len, void *val)
{
    uint64_t h = hkey(m, key, len);
    size_t i = find(m, key, len, h);
    if (i != SIZE_MAX) {
        m->slots[i].val = val;
        return 0;
    }
    char *copy = malloc(len + 1);
    if (!copy) return ST_ENOMEM;
    if (len) memcpy(copy, key, len);
    copy[len] = '\0';
    if ((m->count + m->tombs + 1) * 4 > m->cap * 3 && rehash(m, m->count + 1) < 0) {
        free(copy);
        return ST_ENOMEM;
    }
    size_t mask = m->cap - 1;
    for (i = h & mask; m->slots[i].key; i = (i + 1) & mask)
        ;
    if (is_tomb(&m->slots[i])) m->tombs--;
    m->slots[i] = (struct slot){.h = h, .key = copy, .len = len, .val = val};
    m->count++;
    return 0;
}

void *st_strmap_del(st_strmap *m, const char *key, size_t len)
{
    size_t i = find(m, key, len, hkey(m, key, len));
    if (i == SIZE_MAX) return NULL;
    struct slot *s = &m->slots[i];
    void *val = s->val;
    free(s->key);
    *s = (struct slot){.len = 1};
    m->count--;
    m->tombs++;
    return val;
}

size_t st_strmap_count(const st_strmap *m)
{
    return m->count;
}

int st_strmap_next(const st_strmap *m, size_t *it, const char **key, size_t *len, void **val)
{
    for (size_t i = *it; i < m->cap; i++) {
        const struct slot *s = &m->slots[i];
        if (!s->key) continue;
        *it = i + 1;
        if (key) *key = s->key;
        if (len) *len = s->len;
        if (val) *val = s->val;
        return 1;
    }
    *it = m->cap;
    return 0;
}
