/* settings_conf.c — fills st_settings from the validated configuration tree. */
#include "broker/settings.h"
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The value of listeners.<type>.<name>.<key>. */
static const char *lkey(char *buf, size_t cap, const char *type, const char *name, const char *k)
{
    snprintf(buf, cap, "listeners.%s.%s.%s", type, name, k);
    return buf;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* ssl_options.versions as a mask; a name we do not offer is kept for the error at start. */
/* <prefix>.ssl_options.<key> */
static const char *okey(char *buf, size_t cap, const char *prefix, const char *k)
{
    snprintf(buf, cap, "%s.ssl_options.%s", prefix, k);
    return buf;
}

void st_settings_tls_common(st_tls_opts *o, char *bad_version, size_t bcap, const st_config *c,
                            const char *prefix)
{
    char k[300];
    memset(o, 0, sizeof *o);
    bad_version[0] = 0;
    copy_str(o->certfile, sizeof o->certfile,
             st_config_str(c, okey(k, sizeof k, prefix, "certfile")));
    copy_str(o->keyfile, sizeof o->keyfile, st_config_str(c, okey(k, sizeof k, prefix, "keyfile")));
    copy_str(o->password, sizeof o->password,
             st_config_str(c, okey(k, sizeof k, prefix, "password")));
    copy_str(o->cacertfile, sizeof o->cacertfile,
             st_config_str(c, okey(k, sizeof k, prefix, "cacertfile")));
    o->depth = (int)st_config_int(c, okey(k, sizeof k, prefix, "depth"));
    const char *vk = okey(k, sizeof k, prefix, "versions");
    for (size_t i = 0, n = st_config_array_len(c, vk); i < n; i++) {
        const char *v = st_config_array_str(c, vk, i);
        if (strcmp(v, "tlsv1.3") == 0)
            o->versions |= ST_TLS_V13;
        else if (strcmp(v, "tlsv1.2") == 0)
            o->versions |= ST_TLS_V12;
        else if (!bad_version[0])
            copy_str(bad_version, bcap, v);
    }
    const char *ck = okey(k, sizeof k, prefix, "ciphers");
    for (size_t i = 0, n = st_config_array_len(c, ck); i < n; i++) {
        size_t len = strlen(o->ciphers);
        snprintf(o->ciphers + len, sizeof o->ciphers - len, "%s%s", len ? ":" : "",
                 st_config_array_str(c, ck, i));
    }
}

void st_settings_tls(st_tls_opts *o, char *bad_version, size_t bcap, const st_config *c,
                     const char *prefix)
{
    char k[300];
    st_settings_tls_common(o, bad_version, bcap, c, prefix);
    o->verify_peer =
        strcmp(st_config_str(c, okey(k, sizeof k, prefix, "verify")), "verify_peer") == 0;
    o->fail_if_no_peer_cert =
        (int)st_config_int(c, okey(k, sizeof k, prefix, "fail_if_no_peer_cert"));
    o->honor_cipher_order = (int)st_config_int(c, okey(k, sizeof k, prefix, "honor_cipher_order"));
}

static uint8_t cert_as(const char *v)
{
    static const char *const as[] = {"disabled", "cn", "dn", "crt", "pem", "md5"};
    for (uint8_t i = 0; i < 6; i++)
        if (strcmp(v, as[i]) == 0) return i;
    return 0;
}

static void tls_options(st_listener_conf *l, const st_config *c, const char *type, const char *name)
{
    char k[300], prefix[200];
    snprintf(prefix, sizeof prefix, "listeners.%s.%s", type, name);
    l->tls = 1;
    st_settings_tls(&l->tls_opts, l->bad_version, sizeof l->bad_version, c, prefix);
    l->cert_as_username =
        cert_as(st_config_str(c, lkey(k, sizeof k, type, name, "peer_cert_as_username")));
    l->cert_as_clientid =
        cert_as(st_config_str(c, lkey(k, sizeof k, type, name, "peer_cert_as_clientid")));
    l->handshake_timeout_ms = st_config_int(c, okey(k, sizeof k, prefix, "handshake_timeout"));
}

static void ws_options(st_listener_conf *l, const st_config *c, const char *type, const char *name)
{
    char k[300];
    l->ws = 1;
    copy_str(l->ws_path, sizeof l->ws_path,
             st_config_str(c, lkey(k, sizeof k, type, name, "websocket.mqtt_path")));
    copy_str(l->ws_addr_header, sizeof l->ws_addr_header,
             st_config_str(c, lkey(k, sizeof k, type, name, "websocket.proxy_address_header")));
    copy_str(l->ws_port_header, sizeof l->ws_port_header,
             st_config_str(c, lkey(k, sizeof k, type, name, "websocket.proxy_port_header")));
    l->ws_max_frame =
        (uint64_t)st_config_int(c, lkey(k, sizeof k, type, name, "websocket.max_frame_size"));
}

/* listeners.tcp, .ssl, .ws and .wss.<name>, in that order. */
/* A rate as EMQX writes it: "infinity" (0), or N/s, N/Ks, N/m, N/h; with bytes, N may be
 * a size (1024-based KB, MB, GB). 0, or -1 when it is none. */
static int parse_rate(const char *v, int bytes, int64_t *n_out, int64_t *ms_out)
{
    char *end, *unit;
    *n_out = *ms_out = 0;
    if (strcmp(v, "infinity") == 0) return 0;
    long long n = strtoll(v, &end, 10);
    if (bytes && end != v) {
        static const struct {
            const char *suffix;
            long long mul;
        } sizes[] = {{"KB", 1024}, {"MB", 1024 * 1024}, {"GB", 1024LL * 1024 * 1024}, {"B", 1}};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t l = strlen(sizes[i].suffix);
            if (strncasecmp(end, sizes[i].suffix, l) == 0) {
                n *= sizes[i].mul;
                end += l;
                break;
            }
        }
    }
    long long k = *end == '/' && end[1] >= '0' && end[1] <= '9' ? strtoll(end + 1, &unit, 10) : 1;
    if (*end == '/' && !(end[1] >= '0' && end[1] <= '9')) unit = end + 1;
    int64_t ms = *end != '/'              ? 0
                 : strcmp(unit, "s") == 0 ? 1000
                 : strcmp(unit, "m") == 0 ? 60000
                 : strcmp(unit, "h") == 0 ? 3600000
                                          : 0;
    if (n <= 0 || k <= 0 || !ms) return -1;
    *n_out = n;
    *ms_out = ms * k;
    return 0;
}

/* max_conn_rate, messages_rate, bytes_rate: a bad one is kept to be reported at start. */
static void rates(st_listener_conf *l, const st_config *c, const char *type, const char *name)
{
    static const char *keys[] = {"max_conn_rate", "messages_rate", "bytes_rate"};
    int64_t *dst[][2] = {
        {&l->rate_n, &l->rate_ms}, {&l->msgs_n, &l->msgs_ms}, {&l->bytes_n, &l->bytes_ms}};
    char k[200];
    for (int i = 0; i < 3; i++) {
        const char *v = st_config_str(c, lkey(k, sizeof k, type, name, keys[i]));
        if (parse_rate(v, i == 2, dst[i][0], dst[i][1]) < 0 && !l->bad_rate[0]) {
            copy_str(l->bad_rate, sizeof l->bad_rate, v);
            l->bad_rate_key = keys[i];
        }
    }
}

/* access_rules: "allow|deny <address[/prefix]>|all", EMQX's (esockd's) form. */
static void access_rules(st_listener_conf *l, const st_config *c, const char *key)
{
    size_t n = st_config_array_len(c, key);
    for (size_t i = 0; i < n && !l->bad_rule[0]; i++) {
        const char *r = st_config_array_str(c, key, i);
        const char *sp = strchr(r, ' ');
        int allow = sp && (size_t)(sp - r) == 5 && strncmp(r, "allow", 5) == 0;
        int deny = sp && (size_t)(sp - r) == 4 && strncmp(r, "deny", 4) == 0;
        if ((!allow && !deny) || l->nrules == ST_MAX_RULES ||
            st_cidr_parse(sp + 1, &l->rules[l->nrules].range) < 0) {
            copy_str(l->bad_rule, sizeof l->bad_rule, r);
            return;
        }
        l->rules[l->nrules++].allow = (uint8_t)allow;
    }
}

static void listeners(st_settings *s, const st_config *c)
{
    static const char *const types[] = {"tcp", "ssl", "ws", "wss"};
    char k[300];
    s->n_listeners = 0;
    for (int t = 0; t < 4; t++) {
        const char *names[ST_MAX_LISTENERS];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "listeners.%s", types[t]);
        size_t n = st_config_names(c, prefix, names, ST_MAX_LISTENERS);
        for (size_t i = 0; i < n && s->n_listeners < ST_MAX_LISTENERS; i++) {
            if (!st_config_int(c, lkey(k, sizeof k, types[t], names[i], "enable"))) continue;
            st_listener_conf *l = &s->listeners[s->n_listeners++];
            memset(l, 0, sizeof *l);
            copy_str(l->name, sizeof l->name, names[i]);
            copy_str(l->bind, sizeof l->bind,
                     st_config_str(c, lkey(k, sizeof k, types[t], names[i], "bind")));
            l->max_connections =
                lim(st_config_int(c, lkey(k, sizeof k, types[t], names[i], "max_connections")));
            l->proxy_protocol =
                (uint8_t)st_config_int(c, lkey(k, sizeof k, types[t], names[i], "proxy_protocol"));
            l->proxy_timeout_ms =
                st_config_int(c, lkey(k, sizeof k, types[t], names[i], "proxy_protocol_timeout"));
            l->authn_mode =
                (uint8_t)st_config_int(c, lkey(k, sizeof k, types[t], names[i], "enable_authn"));
            access_rules(l, c, lkey(k, sizeof k, types[t], names[i], "access_rules"));
            rates(l, c, types[t], names[i]);
            if (t == 1 || t == 3) tls_options(l, c, types[t], names[i]);
            if (t >= 2) ws_options(l, c, types[t], names[i]);
        }
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
    snprintf(s->node_name, sizeof s->node_name, "%s", st_config_str(c, "node.name"));
    s->sys_msg_interval_ms = st_config_int(c, "sys_topics.sys_msg_interval");
    s->sys_heartbeat_ms = st_config_int(c, "sys_topics.sys_heartbeat_interval");
    static const char *const ev[] = {"connected", "disconnected", "subscribed", "unsubscribed"};
    char key[80];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "sys_topics.sys_event_messages.client_%s", ev[i]);
        if (st_config_int(c, key)) s->sys_events |= (uint8_t)(1u << i);
    }
    snprintf(s->response_information, sizeof s->response_information, "%s",
             st_config_str(c, "mqtt.response_information"));
    s->retainer_enable = (uint8_t)st_config_int(c, "retainer.enable");
    s->registry_strict = strcmp(st_config_str(c, "cluster.registry_mode"), "strict") == 0;
    s->max_retained_messages = st_config_int(c, "retainer.max_retained_messages");
    s->retained_max_payload = (uint32_t)st_config_int(c, "retainer.max_payload_size");
    s->retained_expiry_ms = st_config_int(c, "retainer.msg_expiry_interval");
    listeners(s, c);
}
