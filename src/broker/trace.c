/* trace.c — log traces (trace.h): the table, the hooks the workers call, the lines. */
#include "broker/trace.h"
#include "broker/call.h"
#include "broker/client.h"
#include "broker/msg.h"
#include "core/clock.h"
#include "core/err.h"
#include "route/trie.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHOWN_PAYLOAD 1024 /* bytes of a payload a line shows */

struct st_trace_table {
    int n;
    st_trace_def d[];
};

/* On each worker after a swap: whether to look at the table at all. */
static void *retrace(st_worker *w, const void *arg)
{
    (void)arg;
    w->tracing = atomic_load_explicit(&w->b->traces, memory_order_acquire) != NULL;
    return NULL;
}

static void free_table(void *arg)
{
    free(*(struct st_trace_table **)arg);
}

int st_broker_traces(st_broker *b, const st_trace_def *defs, int n)
{
    struct st_trace_table *t = NULL;
    if (n > 0) {
        t = malloc(sizeof *t + (size_t)n * sizeof *defs);
        if (!t) return ST_ENOMEM;
        t->n = n;
        memcpy(t->d, defs, (size_t)n * sizeof *defs);
    }
    pthread_mutex_lock(&b->reload_lock);
    struct st_trace_table *old = atomic_exchange(&b->traces, t);
    /* each worker sets its flag; the old table is freed once every worker has run this, at
     * an event boundary: none holds it any more */
    st_call *c = st_call_post(b, -1, retrace, &old, sizeof old, NULL, old ? free_table : NULL);
    pthread_mutex_unlock(&b->reload_lock);
    if (!c) return ST_ENOMEM; /* the old table kept: a worker may hold it (a leak, not a crash) */
    st_call_release(c);
    return 0;
}

void st_broker_traces_free(st_broker *b)
{
    free(atomic_exchange(&b->traces, NULL));
}

/* ---- lines ------------------------------------------------------------------------------- */

typedef struct line {
    char *p;
    size_t len, cap;
} line;

static void put(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->p + l->len, l->cap - l->len, fmt, ap);
    va_end(ap);
    if (n > 0) l->len += (size_t)n < l->cap - l->len ? (size_t)n : l->cap - l->len - 1;
}

static void payload(line *l, const uint8_t *p, size_t n, int encode)
{
    if (encode == ST_TRACE_HIDDEN) {
        put(l, "Payload=******");
        return;
    }
    size_t shown = n < SHOWN_PAYLOAD ? n : SHOWN_PAYLOAD;
    put(l, "Payload=");
    for (size_t i = 0; i < shown; i++) {
        if (encode == ST_TRACE_HEX)
            put(l, "%02X", p[i]);
        else if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            put(l, "%c", p[i]);
        else
            put(l, "\\x%02x", p[i]);
    }
    if (shown < n) put(l, "...(%zu bytes)", n);
}

static void filters(line *l, const mqtt_packet *p)
{
    st_bytes f;
    mqtt_subopts o;
    uint32_t off = 0;
    int first = 1;
    if (p->type == MQTT_SUBSCRIBE) {
        while (mqtt_sub_next(&p->u.subscribe, &off, &f, &o)) {
            put(l, "%s%.*s(Q%d)", first ? "" : ",", (int)f.len, (const char *)f.p, o.qos);
            first = 0;
        }
        return;
    }
    while (mqtt_unsub_next(&p->u.unsubscribe, &off, &f)) {
        put(l, "%s%.*s", first ? "" : ",", (int)f.len, (const char *)f.p);
        first = 0;
    }
}

void st_trace_format(const mqtt_packet *p, int encode, char *out, size_t cap)
{
    static const char *const names[] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                        "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                        "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                        "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
    line l = {out, 0, cap};
    out[0] = 0;
    const mqtt_publish *pub = &p->u.publish;
    int pubq = p->type == MQTT_PUBLISH;
    put(&l, "%s(Q%d, R%d, D%d", names[p->type & 15], pubq ? pub->qos : (p->flags >> 1) & 3,
        pubq ? pub->retain : p->flags & 1, pubq ? pub->dup : (p->flags >> 3) & 1);
    const mqtt_connect *cn = &p->u.connect;
    switch (p->type) {
    case MQTT_CONNECT:
        put(&l, ", ClientId=%.*s, ProtoName=%.*s, ProtoVsn=%d, CleanStart=%s, KeepAlive=%d",
            (int)cn->client_id.len, (const char *)cn->client_id.p, (int)cn->protocol_name.len,
            (const char *)cn->protocol_name.p, cn->level, cn->clean_start ? "true" : "false",
            cn->keepalive);
        if (cn->has_username)
            put(&l, ", Username=%.*s", (int)cn->username.len, (const char *)cn->username.p);
        else
            put(&l, ", Username=undefined");
        put(&l, ", Password=%s", cn->has_password ? "******" : "undefined");
        break;
    case MQTT_CONNACK:
        put(&l, ", AckFlags=%d, ReasonCode=%d", p->session_present, p->reason);
        break;
    case MQTT_PUBLISH:
        put(&l, ", Topic=%.*s, PacketId=%d, ", (int)pub->topic.len, (const char *)pub->topic.p,
            p->packet_id);
        payload(&l, pub->payload.p, pub->payload.len, encode);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        put(&l, ", PacketId=%d, ReasonCode=%d", p->packet_id, p->reason);
        break;
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        put(&l, ", PacketId=%d, TopicFilters=[", p->packet_id);
        filters(&l, p);
        put(&l, "]");
        break;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        put(&l, ", PacketId=%d, ReasonCodes=[", p->packet_id);
        for (uint32_t i = 0; i < p->u.acks.raw.len; i++)
            put(&l, "%s%d", i ? "," : "", p->u.acks.raw.p[i]);
        put(&l, "]");
        break;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        put(&l, ", ReasonCode=%d", p->reason);
        break;
    default:
        break;
    }
    put(&l, ")");
}

/* ---- matching and writing ---------------------------------------------------------------- */

static int matches(const st_trace_def *d, const st_client *c, const char *cid, size_t cidlen,
                   const mqtt_packet *p)
{
    if (d->type == ST_TRACE_CLIENTID)
        return cid && strlen(d->match) == cidlen && memcmp(d->match, cid, cidlen) == 0;
    if (d->type == ST_TRACE_IP) {
        size_t n = strlen(d->match);
        const char *peer = c->peer[0] == '[' ? c->peer + 1 : c->peer;
        return strncmp(peer, d->match, n) == 0 && (peer[n] == ':' || peer[n] == ']');
    }
    return p->type == MQTT_PUBLISH && p->u.publish.topic.len &&
           st_topic_match(d->match, strlen(d->match), (const char *)p->u.publish.topic.p,
                          p->u.publish.topic.len);
}

static void write_line(const st_trace_def *d, const st_client *c, const char *cid, size_t cidlen,
                       const mqtt_packet *p, int out)
{
    char text[4096 + 512], when[40];
    int64_t now = st_wall_ms();
    time_t s = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(text, sizeof text, "%s.%03d+00:00 [MQTT] %.*s@%s msg: %s, packet: ", when,
                     (int)(now % 1000), cid ? (int)cidlen : 9, cid ? cid : "undefined", c->peer,
                     out ? "mqtt_packet_sent" : "mqtt_packet_received");
    if (n < 0 || (size_t)n >= sizeof text) return;
    st_trace_format(p, d->encode, text + n, sizeof text - (size_t)n - 1);
    size_t len = strlen(text);
    text[len++] = '\n';
    int fd = open(d->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0) return;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size + len <= ST_TRACE_FILE_MAX &&
        write(fd, text, len) < 0) {
    }
    close(fd);
}

void st_trace_packet(st_client *c, const mqtt_packet *p, int out)
{
    const struct st_trace_table *t = atomic_load_explicit(&c->w->b->traces, memory_order_acquire);
    if (!t) return;
    const char *cid = c->sess ? c->sess->cid : NULL;
    size_t cidlen = c->sess ? c->sess->cid_len : 0;
    if (!cid && p->type == MQTT_CONNECT) {
        cid = (const char *)p->u.connect.client_id.p;
        cidlen = p->u.connect.client_id.len;
    }
    int64_t now = -1;
    for (int i = 0; i < t->n; i++) {
        const st_trace_def *d = &t->d[i];
        if (!matches(d, c, cid, cidlen, p)) continue;
        if (now < 0) now = st_wall_ms();
        if (now >= d->start_ms && now < d->end_ms) write_line(d, c, cid, cidlen, p, out);
    }
}

void st_trace_delivery(st_client *c, const st_msg *m, uint8_t qos, uint8_t retain, uint8_t dup,
                       uint16_t pid)
{
    mqtt_packet p = {.type = MQTT_PUBLISH, .version = c->version, .packet_id = pid};
    p.u.publish = (mqtt_publish){.topic = {(const uint8_t *)m->topic, m->topic_len},
                                 .payload = {m->payload, m->payload_len},
                                 .qos = qos,
                                 .retain = retain,
                                 .dup = dup};
    st_trace_packet(c, &p, 1);
}
