/* subsapi.h — this node's subscriptions as the API shows and changes them (EMQX's
 * /api/v5/subscriptions, /topics and /clients/{clientid}/subscriptions|subscribe|unsubscribe,
 * docs/operations.md "Subscriptions"), read and changed on the sessions' workers (call.h).
 * Any thread but a worker's. */
#ifndef ST_BROKER_SUBSAPI_H
#define ST_BROKER_SUBSAPI_H

#include "broker/worker.h"

#include <stddef.h>
#include <stdint.h>

typedef struct st_sub_info {
    char *clientid, *topic; /* malloc'd; topic: the filter as subscribed ($share/g/f too) */
    int qos, nl, rap, durable;
} st_sub_info;

/* What to list; "" and -1 match everything. match_topic: subscriptions whose filter
 * matches this topic name; share_group: members of that group. */
typedef struct st_sub_filter {
    char clientid[1024], topic[1024], share_group[256], match_topic[1024];
    int qos;
} st_sub_filter;

/* Every subscription of this node's sessions that f matches, by client id then topic: *n
 * of them (st_sub_infos_free). 0, ST_ENOMEM, ST_EAGAIN (a worker did not answer). */
int st_subs_list_api(st_broker *b, const st_sub_filter *f, int64_t timeout_ms, st_sub_info **out,
                     size_t *n);
/* Client cid's subscriptions: 1 (its session is here), 0 (not here), or an ST_E* code. */
int st_client_subs(st_broker *b, const char *cid, int64_t timeout_ms, st_sub_info **out, size_t *n);
void st_sub_infos_free(st_sub_info *v, size_t n);

/* Subscribe (unsub 0) or unsubscribe client cid's session to / from filter f as its client
 * would (retained messages to a connected client per rh, the session stored): the granted
 * QoS or a reason code (MQTT 5's, >= 0x80: 0x8F topic filter invalid, 0x97 quota, 0x11 no
 * subscription existed), ST_ENOENT (no session here), or another ST_E* code. */
int st_client_subscribe(st_broker *b, const char *cid, const char *f, int qos, int nl, int rap,
                        int rh, int unsub, int64_t timeout_ms);

#endif
