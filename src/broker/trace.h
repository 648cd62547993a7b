/* trace.h — EMQX's log traces (docs/operations.md, "Traces"): the MQTT packets of one client,
 * of one client address, or the PUBLISHes of topics matching a filter, written as text lines
 * to a file of this node for a bounded time. The table of traces is immutable and swapped
 * whole (st_broker_traces), and each worker told at an event boundary whether there is one
 * (w->tracing): while there is none, a packet costs the hooks one load of that flag. Lines are
 * appended with O_APPEND by whichever worker handles the packet. */
#ifndef ST_BROKER_TRACE_H
#define ST_BROKER_TRACE_H

#include "broker/worker.h"
#include "mqtt/mqtt.h"

#include <stdint.h>

enum { ST_TRACE_CLIENTID, ST_TRACE_TOPIC, ST_TRACE_IP };
enum { ST_TRACE_TEXT, ST_TRACE_HEX, ST_TRACE_HIDDEN }; /* payload_encode */

#define ST_TRACE_MAX 30               /* EMQX's limit */
#define ST_TRACE_FILE_MAX (64u << 20) /* a trace's file on a node stops growing here */

typedef struct st_trace_def {
    char name[64];
    uint8_t type;             /* ST_TRACE_* */
    uint8_t encode;           /* payload_encode */
    char match[256];          /* the client id, the topic filter, or the address */
    int64_t start_ms, end_ms; /* wall clock: lines are written in [start, end) */
    char path[1024];          /* the file */
} st_trace_def;

/* The traces from now on (n 0: none). Any thread but a worker's. 0 or ST_ENOMEM. */
int st_broker_traces(st_broker *b, const st_trace_def *defs, int n);
/* At st_broker_free. */
void st_broker_traces_free(st_broker *b);

struct st_client;
struct st_msg;
/* A packet received from c, or sent to it (worker threads). */
void st_trace_packet(struct st_client *c, const mqtt_packet *p, int out);
/* A PUBLISH of m sent to c (its delivery is written without an mqtt_packet). */
void st_trace_delivery(struct st_client *c, const struct st_msg *m, uint8_t qos, uint8_t retain,
                       uint8_t dup, uint16_t pid);

/* One packet as a line's text (EMQX's form, "PUBLISH(Q1, R0, D0, Topic=t, PacketId=1,
 * Payload=x)"), into out. */
void st_trace_format(const mqtt_packet *p, int encode, char *out, size_t cap);

#endif
