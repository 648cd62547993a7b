/* MPSC queue: 4 producer threads push 100k items each; the consumer must see every item
 * exactly once and each producer's items in order. */
#include "test.h"
#include "core/mpsc.h"

#include <pthread.h>
#include <stdlib.h>

#define PRODUCERS 4
#define PER 100000

typedef struct item {
    st_mpsc_node node;
    int producer, seq;
} item;

static st_mpsc q;

static void *producer(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < PER; i++) {
        item *it = malloc(sizeof *it);
        it->producer = id;
        it->seq = i;
        st_mpsc_push(&q, &it->node);
    }
    return NULL;
}

static void test_many_producers(void)
{
    pthread_t th[PRODUCERS];
    int next[PRODUCERS] = {0};
    int out_of_order = 0;
    long got = 0;
    st_mpsc_init(&q);
    for (long i = 0; i < PRODUCERS; i++)
        pthread_create(&th[i], NULL, producer, (void *)i);
    while (got < (long)PRODUCERS * PER) {
        st_mpsc_node *n = st_mpsc_pop(&q);
        if (!n) continue;
        item *it = (item *)n;
        if (it->seq != next[it->producer]) out_of_order++;
        next[it->producer] = it->seq + 1;
        got++;
        free(it);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(out_of_order, 0);
    CHECK_EQ(got, (long)PRODUCERS * PER);
    CHECK(st_mpsc_pop(&q) == NULL);
}

static void test_empty_and_single(void)
{
    item a = {.seq = 1}, b = {.seq = 2};
    st_mpsc_init(&q);
    CHECK(st_mpsc_pop(&q) == NULL);
    st_mpsc_push(&q, &a.node);
    CHECK(st_mpsc_pop(&q) == &a.node);
    CHECK(st_mpsc_pop(&q) == NULL);
    st_mpsc_push(&q, &a.node);
    st_mpsc_push(&q, &b.node);
    CHECK(st_mpsc_pop(&q) == &a.node);
    CHECK(st_mpsc_pop(&q) == &b.node);
    CHECK(st_mpsc_pop(&q) == NULL);
}

int main(void)
{
    RUN(test_empty_and_single);
    RUN(test_many_producers);
    return TEST_END();
}
