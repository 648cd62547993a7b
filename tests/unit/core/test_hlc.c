/* test_hlc.c — the hybrid logical clock: monotonic under a wall clock that stalls or goes
 * back, after every received stamp, and strictly increasing across threads. */
#include "test.h"
#include "core/hlc.h"

#include <pthread.h>
#include <stdlib.h>

static void test_local(void)
{
    st_hlc h = {0};
    uint64_t a = st_hlc_now(&h, 1000);
    CHECK(ST_HLC_MS(a) == 1000 && ST_HLC_COUNT(a) == 0);
    uint64_t b = st_hlc_now(&h, 1000); /* same millisecond: the counter moves */
    CHECK(b == a + 1);
    uint64_t c = st_hlc_now(&h, 900); /* the wall clock went back: still forward */
    CHECK(c > b && ST_HLC_MS(c) == 1000);
    uint64_t d = st_hlc_now(&h, 2000);
    CHECK(ST_HLC_MS(d) == 2000 && ST_HLC_COUNT(d) == 0);
}

static void test_recv(void)
{
    st_hlc h = {0};
    st_hlc_now(&h, 1000);
    uint64_t remote = (uint64_t)5000 << 16 | 7; /* a node whose clock is ahead */
    uint64_t r = st_hlc_recv(&h, remote, 1000);
    CHECK(r > remote);
    CHECK(st_hlc_now(&h, 1000) > r); /* and everything after it too */
    uint64_t old = (uint64_t)10 << 16;
    uint64_t s = st_hlc_recv(&h, old, 1000); /* an old stamp changes nothing but order */
    CHECK(s > r);
    st_hlc fresh = {0};
    CHECK_EQ(ST_HLC_MS(st_hlc_recv(&fresh, old, 7000)), 7000u); /* our wall clock is later */
}

#define THREADS 4
#define PER 20000
static st_hlc shared;
static uint64_t stamps[THREADS][PER];

static void *stamp(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < PER; i++)
        out[i] = st_hlc_now(&shared, 42); /* a stuck clock: only the counter orders them */
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_threads(void)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, stamp, stamps[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) /* increasing within a thread */
        for (int k = 1; k < PER; k++)
            CHECK(stamps[i][k] > stamps[i][k - 1]);
    uint64_t *all = (uint64_t *)stamps;
    qsort(all, THREADS * PER, sizeof *all, cmp);
    int dup = 0;
    for (int k = 1; k < THREADS * PER; k++)
        dup += all[k] == all[k - 1];
    CHECK_EQ(dup, 0); /* unique across threads */
}

int main(void)
{
    RUN(test_local);
    RUN(test_recv);
    RUN(test_threads);
    return TEST_END();
}
