/* mqtt_test_util.h — helpers shared by the codec's unit tests (static, header-only):
 * st_bytes from C strings, decode options, and the round-trip helper that also proves
 * every truncation of an encoded packet decodes to "need more" (0). */
#ifndef ST_MQTT_TEST_UTIL_H
#define ST_MQTT_TEST_UTIL_H

#include "test.h"
#include "core/err.h"
#include "mqtt/mqtt.h"

#include <string.h>

#define BUFSZ 4096

static inline st_bytes B(const char *s)
{
    st_bytes b = {(const uint8_t *)s, (uint32_t)strlen(s)};
    return b;
}

static inline st_bytes BN(const void *p, uint32_t n)
{
    st_bytes b = {(const uint8_t *)p, n};
    return b;
}

static inline int bytes_is(st_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

static inline mqtt_dec_opts srv(uint8_t v)
{
    mqtt_dec_opts o = {v, 0, 1};
    return o;
}

static inline mqtt_dec_opts cli(uint8_t v)
{
    mqtt_dec_opts o = {v, 0, 0};
    return o;
}

/* Decoder direction for a packet type: 1 if a client sends it (decode as server). */
static inline uint8_t sent_by_client(uint8_t type)
{
    return type != MQTT_CONNACK && type != MQTT_SUBACK && type != MQTT_UNSUBACK &&
           type != MQTT_PINGRESP;
}

/* Encode `in`, check the too-small-buffer rule, decode into `out` with the right direction,
 * check that every proper prefix decodes to 0. Returns the encoded length (or <= 0). */
static inline long round_trip(const mqtt_packet *in, mqtt_packet *out, uint8_t *buf)
{
    long n = mqtt_encode(in, buf, BUFSZ);
    CHECK(n > 0 && n <= BUFSZ);
    if (n <= 0 || n > BUFSZ) return n;
    /* too small: nothing written, size reported */
    uint8_t small[BUFSZ];
    memset(small, 0xEE, sizeof small);
    CHECK_EQ(mqtt_encode(in, small, (size_t)n - 1), n);
    CHECK_EQ(small[0], 0xEE);
    mqtt_dec_opts o = sent_by_client(in->type) ? srv(in->version) : cli(in->version);
    if (in->type == MQTT_CONNECT) o.version = 0;
    for (long k = 0; k < n; k++) {
        long r = mqtt_decode(buf, (size_t)k, &o, out);
        if (r != 0) {
            CHECK_EQ(r, 0);
            fprintf(stderr, "  (%s v%d, truncated at %ld of %ld)\n", mqtt_type_name(in->type),
                    in->version, k, n);
            break;
        }
    }
    memset(out, 0x5A, sizeof *out);
    long d = mqtt_decode(buf, (size_t)n, &o, out);
    CHECK_EQ(d, n);
    if (d == n) {
        CHECK_EQ(out->type, in->type);
        CHECK_EQ(out->version, in->version);
    }
    return d == n ? n : (d < 0 ? d : -1);
}

/* Decode raw bytes with options; returns mqtt_decode's result. */
static inline long dec(const void *bytes, size_t n, mqtt_dec_opts o, mqtt_packet *out)
{
    return mqtt_decode((const uint8_t *)bytes, n, &o, out);
}

#endif
