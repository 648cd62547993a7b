/* settings.c — defaults for st_settings (mirrors the config schema's defaults). */
#include "broker/settings.h"

#include <string.h>

void st_settings_defaults(st_settings *s)
{
    memset(s, 0, sizeof *s);
    s->workers = 0;
    s->max_packet_size = 1024 * 1024;
    s->max_clientid_len = 65535;
    s->max_topic_levels = 128;
    s->max_qos_allowed = 2;
    s->max_topic_alias = 65535;
    s->retain_available = 1;
    s->wildcard_subscription = 1;
    s->shared_subscription = 1;
    s->share_strategy = ST_SHARE_ROUND_ROBIN;
    s->mqueue_store_qos0 = 1;
    s->keepalive_multiplier = 1.5;
    s->retry_interval_ms = ST_UNLIMITED;
    s->max_inflight = 32;
    s->max_mqueue_len = 1000;
    s->max_awaiting_rel = 100;
    s->await_rel_timeout_ms = 300000;
    s->session_expiry_ms = 2 * 3600 * 1000;
    s->message_expiry_ms = ST_UNLIMITED;
    s->max_subscriptions = ST_UNLIMITED;
    s->idle_timeout_ms = 15000;
    s->retainer_enable = 1;
    s->retained_max_payload = 1024 * 1024;
    s->n_listeners = 1;
    strcpy(s->listeners[0].name, "default");
    strcpy(s->listeners[0].bind, "0.0.0.0:1883");
    s->listeners[0].max_connections = ST_UNLIMITED;
}

const char *st_listener_type(const st_listener_conf *l)
{
    return l->ws ? (l->tls ? "wss" : "ws") : (l->tls ? "ssl" : "tcp");
}
