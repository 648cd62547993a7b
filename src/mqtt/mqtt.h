/* mqtt.h — the MQTT 3.1 / 3.1.1 / 5.0 codec: bytes in, structs out, and back.
 *
 * Pure: no sockets, no allocation, no globals. Decoded packets are zero-copy: every
 * st_bytes in a decoded mqtt_packet points into the caller's input buffer and is valid
 * only while that buffer is. Variable-length lists (SUBSCRIBE entries, UNSUBSCRIBE
 * filters, SUBACK/UNSUBACK reason codes, user properties) are kept as validated raw
 * byte ranges and walked with the iterators below, so decoding never allocates.
 *
 * Errors: decoders return bytes consumed (>0), 0 for "need more bytes", or a negative
 * ST_E* code (core/err.h). mqtt_err_reason() maps an ST_E* code to the MQTT 5 reason
 * code the server must send — the one place where that mapping lives. */
#ifndef ST_MQTT_H
#define ST_MQTT_H

#include "core/bytes.h"

#include <stddef.h>
#include <stdint.h>

enum mqtt_version { MQTT_V31 = 3, MQTT_V311 = 4, MQTT_V5 = 5 };

enum mqtt_type {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_PUBACK = 4,
    MQTT_PUBREC = 5,
    MQTT_PUBREL = 6,
    MQTT_PUBCOMP = 7,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_UNSUBSCRIBE = 10,
    MQTT_UNSUBACK = 11,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14,
    MQTT_AUTH = 15,
};

/* MQTT 5 reason codes (also used internally for 3.x, where they are mapped down). */
enum mqtt_reason {
    MQTT_RC_SUCCESS = 0x00, /* also normal disconnection, granted QoS 0 */
    MQTT_RC_GRANTED_QOS1 = 0x01,
    MQTT_RC_GRANTED_QOS2 = 0x02,
    MQTT_RC_DISCONNECT_WITH_WILL = 0x04,
    MQTT_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
    MQTT_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
    MQTT_RC_CONTINUE_AUTH = 0x18,
    MQTT_RC_REAUTHENTICATE = 0x19,
    MQTT_RC_UNSPECIFIED = 0x80,
    MQTT_RC_MALFORMED = 0x81,
    MQTT_RC_PROTOCOL_ERROR = 0x82,
    MQTT_RC_IMPL_SPECIFIC = 0x83,
    MQTT_RC_UNSUPPORTED_VERSION = 0x84,
    MQTT_RC_CLIENT_ID_INVALID = 0x85,
    MQTT_RC_BAD_USER_OR_PASS = 0x86,
    MQTT_RC_NOT_AUTHORIZED = 0x87,
    MQTT_RC_SERVER_UNAVAILABLE = 0x88,
    MQTT_RC_SERVER_BUSY = 0x89,
    MQTT_RC_BANNED = 0x8A,
    MQTT_RC_SERVER_SHUTTING_DOWN = 0x8B,
    MQTT_RC_BAD_AUTH_METHOD = 0x8C,
    MQTT_RC_KEEPALIVE_TIMEOUT = 0x8D,
    MQTT_RC_SESSION_TAKEN_OVER = 0x8E,
    MQTT_RC_TOPIC_FILTER_INVALID = 0x8F,
    MQTT_RC_TOPIC_NAME_INVALID = 0x90,
    MQTT_RC_PACKET_ID_IN_USE = 0x91,
    MQTT_RC_PACKET_ID_NOT_FOUND = 0x92,
    MQTT_RC_RECEIVE_MAX_EXCEEDED = 0x93,
    MQTT_RC_TOPIC_ALIAS_INVALID = 0x94,
    MQTT_RC_PACKET_TOO_LARGE = 0x95,
    MQTT_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
    MQTT_RC_QUOTA_EXCEEDED = 0x97,
    MQTT_RC_ADMIN_ACTION = 0x98,
    MQTT_RC_PAYLOAD_FORMAT_INVALID = 0x99,
    MQTT_RC_RETAIN_NOT_SUPPORTED = 0x9A,
    MQTT_RC_QOS_NOT_SUPPORTED = 0x9B,
    MQTT_RC_USE_ANOTHER_SERVER = 0x9C,
    MQTT_RC_SERVER_MOVED = 0x9D,
    MQTT_RC_SHARED_SUB_NOT_SUPPORTED = 0x9E,
    MQTT_RC_CONNECTION_RATE_EXCEEDED = 0x9F,
    MQTT_RC_MAX_CONNECT_TIME = 0xA0,
    MQTT_RC_SUB_ID_NOT_SUPPORTED = 0xA1,
    MQTT_RC_WILDCARD_SUB_NOT_SUPPORTED = 0xA2,
};

/* MQTT 3.1.1 CONNACK return codes. */
enum mqtt_connack_v3 {
    MQTT_V3_ACCEPTED = 0,
    MQTT_V3_BAD_VERSION = 1,
    MQTT_V3_ID_REJECTED = 2,
    MQTT_V3_SERVER_UNAVAILABLE = 3,
    MQTT_V3_BAD_USER_OR_PASS = 4,
    MQTT_V3_NOT_AUTHORIZED = 5,
};

/* Map an MQTT 5 CONNACK reason code to the 3.1.1 return code. */
uint8_t mqtt_connack_v3_code(uint8_t reason5);

/* Map an ST_E* error (from the decoder or the broker) to the MQTT 5 reason code. */
uint8_t mqtt_err_reason(int err);

/* Property identifiers (MQTT 5 §2.2.2.2). */
enum mqtt_prop_id {
    MQTT_PROP_PAYLOAD_FORMAT = 0x01,
    MQTT_PROP_MESSAGE_EXPIRY = 0x02,
    MQTT_PROP_CONTENT_TYPE = 0x03,
    MQTT_PROP_RESPONSE_TOPIC = 0x08,
    MQTT_PROP_CORRELATION_DATA = 0x09,
    MQTT_PROP_SUBSCRIPTION_ID = 0x0B,
    MQTT_PROP_SESSION_EXPIRY = 0x11,
    MQTT_PROP_ASSIGNED_CLIENT_ID = 0x12,
    MQTT_PROP_SERVER_KEEPALIVE = 0x13,
    MQTT_PROP_AUTH_METHOD = 0x15,
    MQTT_PROP_AUTH_DATA = 0x16,
    MQTT_PROP_REQUEST_PROBLEM_INFO = 0x17,
    MQTT_PROP_WILL_DELAY = 0x18,
    MQTT_PROP_REQUEST_RESPONSE_INFO = 0x19,
    MQTT_PROP_RESPONSE_INFO = 0x1A,
    MQTT_PROP_SERVER_REFERENCE = 0x1C,
    MQTT_PROP_REASON_STRING = 0x1F,
    MQTT_PROP_RECEIVE_MAX = 0x21,
    MQTT_PROP_TOPIC_ALIAS_MAX = 0x22,
    MQTT_PROP_TOPIC_ALIAS = 0x23,
    MQTT_PROP_MAX_QOS = 0x24,
    MQTT_PROP_RETAIN_AVAILABLE = 0x25,
    MQTT_PROP_USER = 0x26,
    MQTT_PROP_MAX_PACKET_SIZE = 0x27,
    MQTT_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
    MQTT_PROP_SUB_ID_AVAILABLE = 0x29,
    MQTT_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

/* Bit for property id in mqtt_props.present: MQTT_HAS(MQTT_PROP_x). All ids are < 64. */
#define MQTT_HAS(id) ((uint64_t)1 << (id))

#define MQTT_MAX_SUB_IDS 8 /* subscription ids carried in one outgoing PUBLISH */

/* The properties of one packet. A field is meaningful only when its bit is set in
 * `present` (except sub_ids, counted by n_sub_ids, and user, which may be empty).
 * `user` is the raw encoded run of User Property entries (each: 0x26, key string,
 * value string), in order, exactly as on the wire; walk it with mqtt_user_prop_next()
 * and it can be copied verbatim into an outgoing packet. When a sender interleaved other
 * properties between its user properties, the decoded range (first to last User Property)
 * contains them too: mqtt_user_prop_next and the encoder skip every non-user entry, so
 * always go through them (or mqtt_encode) rather than splicing the bytes by hand. */
typedef struct mqtt_props {
    uint64_t present;
    uint8_t payload_format;
    uint32_t message_expiry;
    st_bytes content_type;
    st_bytes response_topic;
    st_bytes correlation_data;
    uint32_t sub_ids[MQTT_MAX_SUB_IDS];
    uint8_t n_sub_ids;
    uint32_t session_expiry;
    st_bytes assigned_client_id;
    uint16_t server_keepalive;
    st_bytes auth_method;
    st_bytes auth_data;
    uint8_t request_problem_info;
    uint32_t will_delay;
    uint8_t request_response_info;
    st_bytes response_info;
    st_bytes server_reference;
    st_bytes reason_string;
    uint16_t receive_max;
    uint16_t topic_alias_max;
    uint16_t topic_alias;
    uint8_t max_qos;
    uint8_t retain_available;
    uint32_t max_packet_size;
    uint8_t wildcard_sub_available;
    uint8_t sub_id_available;
    uint8_t shared_sub_available;
    st_bytes user; /* raw run of user property entries */
} mqtt_props;

/* Walk user properties: *off starts at 0. Returns 1 and fills key/val, or 0 at the end. */
int mqtt_user_prop_next(st_bytes user, uint32_t *off, st_bytes *key, st_bytes *val);

/* CONNECT flags as decoded. */
typedef struct mqtt_connect {
    st_bytes protocol_name;
    uint8_t level; /* 3, 4 or 5 */
    uint8_t clean_start;
    uint8_t will_flag, will_qos, will_retain;
    uint8_t has_username, has_password;
    uint16_t keepalive;
    st_bytes client_id;
    mqtt_props will_props; /* v5 only */
    st_bytes will_topic;
    st_bytes will_payload;
    st_bytes username;
    st_bytes password;
} mqtt_connect;

typedef struct mqtt_publish {
    st_bytes topic; /* may be empty in v5 when a topic alias is used */
    st_bytes payload;
    uint8_t qos, retain, dup;
} mqtt_publish;

/* SUBSCRIBE entries / UNSUBSCRIBE filters / SUBACK+UNSUBACK reason codes, raw. */
typedef struct mqtt_list {
    st_bytes raw;
    uint16_t count;
} mqtt_list;

/* Subscription options byte (MQTT 5 §3.8.3.1); for 3.x only qos is set. */
typedef struct mqtt_subopts {
    uint8_t qos;
    uint8_t no_local;
    uint8_t retain_as_published;
    uint8_t retain_handling; /* 0, 1, 2 */
} mqtt_subopts;

/* Walk SUBSCRIBE entries: *off starts at 0. Returns 1 with filter+opts, 0 at end. */
int mqtt_sub_next(const mqtt_list *l, uint32_t *off, st_bytes *filter, mqtt_subopts *opts);
/* Walk UNSUBSCRIBE filters: returns 1 with filter, 0 at end. */
int mqtt_unsub_next(const mqtt_list *l, uint32_t *off, st_bytes *filter);

typedef struct mqtt_packet {
    uint8_t type;    /* enum mqtt_type */
    uint8_t flags;   /* low nibble of the fixed header */
    uint8_t version; /* the protocol version the packet was decoded/encoded with */
    uint16_t packet_id;
    uint8_t reason;          /* CONNACK, PUBACK..PUBCOMP, DISCONNECT, AUTH (v5) */
    uint8_t session_present; /* CONNACK */
    mqtt_props props;        /* v5 properties of the packet */
    union {
        mqtt_connect connect;
        mqtt_publish publish;
        mqtt_list subscribe;   /* entries: filter + options byte */
        mqtt_list unsubscribe; /* filters */
        mqtt_list acks;        /* SUBACK / UNSUBACK reason codes, one byte each */
    } u;
} mqtt_packet;

/* Decoder limits and the connection's protocol version. */
typedef struct mqtt_dec_opts {
    uint8_t version;          /* 0 before CONNECT: only CONNECT is accepted then */
    uint32_t max_packet_size; /* total packet size incl. fixed header; 0 = protocol max */
    uint8_t is_server;        /* 1: decoding packets sent by a client */
} mqtt_dec_opts;

/* Read the fixed header. Returns header length (2..5) with *type_flags (first byte) and
 * *remaining set, 0 when more bytes are needed, ST_EMALFORMED on a bad varint. */
int mqtt_fixed_header(const uint8_t *buf, size_t len, uint8_t *type_flags, uint32_t *remaining);

/* Decode one packet from buf. Returns bytes consumed (>0), 0 if the packet is not complete
 * (but returns ST_ETOOLARGE as soon as the header shows it exceeds max_packet_size), or a
 * negative ST_E* code. Validates everything the spec makes a MUST: reserved flag bits,
 * UTF-8 well-formedness (no U+0000, no surrogates), property ids allowed for the packet
 * type, duplicate properties, packet id 0 where an id is required, topic name syntax
 * (filter syntax: see below), empty SUBSCRIBE/UNSUBSCRIBE, QoS 3, trailing garbage. For a CONNECT
 * with a protocol level other than 3/4/5 it returns ST_EVERSION (out->u.connect.level is set).
 *
 * Details of this implementation the broker can rely on:
 * - SUBSCRIBE/UNSUBSCRIBE filters are checked for framing and UTF-8 only (bad UTF-8 fails
 *   the packet with ST_EUTF8); filter syntax (wildcard placement, $share/$queue form, empty
 *   filter) is NOT checked, because v5 answers a bad filter with SUBACK 0x8F (3.x: 0x80)
 *   instead of disconnecting: call mqtt_topic_filter_check() on each entry. The v5 rule
 *   "No Local on a shared subscription is a Protocol Error" is likewise left to the broker.
 * - Direction is enforced: with is_server a packet only a server sends (CONNACK, SUBACK,
 *   UNSUBACK, PINGRESP) is ST_EPROTO, and without it one only a client sends. With
 *   version 0 only CONNECT is accepted, in either mode (so a client must set version).
 * - Packet id 0 where one is required → ST_EPROTO. AUTH before v5 → ST_EPROTO. A CONNECT
 *   protocol name other than "MQTT"/"MQIsdp" → ST_EPROTO; "MQIsdp" must carry level 3 and
 *   "MQTT" level 4 or 5, else ST_EVERSION. Reserved/flag-bit violations, QoS 3, trailing
 *   bytes and non-minimal variable byte integers → ST_EMALFORMED. An invalid will topic or
 *   PUBLISH topic → ST_ETOPIC (bad UTF-8 → ST_EUTF8); an empty PUBLISH topic without a v5
 *   Topic Alias → ST_EPROTO. Empty SUBSCRIBE/UNSUBSCRIBE/SUBACK list → ST_EPROTO; a list of
 *   more than 65535 entries → ST_EFULL. Property errors: see mqtt_props_decode().
 * - CONNECT sets out->version to the packet's own level; other packets get opts->version.
 * - Reason code values in acks are not checked against the per-packet lists. */
long mqtt_decode(const uint8_t *buf, size_t len, const mqtt_dec_opts *opts, mqtt_packet *out);

/* Encode a whole packet for version pkt->version into buf. Returns the total packet size;
 * writes nothing if cap is smaller (call again with a larger buffer). Properties are
 * written only for v5. For PUBLISH the payload is copied too; use mqtt_encode_publish_head
 * on the hot path. SUBSCRIBE/UNSUBSCRIBE/SUBACK/UNSUBACK take u.subscribe.raw etc. as the
 * already-encoded list body. Returns ST_EINVAL for an impossible packet (bad version,
 * QoS 3, AUTH before v5, a string over 65535 bytes, a packet over the protocol maximum);
 * semantics (packet id 0, topic syntax, property placement) are the caller's. Reason and
 * properties of v5 PUBACK..PUBCOMP/DISCONNECT/AUTH are omitted when reason is 0 and there
 * are no properties. */
long mqtt_encode(const mqtt_packet *pkt, uint8_t *buf, size_t cap);

/* Encode a PUBLISH up to (not including) the payload: fixed header (remaining length counts
 * payload_len), topic, packet id (qos > 0), v5 properties. Same return rule as mqtt_encode,
 * except that the size returned (and written) is the head's only, without the payload;
 * the caller sends the payload from its own buffer right after (writev). props may be NULL. */
long mqtt_encode_publish_head(uint8_t version, const mqtt_publish *pub, uint16_t packet_id,
                              const mqtt_props *props, uint32_t payload_len, uint8_t *buf,
                              size_t cap);

/* Decode one v5 property block (length varint + properties) found in a packet of `type`
 * (enum mqtt_type; 0 means the will properties of a CONNECT); is_server as in mqtt_dec_opts.
 * Returns bytes consumed (>0) or a negative ST_E* — never 0: the block must be complete.
 * Unknown id, or an id not valid in this packet (§2.2.2.2) → ST_EMALFORMED; a duplicate,
 * or a forbidden value (0 for receive max / max packet size / topic alias / subscription
 * id, >1 for the 0/1 bytes, auth data without auth method) → ST_EPROTO; more than MQTT_MAX_SUB_IDS
 * subscription ids → ST_EFULL. */
long mqtt_props_decode(const uint8_t *buf, size_t len, uint8_t type, uint8_t is_server,
                       mqtt_props *out);

/* Encode a property block (length varint + body) into buf. Same return rule as mqtt_encode.
 * Writes fields whose `present` bit is set, all n_sub_ids subscription ids, then the user
 * properties in order (only the User Property entries of `user` are written). */
long mqtt_props_encode(const mqtt_props *props, uint8_t *buf, size_t cap);

/* Size of the encoded property block body (without its own length varint). */
uint32_t mqtt_props_size(const mqtt_props *props);

/* Variable byte integer helpers. */
int mqtt_varint_size(uint32_t v);              /* 1..4 */
int mqtt_varint_put(uint8_t *buf, uint32_t v); /* bytes written; v <= 268435455 */

/* Validation (also used by the broker on its own inputs). Return 0 or a negative ST_E*. */
int mqtt_utf8_check(const uint8_t *p, uint32_t len);         /* ST_EUTF8 */
int mqtt_topic_name_check(const uint8_t *p, uint32_t len);   /* no wildcards, non-empty;
                                                                ST_ETOPIC or ST_EUTF8 */
int mqtt_topic_filter_check(const uint8_t *p, uint32_t len); /* wildcard placement,
                                                                $share/<g>/<f> and
                                                                $queue/<f> syntax */

/* Name of a packet type for logs ("PUBLISH"), "?" for an unknown one. */
const char *mqtt_type_name(uint8_t type);

#endif
