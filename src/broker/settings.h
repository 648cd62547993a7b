/* settings.h — the broker's typed view of its configuration, read once at start.
 * Hot paths read plain fields, never the config tree. */
#ifndef ST_SETTINGS_H
#define ST_SETTINGS_H

#include "net/cidr.h"
#include "net/tls.h"

#include <stdint.h>

#define ST_MAX_LISTENERS 8
#define ST_MAX_RULES 16
#define ST_UNLIMITED INT64_MAX

enum st_share_strategy {
    ST_SHARE_RANDOM,
    ST_SHARE_ROUND_ROBIN,
    ST_SHARE_ROUND_ROBIN_PER_GROUP,
    ST_SHARE_STICKY,
    ST_SHARE_LOCAL,
    ST_SHARE_HASH_TOPIC,
    ST_SHARE_HASH_CLIENTID,
};

typedef struct st_listener_conf {
    char name[64];
    char bind[128];
    int64_t max_connections; /* ST_UNLIMITED for infinity */
    uint8_t proxy_protocol;  /* a PROXY protocol v1/v2 header comes first (net/proxy.h) */
    int64_t proxy_timeout_ms;
    uint8_t tls; /* listeners.ssl and .wss: TLS (docs/transports.md) */
    uint8_t ws;  /* listeners.ws and .wss: WebSocket */
    char ws_path[128];
    char ws_addr_header[64], ws_port_header[64]; /* websocket.proxy_address/port_header */
    uint64_t ws_max_frame;
    int64_t handshake_timeout_ms;
    char bad_version[32]; /* ssl_options.versions named one we do not offer ("" : none) */
    uint8_t cert_as_username, cert_as_clientid; /* ST_CERT_* (net/tls.h): peer_cert_as_* */
    uint8_t authn_mode;                         /* enable_authn: ST_AUTHN_* (auth/auth.h) */
    uint8_t nrules;                             /* access_rules, in order */
    struct {
        uint8_t allow;
        st_cidr range;
    } rules[ST_MAX_RULES];
    char bad_rule[80];         /* an access rule that is none ("" : none) */
    int64_t rate_n, rate_ms;   /* max_conn_rate: rate_n connections per rate_ms (0: no limit) */
    int64_t msgs_n, msgs_ms;   /* messages_rate: PUBLISHes per client per msgs_ms (0: none) */
    int64_t bytes_n, bytes_ms; /* bytes_rate: bytes read per client per bytes_ms (0: none) */
    char bad_rate[40];         /* a rate that is none ("" : none), of bad_rate_key */
    const char *bad_rate_key;
    st_tls_opts tls_opts;
} st_listener_conf;

typedef struct st_settings {
    int workers;
    uint32_t max_packet_size;
    uint32_t max_clientid_len;
    uint32_t max_topic_levels;
    uint8_t max_qos_allowed;
    uint16_t max_topic_alias;
    uint8_t retain_available;
    uint8_t wildcard_subscription;
    uint8_t shared_subscription;
    uint8_t share_strategy;
    uint8_t ignore_loop_deliver;
    uint8_t upgrade_qos;
    uint8_t mqueue_store_qos0;
    uint8_t use_username_as_clientid;
    uint16_t server_keepalive; /* 0 = disabled */
    double keepalive_multiplier;
    int64_t retry_interval_ms; /* ST_UNLIMITED = never (v3 only) */
    uint16_t max_inflight;
    int64_t max_mqueue_len;   /* ST_UNLIMITED */
    int64_t max_awaiting_rel; /* ST_UNLIMITED */
    int64_t await_rel_timeout_ms;
    int64_t session_expiry_ms; /* for 3.x clean_session = 0 */
    int64_t message_expiry_ms; /* ST_UNLIMITED = none */
    int64_t max_subscriptions; /* ST_UNLIMITED */
    int64_t idle_timeout_ms;
    char response_information[256];
    char node_name[256];         /* node.name: the <node> of $SYS/brokers/<node>/... */
    int64_t sys_msg_interval_ms; /* 0: disabled */
    int64_t sys_heartbeat_ms;    /* 0: disabled */
    uint8_t sys_events;          /* ST_SYS_EV_* bits (sys.h) */
    uint8_t retainer_enable;
    uint8_t registry_strict;       /* cluster.registry_mode = strict: no CONNECT without quorum */
    int64_t max_retained_messages; /* 0 = unlimited */
    uint32_t retained_max_payload;
    int64_t retained_expiry_ms; /* 0 = never */
    int n_listeners;
    st_listener_conf listeners[ST_MAX_LISTENERS];
} st_settings;

/* "tcp", "ssl", "ws" or "wss". */
const char *st_listener_type(const st_listener_conf *l);

/* EMQX 5 defaults with one listener "default" on 0.0.0.0:1883. */
void st_settings_defaults(st_settings *s);

struct st_config;
/* <prefix>.ssl_options.* (a listener's, the dashboard's) into o; a version we do not offer is
 * named in bad_version ("" : none). */
void st_settings_tls(st_tls_opts *o, char *bad_version, size_t bcap, const struct st_config *c,
                     const char *prefix);
/* Only the keys both sides of a connection have (files, depth, versions, ciphers): the
 * cluster's, whose TLS is always mutual. */
void st_settings_tls_common(st_tls_opts *o, char *bad_version, size_t bcap,
                            const struct st_config *c, const char *prefix);
/* From a loaded, validated configuration (settings_conf.c). */
void st_settings_from_config(st_settings *s, const struct st_config *c);

#endif
