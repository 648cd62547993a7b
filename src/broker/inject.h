/* inject.h — a message published by the API (POST /api/v5/publish; a retained message
 * deleted through the API is an empty retained one): on a worker, the way a will is
 * published (a retained one stored, every subscriber on every node reached), given its
 * identity there. Any thread but a worker's. */
#ifndef ST_BROKER_INJECT_H
#define ST_BROKER_INJECT_H

#include "broker/worker.h"

#include <stdint.h>

typedef struct st_inject_result {
    uint64_t targets;     /* local subscribers and other nodes it went to */
    uint64_t origin, oid; /* its identity (msg.h) */
} st_inject_result;

/* m (the caller keeps its reference; the worker takes its own) on the worker its topic
 * hashes to. 0, ST_ENOMEM, or ST_EAGAIN when the worker did not run it within timeout_ms (it
 * still will). */
int st_inject(st_broker *b, st_msg *m, int64_t timeout_ms, st_inject_result *out);

#endif
