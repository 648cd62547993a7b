/* rate.h — a listener's per-client rate limits, messages_rate and bytes_rate (EMQX's keys).
 *
 * Each limited client has two token buckets, filled continuously at the configured rate
 * up to one period's worth (a client may burst that much after a quiet spell). Every
 * packet of a connected client takes its size from the bytes bucket, every PUBLISH one
 * token from the messages bucket. When a bucket runs out the client is held: its socket
 * is no longer read, what was read but not parsed stays in its input buffer, and TCP
 * pushes back on the publisher. Nothing is refused or dropped, and a held client is not
 * timed out by its keep alive (we are the ones not reading). The worker's tick (every
 * 200 ms) refills the buckets of held clients and reads them again once there is room. */
#ifndef ST_RATE_H
#define ST_RATE_H

#include "broker/client.h"

#include <stdint.h>

typedef struct st_rate {
    double msgs, bytes; /* tokens left (bytes may go below 0 after a large packet) */
    int64_t at;         /* when they were last refilled */
} st_rate;

/* Does the listener limit its clients at all (then st_rate_take is called for them)? */
int st_rate_limited(const st_listener_conf *l);
/* A packet of n bytes (publish: a PUBLISH) was read from a connected client: 1 when the
 * client must not be read any further now (it is held), else 0. */
int st_rate_take(st_client *c, int publish, size_t n);
/* Tick: refill a held client's buckets and, when there is room again, read it again
 * (its buffered input is parsed now). 1 when c was closed meanwhile, else 0. */
int st_rate_tick(st_client *c, int64_t now);

#endif
