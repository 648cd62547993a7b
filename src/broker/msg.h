/* msg.h — the refcounted, immutable application message.
 * A PUBLISH is decoded once into one allocation holding topic, payload and the v5
 * properties that travel with it; every subscriber, queue and output segment holds a
 * reference. Nothing in an st_msg changes after st_msg_new, so any thread may read it. */
#ifndef ST_MSG_H
#define ST_MSG_H

#include "mqtt/mqtt.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct st_msg {
    atomic_int refs;
    uint8_t qos;    /* QoS as published */
    uint8_t retain; /* RETAIN flag as published */
    uint8_t has_expiry;
    int64_t expire_at; /* monotonic ms; meaningful when has_expiry */
    uint64_t from_sid; /* publishing session (No Local); 0 for wills and system messages */
    uint64_t rv;       /* retained version (HLC) once stored as retained; 0 otherwise */
    /* identity across nodes: the boot id of the node that took it from a client and its
     * number there (0/0: none); set before the message is shared, copies keep it */
    uint64_t origin, oid;
    /* in the durable store (durable.h): its id there (0: not stored) and how many stored
     * queue entries still need it; set by the worker that stores it, before it is shared */
    _Atomic uint64_t dur_id;
    atomic_int dur_refs;
    const char *topic; /* NUL-terminated, inside this allocation */
    uint32_t topic_len;
    const uint8_t *payload;
    uint32_t payload_len;
    /* pass-through properties: payload format, content type, response topic, correlation
     * data, user properties; message_expiry is recomputed per delivery from expire_at */
    mqtt_props props;
} st_msg;

/* Copy topic, payload and the pass-through properties of props (may be NULL) into one new
 * message with refs = 1. default_expiry_ms > 0 applies when props carry no expiry. */
st_msg *st_msg_new(const char *topic, uint32_t tlen, const uint8_t *payload, uint32_t plen,
                   const mqtt_props *props, uint8_t qos, uint8_t retain, int64_t now_ms,
                   int64_t default_expiry_ms);
/* A copy with another retain flag / qos (wills, retained re-publication). refs = 1. */
st_msg *st_msg_clone(const st_msg *m, uint8_t qos, uint8_t retain);
static inline st_msg *st_msg_ref(st_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}
void st_msg_unref(st_msg *m);
/* The outq unref hook (void * signature). */
void st_msg_unref_void(void *m);
/* Seconds of life left (rounded up), 0 if expired. Only meaningful when has_expiry. */
uint32_t st_msg_remaining_s(const st_msg *m, int64_t now_ms);
static inline int st_msg_expired(const st_msg *m, int64_t now_ms)
{
    return m->has_expiry && now_ms >= m->expire_at;
}

#endif
