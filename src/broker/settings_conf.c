/* settings_conf.c — fills st_settings from the validated configuration tree. */
#include "broker/settings.h"
#include "config/config.h"

#include <stdio.h>
#include <string.h>

static int64_t lim(int64_t v)
{
    return v == ST_CONFIG_INFINITY ? ST_UNLIMITED : v;
}

static const char *const strategies[] = {"random", "round_robin", "round_robin_per_group", "sticky",
                                         "local",  "hash_topic",  "hash_clientid"};

static uint8_t strategy(const char *s)
{
    for (size_t i = 0; i < sizeof strategies / sizeof *strategies; i++)
        if (strcmp(s, strategies[i]) == 0) return (uint8_t)i;
    return ST_SHARE_ROUND_ROBIN;
}

static void listeners(st_settings *s, const st_config *c)
{
    const char *names[ST_MAX_LISTENERS];
    size_t n = st_config_names(c, "listeners.tcp", names, ST_MAX_LISTENERS);
    char key[256];
    s->n_listeners = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "listeners.tcp.%s.enable", names[i]);
        if (!st_config_int(c, key)) continue;
        st_listener_conf *l = &s->listeners[s->n_listeners++];
        snprintf(l->name, sizeof l->name, "%s", names[i]);
        snprintf(key, sizeof key, "listeners.tcp.%s.bind", names[i]);
        snprintf(l->bind, sizeof l->bind, "%s", st_config_str(c, key));
        snprintf(key, sizeof key, "listeners.tcp.%s.max_connections", names[i]);
        l->max_connections = lim(st_config_int(c, key));
        snprintf(key, sizeof key, "listeners.tcp.%s.proxy_protocol", names[i]);
        l->proxy_protocol = (uint8_t)st_config_int(c, key);
        snprintf(key, sizeof key, "listeners.tcp.%s.proxy_protocol_timeout", names[i]);
        l->proxy_timeout_ms = st_config_int(c, key);
    }
}

void st_settings_from_config(st_settings *s, const st_config *c)
{
    st_settings_defaults(s);
    s->workers = (int)st_config_int(c, "node.worker_threads");
    s->max_packet_size = (uint32_t)st_config_int(c, "mqtt.max_packet_size");
    s->max_clientid_len = (uint32_t)st_config_int(c, "mqtt.max_clientid_len");
    s->max_topic_levels = (uint32_t)st_config_int(c, "mqtt.max_topic_levels");
    s->max_qos_allowed = (uint8_t)st_config_int(c, "mqtt.max_qos_allowed");
    s->max_topic_alias = (uint16_t)st_config_int(c, "mqtt.max_topic_alias");
    s->retain_available = (uint8_t)st_config_int(c, "mqtt.retain_available");
    s->wildcard_subscription = (uint8_t)st_config_int(c, "mqtt.wildcard_subscription");
    s->shared_subscription = (uint8_t)st_config_int(c, "mqtt.shared_subscription");
    s->share_strategy = strategy(st_config_str(c, "mqtt.shared_subscription_strategy"));
    s->ignore_loop_deliver = (uint8_t)st_config_int(c, "mqtt.ignore_loop_deliver");
    s->upgrade_qos = (uint8_t)st_config_int(c, "mqtt.upgrade_qos");
    s->mqueue_store_qos0 = (uint8_t)st_config_int(c, "mqtt.mqueue_store_qos0");
    s->use_username_as_clientid = (uint8_t)st_config_int(c, "mqtt.use_username_as_clientid");
    s->server_keepalive = (uint16_t)st_config_int(c, "mqtt.server_keepalive");
    s->keepalive_multiplier = st_config_float(c, "mqtt.keepalive_multiplier");
    s->retry_interval_ms = lim(st_config_int(c, "mqtt.retry_interval"));
    s->max_inflight = (uint16_t)st_config_int(c, "mqtt.max_inflight");
    s->max_mqueue_len = lim(st_config_int(c, "mqtt.max_mqueue_len"));
    if (s->max_mqueue_len == 0) s->max_mqueue_len = ST_UNLIMITED;
    s->max_awaiting_rel = lim(st_config_int(c, "mqtt.max_awaiting_rel"));
    s->await_rel_timeout_ms = st_config_int(c, "mqtt.await_rel_timeout");
    s->session_expiry_ms = lim(st_config_int(c, "mqtt.session_expiry_interval"));
    s->message_expiry_ms = lim(st_config_int(c, "mqtt.message_expiry_interval"));
    s->max_subscriptions = lim(st_config_int(c, "mqtt.max_subscriptions"));
    s->idle_timeout_ms = st_config_int(c, "mqtt.idle_timeout");
    snprintf(s->response_information, sizeof s->response_information, "%s",
             st_config_str(c, "mqtt.response_information"));
    s->retainer_enable = (uint8_t)st_config_int(c, "retainer.enable");
    s->registry_strict = strcmp(st_config_str(c, "cluster.registry_mode"), "strict") == 0;
    s->max_retained_messages = st_config_int(c, "retainer.max_retained_messages");
    s->retained_max_payload = (uint32_t)st_config_int(c, "retainer.max_payload_size");
    s->retained_expiry_ms = st_config_int(c, "retainer.msg_expiry_interval");
    listeners(s, c);
}
