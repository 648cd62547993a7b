/* session.h — an MQTT session: subscriptions, the outgoing message queue, the inflight
 * window, inbound QoS 2 ids awaiting PUBREL, and the will. A session belongs to exactly
 * one worker (the one its client id hashes to) and is touched by that worker only. */
#ifndef ST_SESSION_H
#define ST_SESSION_H

#include "broker/msg.h"
#include "broker/subs.h"

#include <stdint.h>

struct st_client;

typedef struct st_qitem {
    st_msg *msg;
    st_sharekey *share; /* group it came through (redispatch), or NULL */
    uint32_t sub_id;
    uint8_t qos;      /* delivery QoS */
    uint8_t retain;   /* RETAIN flag to send */
    uint64_t dur_mid; /* its message's id in the durable store (0: not stored, durable.h) */
} st_qitem;

enum { ST_INF_WAIT_ACK = 1, ST_INF_WAIT_COMP = 2 };

typedef struct st_inflight {
    st_qitem it;
    uint16_t pid;
    uint8_t state;
    int64_t sent_at;
} st_inflight;

typedef struct st_subrec {
    char *filter;
    uint16_t len;
    uint8_t qos, flags;
    uint32_t sub_id;
} st_subrec;

typedef struct st_relwait {
    uint16_t pid;
    int64_t at;
} st_relwait;

typedef struct st_session {
    uint64_t sid;
    char *cid;
    uint16_t cid_len;
    struct st_client *client; /* NULL while offline */
    int64_t expiry_ms;        /* ST_UNLIMITED: never */
    int64_t expire_at;        /* monotonic ms, while offline */
    uint64_t reg_hlc;         /* its registration in the cluster's client-id registry (HLC) */
    st_subrec *subs;
    uint32_t nsubs, capsubs;
    st_qitem *q; /* ring */
    uint32_t qhead, qlen, qcap;
    uint8_t hot; /* queue past half of max_mqueue_len while connected (flow.h) */
    /* moving between nodes (docs/cluster.md §10.3): arriving here (nothing is sent to the
     * client, which waits for its CONNACK), or leaving (frozen: deliveries only queue) */
    uint8_t arriving, leaving;
    uint8_t stored; /* its record is in the durable store (durable.h) */
    st_inflight *inf;
    uint32_t ninf, capinf;
    uint16_t next_pid;
    st_relwait *rel;
    uint32_t nrel, caprel;
    st_msg *will;
    uint32_t will_delay_s;
    int64_t will_at; /* >0: will scheduled for this time */
    uint64_t dropped;
} st_session;

st_session *st_session_new(uint64_t sid, const char *cid, size_t len);
/* Frees everything; the caller has removed subscriptions from the table first. */
void st_session_free(st_session *s);

st_subrec *st_session_sub_find(st_session *s, const char *filter, size_t len);
/* Add or update; returns the record or NULL on ENOMEM. *created tells which. */
st_subrec *st_session_sub_put(st_session *s, const char *filter, size_t len, int *created);
int st_session_sub_del(st_session *s, const char *filter, size_t len);

/* Queue an item (takes the references in it). When the queue is at max_len the oldest
 * entry is dropped (EMQX's policy) and returned in *dropped for the caller to release; dropped->msg
 * is NULL when nothing was dropped. */
int st_session_enqueue(st_session *s, const st_qitem *it, int64_t max_len, st_qitem *dropped);
int st_session_dequeue(st_session *s, st_qitem *out);
/* Take the oldest entry out as dropped (counted in s->dropped); the caller releases it. */
void st_session_drop_oldest(st_session *s, st_qitem *out);
void st_qitem_release(st_qitem *it);

/* A free packet id not used by the inflight window (never 0). */
uint16_t st_session_next_pid(st_session *s);
st_inflight *st_session_inflight_add(st_session *s);
st_inflight *st_session_inflight_find(st_session *s, uint16_t pid);
void st_session_inflight_del(st_session *s, st_inflight *f); /* keeps order */

int st_session_rel_find(const st_session *s, uint16_t pid);
int st_session_rel_add(st_session *s, uint16_t pid, int64_t now);
int st_session_rel_del(st_session *s, uint16_t pid);

void st_session_set_will(st_session *s, st_msg *will, uint32_t delay_s);
void st_session_clear_will(st_session *s);

#endif
