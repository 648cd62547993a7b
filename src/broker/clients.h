/* clients.h — the clients and sessions of this node as the API shows them (EMQX's
 * GET /api/v5/clients, docs/operations.md "Clients"), read on their workers (call.h), and a
 * client kicked out by an operator. Any thread but a worker's. */
#ifndef ST_BROKER_CLIENTS_H
#define ST_BROKER_CLIENTS_H

#include "broker/worker.h"

#include <stddef.h>
#include <stdint.h>

#define ST_CLIENTS_FILTER_MAX 1024 /* bytes of a filter's string, NUL included */

/* What to list; empty strings and -1 match everything. like_*: substring. */
typedef struct st_client_filter {
    char clientid[ST_CLIENTS_FILTER_MAX], username[ST_CLIENTS_FILTER_MAX];
    char like_clientid[ST_CLIENTS_FILTER_MAX], like_username[ST_CLIENTS_FILTER_MAX];
    char ip_address[64];
    int connected;   /* 1 connected, 0 not (a session whose client is offline), -1 any */
    int proto_ver;   /* 3, 4, 5, -1 */
    int clean_start; /* 0, 1, -1 */
    int64_t gte_connected_at, lte_connected_at; /* wall ms, 0: no bound */
} st_client_filter;

typedef struct st_client_info {
    char *clientid, *username; /* malloc'd; username NULL: none */
    char ip_address[48];
    int port;                                                   /* 0: offline */
    int connected, proto_ver, clean_start, keepalive, listener; /* listener: index, -1 */
    int durable;               /* its session is in the durable store */
    int64_t expiry_interval_s; /* -1: never expires */
    int64_t connected_at;      /* wall ms of its connection (or of its last one's end) */
    int64_t disconnected_at;   /* wall ms, 0: connected or unknown */
    uint32_t subscriptions, mqueue_len, inflight, awaiting_rel;
    uint64_t mqueue_dropped;
} st_client_info;

/* The sessions of this node that f matches (connected or not; not the ones moving between
 * nodes): how many in all (*total), and the first `want` of them in client id order (*n of
 * them: free with st_client_infos_free). Each worker keeps `want` at most while it looks, so
 * a first page costs it a pass over its sessions and `want` copies. 0, or ST_ENOMEM /
 * ST_EAGAIN (a worker did not answer within timeout_ms). */
int st_clients_list(st_broker *b, const st_client_filter *f, size_t want, int64_t timeout_ms,
                    st_client_info **out, size_t *n, size_t *total);
void st_client_infos_free(st_client_info *v, size_t n);
/* A message in a session's queue or inflight window (a reference held: st_client_msgs_free). */
typedef struct st_client_msg {
    st_msg *msg;  /* NULL: an inflight QoS 2 entry past PUBREC (only its PUBREL is owed) */
    int qos;      /* as it is delivered */
    uint16_t pid; /* inflight: its packet id */
} st_client_msg;
/* Client cid's queued (inflight 0) or inflight (1) messages from index from on, at most
 * limit of them, and how many there are in all (*total). 1 (its session is here), 0 (not
 * here), or an ST_E* code. */
int st_client_msgs(st_broker *b, const char *cid, int inflight, size_t from, size_t limit,
                   int64_t timeout_ms, st_client_msg **out, size_t *n, size_t *total);
void st_client_msgs_free(st_client_msg *v, size_t n);

/* Kick out client id cid: its connection closed (MQTT 5: DISCONNECT 0x98 administrative
 * action) and its session discarded, as EMQX's kick. 1 done, 0 no such session here, or an
 * ST_E* code. */
int st_clients_kick(st_broker *b, const char *cid, size_t len, int64_t timeout_ms);

#endif
