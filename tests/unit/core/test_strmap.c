/* test_strmap.c — st_strmap and st_hash: basics, binary keys, 100k keys with
 * insert/get/delete, iteration that deletes as it goes, and hash sanity; plus st_u64map,
 * which shares the design. */
#include "test.h"
#include "core/strmap.h"
#include "core/u64map.h"

#include <stdint.h>
#include <stdlib.h>

#define N 100000

static void *V(size_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

static size_t key_of(char *buf, size_t i)
{
    return (size_t)snprintf(buf, 32, "client-%zu", i);
}

static void test_basic(void)
{
    st_strmap *m = st_strmap_new();
    CHECK(m != NULL);
    CHECK_EQ(st_strmap_count(m), 0);
    CHECK(st_strmap_get(m, "a", 1) == NULL);
    CHECK(st_strmap_del(m, "a", 1) == NULL);
    size_t it = 0;
    CHECK_EQ(st_strmap_next(m, &it, NULL, NULL, NULL), 0);

    CHECK_EQ(st_strmap_put(m, "a", 1, V(1)), 0);
    CHECK_EQ(st_strmap_put(m, "ab", 2, V(2)), 0);
    CHECK_EQ(st_strmap_put(m, "", 0, V(3)), 0); /* the empty key is a key */
    CHECK_EQ(st_strmap_count(m), 3);
    CHECK(st_strmap_get(m, "a", 1) == V(1));
    CHECK(st_strmap_get(m, "ab", 2) == V(2));
    CHECK(st_strmap_get(m, "abc", 2) == V(2)); /* length bounds the key */
    CHECK(st_strmap_get(m, "", 0) == V(3));
    CHECK(st_strmap_get(m, "b", 1) == NULL);

    CHECK_EQ(st_strmap_put(m, "a", 1, V(10)), 0); /* replace */
    CHECK_EQ(st_strmap_count(m), 3);
    CHECK(st_strmap_get(m, "a", 1) == V(10));

    /* keys are copied, NUL-terminated, and may contain NUL */
    char k[4] = {'x', '\0', 'y', '\0'};
    CHECK_EQ(st_strmap_put(m, k, 3, V(4)), 0);
    CHECK(st_strmap_get(m, "x", 1) == NULL);
    k[0] = 'z';
    CHECK(st_strmap_get(m, "x\0y", 3) == V(4));
    it = 0;
    const char *key;
    size_t len;
    void *val;
    int seen = 0;
    while (st_strmap_next(m, &it, &key, &len, &val)) {
        if (val == V(4)) {
            CHECK_EQ(len, 3);
            CHECK(memcmp(key, "x\0y", 4) == 0);
        }
        if (val == V(10)) CHECK_STR(key, "a");
        seen++;
    }
    CHECK_EQ(seen, 4);

    CHECK(st_strmap_del(m, "a", 1) == V(10));
    CHECK(st_strmap_del(m, "a", 1) == NULL);
    CHECK(st_strmap_get(m, "a", 1) == NULL);
    CHECK(st_strmap_get(m, "ab", 2) == V(2));
    CHECK_EQ(st_strmap_count(m), 3);
    st_strmap_free(m);
    st_strmap_free(NULL);
}

static void test_many(void)
{
    st_strmap *m = st_strmap_new();
    char k[32];
    int ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= st_strmap_put(m, k, key_of(k, i), V(i)) == 0;
    CHECK(ok);
    CHECK_EQ(st_strmap_count(m), N);
    ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= st_strmap_get(m, k, key_of(k, i)) == V(i);
    CHECK(ok);
    CHECK(st_strmap_get(m, k, key_of(k, N)) == NULL);

    /* delete the even keys */
    ok = 1;
    for (size_t i = 0; i < N; i += 2)
        ok &= st_strmap_del(m, k, key_of(k, i)) == V(i);
    CHECK(ok);
    CHECK_EQ(st_strmap_count(m), N / 2);
    ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= st_strmap_get(m, k, key_of(k, i)) == (i % 2 ? V(i) : NULL);
    CHECK(ok);

    /* iterate, deleting every entry as it is visited: each odd key seen exactly once */
    unsigned char *seen = calloc(N, 1);
    size_t it = 0, visits = 0;
    const char *key;
    size_t len;
    void *val;
    ok = 1;
    while (st_strmap_next(m, &it, &key, &len, &val)) {
        size_t i = (size_t)(uintptr_t)val - 1;
        ok &= i < N && i % 2 == 1 && !seen[i];
        ok &= len == key_of(k, i) && memcmp(k, key, len) == 0;
        seen[i] = 1;
        visits++;
        /* copy the key: it is freed by the delete */
        memcpy(k, key, len);
        ok &= st_strmap_del(m, k, len) == val;
    }
    CHECK(ok);
    CHECK_EQ(visits, N / 2);
    CHECK_EQ(st_strmap_count(m), 0);
    free(seen);

    /* the table is reusable after mass deletion (tombstones are recycled) */
    ok = 1;
    for (size_t r = 0; r < 3; r++) {
        for (size_t i = 0; i < N; i++)
            ok &= st_strmap_put(m, k, key_of(k, i), V(i)) == 0;
        for (size_t i = 0; i < N; i++)
            ok &= st_strmap_del(m, k, key_of(k, i)) == V(i);
    }
    CHECK(ok);
    CHECK_EQ(st_strmap_count(m), 0);
    st_strmap_free(m);
}

/* Deleting entries other than the current one during iteration is safe too. */
static void test_iter_delete_others(void)
{
    st_strmap *m = st_strmap_new();
    char k[32];
    for (size_t i = 0; i < 1000; i++)
        st_strmap_put(m, k, key_of(k, i), V(i));
    unsigned char seen[1000] = {0};
    size_t it = 0, visits = 0;
    void *val;
    int ok = 1;
    while (st_strmap_next(m, &it, NULL, NULL, &val)) {
        size_t i = (size_t)(uintptr_t)val - 1;
        ok &= !seen[i];
        seen[i] = 1;
        visits++;
        /* remove the partner key (i ^ 1) too, if not yet seen */
        size_t j = i ^ 1;
        if (!seen[j]) {
            seen[j] = 1;
            ok &= st_strmap_del(m, k, key_of(k, j)) == V(j);
        }
        /* replacing a present value during iteration is allowed */
        ok &= st_strmap_put(m, k, key_of(k, i), V(i)) == 0;
    }
    CHECK(ok);
    CHECK_EQ(visits, 500);
    CHECK_EQ(st_strmap_count(m), 500);
    st_strmap_free(m);
}

static void test_hash(void)
{
    const char *s = "sensors/room1/temperature";
    char buf[64];
    CHECK(st_hash(s, strlen(s)) == st_hash(s, strlen(s)));
    CHECK(st_hash(s, strlen(s)) == st_hash_seed(s, strlen(s), 0));
    CHECK(st_hash(s, strlen(s)) != st_hash_seed(s, strlen(s), 1));
    /* independent of alignment */
    memcpy(buf + 3, s, strlen(s));
    CHECK(st_hash(buf + 3, strlen(s)) == st_hash(s, strlen(s)));
    /* every prefix length 0..64 of one string hashes differently (covers all code paths) */
    char big[65];
    for (int i = 0; i < 65; i++)
        big[i] = (char)('a' + i % 26);
    uint64_t hs[65];
    int ok = 1;
    for (int i = 0; i <= 64; i++) {
        hs[i] = st_hash(big, (size_t)i);
        for (int j = 0; j < i; j++)
            ok &= hs[i] != hs[j];
    }
    CHECK(ok);
    /* one flipped bit changes about half the output bits */
    int flips = 0;
    for (int i = 0; i < 64; i++) {
        char c[64];
        memcpy(c, big, 64);
        c[i] ^= 1;
        flips += __builtin_popcountll(st_hash(c, 64) ^ st_hash(big, 64));
    }
    CHECK(flips > 64 * 24 && flips < 64 * 40);
    /* low bits spread sequential keys evenly over 256 buckets */
    unsigned bucket[256] = {0};
    for (size_t i = 0; i < N; i++) {
        size_t n = key_of(buf, i);
        bucket[st_hash(buf, n) & 255]++;
    }
    unsigned lo = N, hi = 0;
    for (int i = 0; i < 256; i++) {
        lo = bucket[i] < lo ? bucket[i] : lo;
        hi = bucket[i] > hi ? bucket[i] : hi;
    }
    CHECK(lo > N / 256 * 8 / 10 && hi < N / 256 * 12 / 10);
}

static void test_u64map(void)
{
    st_u64map *m = st_u64map_new();
    CHECK(st_u64map_get(m, 0) == NULL);
    CHECK(st_u64map_del(m, 7) == NULL);
    CHECK_EQ(st_u64map_put(m, 0, V(0)), 0);
    CHECK_EQ(st_u64map_put(m, UINT64_MAX, V(1)), 0);
    CHECK(st_u64map_get(m, 0) == V(0));
    CHECK(st_u64map_get(m, UINT64_MAX) == V(1));
    CHECK_EQ(st_u64map_put(m, 0, V(5)), 0);
    CHECK(st_u64map_get(m, 0) == V(5));
    CHECK_EQ(st_u64map_count(m), 2);
    CHECK(st_u64map_del(m, 0) == V(5));
    CHECK(st_u64map_del(m, UINT64_MAX) == V(1));
    CHECK_EQ(st_u64map_count(m), 0);

    int ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= st_u64map_put(m, (uint64_t)i << 16, V(i)) == 0; /* patterned keys */
    CHECK(ok);
    CHECK_EQ(st_u64map_count(m), N);
    ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= st_u64map_get(m, (uint64_t)i << 16) == V(i) && !st_u64map_get(m, i * 65536 + 1);
    for (size_t i = 0; i < N; i += 2)
        ok &= st_u64map_del(m, (uint64_t)i << 16) == V(i);
    CHECK(ok);
    CHECK_EQ(st_u64map_count(m), N / 2);
    unsigned char *seen = calloc(N, 1);
    size_t it = 0, visits = 0;
    uint64_t key;
    void *val;
    ok = 1;
    while (st_u64map_next(m, &it, &key, &val)) {
        size_t i = (size_t)(uintptr_t)val - 1;
        ok &= i < N && i % 2 == 1 && !seen[i] && key == (uint64_t)i << 16;
        seen[i] = 1;
        visits++;
        ok &= st_u64map_del(m, key) == val;
    }
    CHECK(ok);
    CHECK_EQ(visits, N / 2);
    CHECK_EQ(st_u64map_count(m), 0);
    free(seen);
    st_u64map_free(m);
    st_u64map_free(NULL);
}

int main(void)
{
    RUN(test_basic);
    RUN(test_many);
    RUN(test_iter_delete_others);
    RUN(test_hash);
    RUN(test_u64map);
    return TEST_END();
}
