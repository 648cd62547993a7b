/* sys.c — the $SYS topics (sys.h). */
#include "broker/sys.h"
#include "broker/client.h"
#include "broker/inject.h"
#include "broker/metrics.h"
#include "core/alarm.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct st_sys {
    char version[32];
    st_sys_nodes_fn nodes;
    void *ctx;
    int64_t started, next_msg, next_beat; /* monotonic ms (worker 0's loop) */
};

int st_sys_setup(st_broker *b, const char *version, st_sys_nodes_fn nodes, void *ctx)
{
    struct st_sys *s = calloc(1, sizeof *s);
    if (!s) return ST_ENOMEM;
    snprintf(s->version, sizeof s->version, "%s", version);
    s->nodes = nodes;
    s->ctx = ctx;
    s->started = st_now_ms();
    b->sys = s;
    return 0;
}

void st_sys_free(st_broker *b)
{
    free(b->sys);
    b->sys = NULL;
}

static void publish(st_worker *w, const char *topic, const char *payload, size_t len, int retain)
{
    st_msg *m = st_msg_new(topic, (uint32_t)strlen(topic), (const uint8_t *)payload, (uint32_t)len,
                           NULL, 0, (uint8_t)retain, st_loop_now(w->loop), 0);
    if (!m) return;
    st_worker_publish(w, m);
    st_msg_unref(m);
}

static void publish_str(st_worker *w, const char *topic, const char *payload, int retain)
{
    publish(w, topic, payload, strlen(payload), retain);
}

/* Each figure as $SYS/brokers/<node>/<kind>/<name with '.' as '/'>. */
static void figures(st_worker *w, const char *kind, const st_metric_fig *v, size_t n)
{
    char topic[512], num[32];
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(topic, sizeof topic, "$SYS/brokers/%s/%s/%s", w->cfg->node_name, kind,
                         v[i].name);
        for (int j = (int)strlen(topic) - (int)strlen(v[i].name); j < k && j < (int)sizeof topic;
             j++)
            if (topic[j] == '.') topic[j] = '/';
        snprintf(num, sizeof num, "%llu", (unsigned long long)v[i].v);
        publish_str(w, topic, num, 0);
    }
}

static void messages(st_worker *w, struct st_sys *s)
{
    char topic[512], nodes[4096];
    if (s->nodes)
        s->nodes(s->ctx, nodes, sizeof nodes);
    else
        snprintf(nodes, sizeof nodes, "%s", w->cfg->node_name);
    publish_str(w, "$SYS/brokers", nodes, 1);
    snprintf(topic, sizeof topic, "$SYS/brokers/%s/version", w->cfg->node_name);
    publish_str(w, topic, s->version, 1);
    snprintf(topic, sizeof topic, "$SYS/brokers/%s/sysdescr", w->cfg->node_name);
    publish_str(w, topic, "Starling", 1);
    st_metric_fig *v = malloc(ST_METRICS_NAMED * sizeof *v);
    if (!v) return;
    figures(w, "stats", v, st_stats_named(w->b, v, ST_METRICS_NAMED));
    figures(w, "metrics", v, st_metrics_named(w->b, v, ST_METRICS_NAMED));
    free(v);
}

/* RFC 3339 local time with microseconds, as EMQX's datetime. */
static void datetime(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char base[40], zone[8];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(zone, sizeof zone, "%z", &tm); /* +hhmm */
    snprintf(out, cap, "%s.%06ld%.3s:%.2s", base, ts.tv_nsec / 1000, zone, zone + 3);
}

static void heartbeat(st_worker *w, struct st_sys *s)
{
    char topic[512], v[64];
    snprintf(topic, sizeof topic, "$SYS/brokers/%s/uptime", w->cfg->node_name);
    snprintf(v, sizeof v, "%lld", (long long)(st_now_ms() - s->started));
    publish_str(w, topic, v, 0);
    snprintf(topic, sizeof topic, "$SYS/brokers/%s/datetime", w->cfg->node_name);
    datetime(v, sizeof v);
    publish_str(w, topic, v, 0);
}

void st_sys_tick(st_worker *w, int64_t now)
{
    struct st_sys *s = w->b->sys;
    const st_settings *cfg = w->cfg;
    if (!s) return;
    /* an interval shortened at run time (docs/operations.md) counts from now */
    if (s->next_beat > now + cfg->sys_heartbeat_ms) s->next_beat = now + cfg->sys_heartbeat_ms;
    if (s->next_msg > now + cfg->sys_msg_interval_ms) s->next_msg = now + cfg->sys_msg_interval_ms;
    if (cfg->sys_heartbeat_ms && now >= s->next_beat) {
        s->next_beat = now + cfg->sys_heartbeat_ms;
        heartbeat(w, s);
    }
    if (cfg->sys_msg_interval_ms && now >= s->next_msg) {
        s->next_msg = now + cfg->sys_msg_interval_ms;
        messages(w, s);
    }
}

/* ---- events ---------------------------------------------------------------------------- */

static void buf_put(void *ctx, const char *p, size_t n)
{
    st_buf_put(ctx, p, n);
}

static void json_str(st_buf *b, const char *s, size_t n)
{
    st_json_quote(s, n, buf_put, b);
}

static void json_raw(st_buf *b, const char *fmt, long long v)
{
    char t[96];
    int n = snprintf(t, sizeof t, fmt, v);
    st_buf_put(b, t, (size_t)n);
}

/* The fields every event has: clientid, username, and for connections their address. */
static void common(st_buf *b, const st_client *c, int conn)
{
    const st_session *s = c->sess;
    st_buf_put(b, "{\"clientid\":", 12);
    json_str(b, s->cid, s->cid_len);
    st_buf_put(b, ",\"username\":", 12);
    const char *u = c->x->username ? c->x->username : "undefined"; /* EMQX's, as it is */
    json_str(b, u, strlen(u));
    json_raw(b, ",\"ts\":%lld", st_wall_ms());
    st_buf_put(b, ",\"protocol\":\"mqtt\"", 18);
    if (!conn) return;
    char ip[48];
    int port;
    st_client_peer_split(c->peer, ip, sizeof ip, &port);
    st_buf_put(b, ",\"ipaddress\":", 13);
    json_str(b, ip, strlen(ip));
    const char *bind = c->w->cfg->listeners[c->listener].bind, *colon = strrchr(bind, ':');
    json_raw(b, ",\"sockport\":%lld", colon ? atoll(colon + 1) : 0);
    st_buf_put(b, c->version == 3 ? ",\"proto_name\":\"MQIsdp\"" : ",\"proto_name\":\"MQTT\"",
               c->version == 3 ? 22 : 20);
    json_raw(b, ",\"proto_ver\":%lld", c->version);
    int64_t at = st_wall_ms() - (st_loop_now(c->w->loop) - c->created);
    json_raw(b, ",\"connected_at\":%lld", at);
}

static void event(st_worker *w, const st_client *c, const char *what, st_buf *b)
{
    char topic[512];
    const st_session *s = c->sess;
    snprintf(topic, sizeof topic, "$SYS/brokers/%s/clients/%.*s/%s", w->cfg->node_name,
             (int)s->cid_len, s->cid, what);
    st_buf_put(b, "}", 1);
    if (!b->oom) publish(w, topic, (const char *)b->p, b->len, 0);
    st_buf_free(b);
}

void st_sys_connected(st_worker *w, const st_client *c)
{
    if (!(w->cfg->sys_events & ST_SYS_EV_CONNECTED) || !c->sess) return;
    st_buf b = {0};
    common(&b, c, 1);
    json_raw(&b, ",\"keepalive\":%lld", c->keepalive_s);
    st_buf_put(&b, c->clean_start ? ",\"clean_start\":true" : ",\"clean_start\":false",
               c->clean_start ? 19 : 20);
    int64_t e = c->sess->expiry_ms;
    json_raw(&b, ",\"expiry_interval\":%lld", e == INT64_MAX ? 4294967295000LL : e);
    event(w, c, "connected", &b);
}

void st_sys_disconnected(st_worker *w, const st_client *c, const char *reason)
{
    if (!(w->cfg->sys_events & ST_SYS_EV_DISCONNECTED) || !c->sess) return;
    st_buf b = {0};
    common(&b, c, 1);
    st_buf_put(&b, ",\"reason\":", 10);
    json_str(&b, reason, strlen(reason));
    json_raw(&b, ",\"disconnected_at\":%lld", st_wall_ms());
    event(w, c, "disconnected", &b);
}

void st_sys_subscribed(st_worker *w, const st_client *c, const char *filter, size_t len, int qos,
                       int unsub)
{
    if (!(w->cfg->sys_events & (unsub ? ST_SYS_EV_UNSUBSCRIBED : ST_SYS_EV_SUBSCRIBED)) || !c->sess)
        return;
    st_buf b = {0};
    common(&b, c, 0);
    st_buf_put(&b, ",\"topic\":", 9);
    json_str(&b, filter, len);
    if (!unsub) json_raw(&b, ",\"subopts\":{\"qos\":%lld}", qos);
    event(w, c, unsub ? "unsubscribed" : "subscribed", &b);
}

/* ---- alarms ------------------------------------------------------------------------------ */

void st_sys_alarm(st_broker *b, const st_alarm *al, int active)
{
    char topic[512];
    snprintf(topic, sizeof topic, "$SYS/brokers/%s/alarms/%s", b->cfg.node_name,
             active ? "activate" : "deactivate");
    st_buf p = {0};
    st_buf_put(&p, "{\"name\":", 8);
    json_str(&p, al->name, strlen(al->name));
    st_buf_put(&p, ",\"message\":", 11);
    json_str(&p, al->message, strlen(al->message));
    st_buf_put(&p, ",\"details\":", 11);
    st_buf_put(&p, al->details[0] ? al->details : "{}", al->details[0] ? strlen(al->details) : 2);
    st_buf_put(&p, active ? ",\"activated\":true" : ",\"activated\":false", active ? 17 : 18);
    json_raw(&p, ",\"activate_at\":%lld", (long long)al->activate_at_ms * 1000); /* us, as EMQX */
    if (!active) json_raw(&p, ",\"deactivate_at\":%lld", (long long)al->deactivate_at_ms * 1000);
    st_buf_put(&p, "}", 1);
    st_msg *m = p.oom ? NULL
                      : st_msg_new(topic, (uint32_t)strlen(topic), p.p, (uint32_t)p.len, NULL, 0, 0,
                                   st_now_ms(), 0);
    st_inject_result r;
    if (m) st_inject(b, m, 0, &r); /* not waited for: the worker publishes it when it runs */
    st_msg_unref(m);
    st_buf_free(&p);
}
