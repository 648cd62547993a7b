/* reason.c — the one place where errors become MQTT reason codes, and packet type names.
 *
 * Internal ST_E* codes map to MQTT 5 reason codes here and nowhere else; 3.x CONNACK
 * return codes are derived from the v5 code so the broker reasons in v5 terms only. */
#include "mqtt/mqtt.h"
#include "core/err.h"

uint8_t mqtt_err_reason(int err)
{
    switch (err) {
    case ST_OK:
        return MQTT_RC_SUCCESS;
    case ST_EMALFORMED:
    case ST_EUTF8:
        return MQTT_RC_MALFORMED;
    case ST_EPROTO:
        return MQTT_RC_PROTOCOL_ERROR;
    case ST_ETOOLARGE:
        return MQTT_RC_PACKET_TOO_LARGE;
    case ST_ETOPIC:
        return MQTT_RC_TOPIC_NAME_INVALID;
    case ST_EVERSION:
        return MQTT_RC_UNSUPPORTED_VERSION;
    case ST_EFULL:
        return MQTT_RC_QUOTA_EXCEEDED;
    case ST_ENOMEM:
        return MQTT_RC_SERVER_BUSY;
    default:
        return MQTT_RC_UNSPECIFIED;
    }
}

uint8_t mqtt_connack_v3_code(uint8_t reason5)
{
    switch (reason5) {
    case MQTT_RC_SUCCESS:
        return MQTT_V3_ACCEPTED;
    case MQTT_RC_UNSUPPORTED_VERSION:
        return MQTT_V3_BAD_VERSION;
    case MQTT_RC_CLIENT_ID_INVALID:
        return MQTT_V3_ID_REJECTED;
    case MQTT_RC_BAD_USER_OR_PASS:
        return MQTT_V3_BAD_USER_OR_PASS;
    case MQTT_RC_NOT_AUTHORIZED:
    case MQTT_RC_BANNED:
    case MQTT_RC_BAD_AUTH_METHOD:
        return MQTT_V3_NOT_AUTHORIZED;
    default:
        return MQTT_V3_SERVER_UNAVAILABLE; /* busy, unavailable, quota, moved, ... */
    }
}

const char *mqtt_type_name(uint8_t type)
{
    static const char *const names[16] = {
        "?",       "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
        "PUBREL",  "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
        "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
    };
    return type < 16 ? names[type] : "?";
}
