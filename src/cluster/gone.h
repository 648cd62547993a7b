/* gone.h — a member gone for good: the member that ranks first for the copies of its durable
 * store takes its sessions over (docs/durability.md §6, adoption). A member is gone for good
 * once it has left the cluster (`ctl cluster force-leave`, or a leave that could not hand
 * every session over); a member that is only down is not: it may come back with its disk.
 * Before it builds the sessions from the copy, the adopter asks every member (itself too)
 * for what their data lanes still held for the gone one (leftover.h), and once the sessions
 * are installed tells them to let it go. The cluster thread, once a second. */
#ifndef ST_CLUSTER_GONE_H
#define ST_CLUSTER_GONE_H

#include "cluster/ask.h"
#include "cluster/data/data.h"
#include "cluster/plane/plane.h"
#include "cluster/replica/replica.h"

#include <stdint.h>

/* The cluster's own questions (ask.h): argument the gone member's name. */
enum {
    ST_ASK_LEFTOVER = ST_ASK_OWN, /* what your lanes held for it (leftover.h's answer) */
    ST_ASK_LEFTOVER_DROP,         /* its adopter took them: let them go */
};

typedef struct st_gone {
    char owner[256];  /* whose sessions are being taken over ("": none) */
    char asking[256]; /* whose leftovers are asked for ("": none) */
    st_ask *q;
    st_answer *ans;
    int tries;
    int64_t next;
} st_gone;

/* r NULL (persistence.shared_client_session off): nothing. self: this node's name. */
void st_gone_tick(st_gone *g, st_plane *pl, st_replica *r, st_data *d, st_asks *asks,
                  const char *self, int64_t now);
/* At stop: a question still open is let go. */
void st_gone_stop(st_gone *g);
/* This node's answer to ST_ASK_LEFTOVER / ST_ASK_LEFTOVER_DROP (st_answer_fn's contract). */
char *st_gone_answer(st_data *d, uint8_t what, const char *arg, size_t arglen, size_t *len);

#endif
