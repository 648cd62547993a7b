/* metrics.c — the counters' names (metrics.h). */
#include "broker/metrics.h"
#include "broker/retain.h"
#include "broker/subs.h"
#include "broker/worker.h"
#include "mqtt/mqtt.h"
#include "core/err.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *st_metric_name(int id)
{
    static const char *const names[] = {
#define ST_M_NAME(id, name) name,
        ST_METRICS(ST_M_NAME)
#undef ST_M_NAME
    };
    return id >= 0 && (size_t)id < sizeof names / sizeof names[0] ? names[id] : NULL;
}

void st_metrics_sum(const struct st_broker *b, uint64_t *out, uint64_t *drop)
{
    memset(out, 0, ST_M_N * sizeof *out);
    memset(drop, 0, ST_DROP_REASONS * sizeof *drop);
    for (int i = 0; i < b->nw; i++) {
        const st_worker *w = &b->w[i];
        for (int k = 0; k < ST_M_N; k++)
            out[k] += atomic_load_explicit(&w->metrics.v[k], memory_order_relaxed);
        for (int k = 0; k < ST_DROP_REASONS; k++)
            drop[k] += atomic_load_explicit(&w->dropped[k], memory_order_relaxed);
    }
}

void st_stats_get(struct st_broker *b, st_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < b->cfg.n_listeners; i++)
        out->connections += atomic_load(&b->conns[i]);
    for (int i = 0; i < b->nw; i++)
        out->sessions += atomic_load_explicit(&b->w[i].nsessions, memory_order_relaxed);
    out->subscriptions = (long)st_subs_count(b->subs);
    out->retained = (long)st_retain_count(b->retain);
}

static void put(st_metric_fig *out, size_t *n, size_t max, const char *name, uint64_t v)
{
    if (*n < max) out[(*n)++] = (st_metric_fig){name, v};
}

/* EMQX's packet metrics: name, and the slot it is read from. */
static const struct {
    const char *name;
    int slot;
} packets[] = {
    {"packets.connect.received", ST_M_RX + MQTT_CONNECT},
    {"packets.connack.sent", ST_M_TX + MQTT_CONNACK},
    {"packets.publish.received", ST_M_RX + MQTT_PUBLISH},
    {"packets.publish.sent", ST_M_TX + MQTT_PUBLISH},
    {"packets.puback.received", ST_M_RX + MQTT_PUBACK},
    {"packets.puback.sent", ST_M_TX + MQTT_PUBACK},
    {"packets.pubrec.received", ST_M_RX + MQTT_PUBREC},
    {"packets.pubrec.sent", ST_M_TX + MQTT_PUBREC},
    {"packets.pubrel.received", ST_M_RX + MQTT_PUBREL},
    {"packets.pubrel.sent", ST_M_TX + MQTT_PUBREL},
    {"packets.pubcomp.received", ST_M_RX + MQTT_PUBCOMP},
    {"packets.pubcomp.sent", ST_M_TX + MQTT_PUBCOMP},
    {"packets.subscribe.received", ST_M_RX + MQTT_SUBSCRIBE},
    {"packets.suback.sent", ST_M_TX + MQTT_SUBACK},
    {"packets.unsubscribe.received", ST_M_RX + MQTT_UNSUBSCRIBE},
    {"packets.unsuback.sent", ST_M_TX + MQTT_UNSUBACK},
    {"packets.pingreq.received", ST_M_RX + MQTT_PINGREQ},
    {"packets.pingresp.sent", ST_M_TX + MQTT_PINGRESP},
    {"packets.disconnect.received", ST_M_RX + MQTT_DISCONNECT},
    {"packets.disconnect.sent", ST_M_TX + MQTT_DISCONNECT},
    {"packets.auth.received", ST_M_RX + MQTT_AUTH},
    {"packets.auth.sent", ST_M_TX + MQTT_AUTH},
};

static uint64_t sum(const uint64_t *v, int from, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += v[from + i];
    return t;
}

size_t st_metrics_named(const struct st_broker *b, st_metric_fig *out, size_t max)
{
    uint64_t v[ST_M_N], d[ST_DROP_REASONS];
    size_t n = 0;
    st_metrics_sum(b, v, d);
    /* a PUBLISH is counted once, by its QoS: the packets' counters are the sums */
    v[ST_M_RX + MQTT_PUBLISH] += sum(v, ST_M_MESSAGES_QOS0_RECEIVED, 3);
    v[ST_M_TX + MQTT_PUBLISH] += sum(v, ST_M_MESSAGES_QOS0_SENT, 3);
    for (int i = 0; st_metric_name(i); i++)
        put(out, &n, max, st_metric_name(i), v[i]);
    for (size_t i = 0; i < sizeof packets / sizeof packets[0]; i++)
        put(out, &n, max, packets[i].name, v[packets[i].slot]);
    uint64_t rx = sum(v, ST_M_MESSAGES_QOS0_RECEIVED, 3), tx = sum(v, ST_M_MESSAGES_QOS0_SENT, 3);
    uint64_t full = d[ST_DROP_QUEUE_OFFLINE] + d[ST_DROP_QUEUE_STUCK] + d[ST_DROP_QUEUE_CEILING];
    const st_metric_fig derived[] = {
        {"packets.received", sum(v, ST_M_RX, 16)},
        {"packets.sent", sum(v, ST_M_TX, 16)},
        {"messages.received", rx},
        {"messages.sent", tx},
        {"messages.publish", rx},
        {"messages.delivered", tx},
        {"messages.acked", v[ST_M_RX + MQTT_PUBACK] + v[ST_M_RX + MQTT_PUBCOMP]},
        {"messages.dropped", v[ST_M_MESSAGES_DROPPED_NO_SUBSCRIBERS]},
        {"delivery.dropped", sum(d, 0, ST_DROP_REASONS)},
        {"delivery.dropped.queue_full", full},
        {"delivery.dropped.qos0_msg", d[ST_DROP_QOS0_OFFLINE]},
        {"delivery.dropped.too_large", d[ST_DROP_TOO_LARGE]},
        {"client.connect", v[ST_M_RX + MQTT_CONNECT]},
        {"client.connack", v[ST_M_TX + MQTT_CONNACK]},
        {"client.subscribe", v[ST_M_RX + MQTT_SUBSCRIBE]},
        {"client.unsubscribe", v[ST_M_RX + MQTT_UNSUBSCRIBE]},
        {"client.authenticate", v[ST_M_AUTHENTICATION_SUCCESS] + v[ST_M_AUTHENTICATION_FAILURE]},
        {"client.authorize", v[ST_M_AUTHORIZATION_ALLOW] + v[ST_M_AUTHORIZATION_DENY]},
    };
    for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++)
        put(out, &n, max, derived[i].name, derived[i].v);
    return n;
}

size_t st_stats_named(struct st_broker *b, st_metric_fig *out, size_t max)
{
    st_stats st;
    size_t n = 0;
    st_stats_get(b, &st);
    put(out, &n, max, "connections.count", (uint64_t)st.connections);
    put(out, &n, max, "live_connections.count", (uint64_t)st.connections);
    put(out, &n, max, "channels.count", (uint64_t)st.connections);
    put(out, &n, max, "sessions.count", (uint64_t)st.sessions);
    put(out, &n, max, "subscriptions.count", (uint64_t)st.subscriptions);
    put(out, &n, max, "retained.count", (uint64_t)st.retained);
    return n;
}
