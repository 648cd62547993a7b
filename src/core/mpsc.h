/* mpsc.h — an intrusive multi-producer single-consumer queue (Vyukov's design).
 * Producers on any thread push; only the owning thread pops. Lock-free, wait-free push.
 * Embed an st_mpsc_node in the object to queue; pop returns that node. */
#ifndef ST_MPSC_H
#define ST_MPSC_H

#include <stdatomic.h>

typedef struct st_mpsc_node {
    _Atomic(struct st_mpsc_node *) next;
} st_mpsc_node;

typedef struct st_mpsc {
    _Atomic(st_mpsc_node *) head; /* producers swap here */
    st_mpsc_node *tail;           /* consumer reads here */
    st_mpsc_node stub;
} st_mpsc;

void st_mpsc_init(st_mpsc *q);
/* Push from any thread. Waking the consumer is the caller's business (eventfd). */
void st_mpsc_push(st_mpsc *q, st_mpsc_node *n);
/* Returns the oldest node or NULL (also NULL transiently while a push is half done;
 * the pusher of that node will wake the consumer again). */
st_mpsc_node *st_mpsc_pop(st_mpsc *q);

#endif
