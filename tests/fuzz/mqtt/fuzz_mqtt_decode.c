/* fuzz_mqtt_decode.c — libFuzzer target for the MQTT codec (decode, encode, props, walkers).
 *
 * The first input byte picks the decoder options (version 0/3/4/5, server or client mode,
 * an optional size limit); the rest is the stream. Every packet that decodes is checked for
 * internal consistency (lengths, list walkers, property walker), re-encoded, decoded again,
 * and the second encoding must be byte-identical to the first: decode∘encode is a fixed
 * point after one step. Any inconsistency aborts. */
#include "core/err.h"
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_mqtt_decode: %s (line %d)\n", msg, __LINE__);                        \
        abort();                                                                                   \
    } while (0)

static uint8_t enc1[1 << 17], enc2[1 << 17];

/* Walk every list and property run; they were validated, so walkers must cover them. */
static void walk(const mqtt_packet *p)
{
    uint32_t off = 0, n = 0;
    st_bytes a, b;
    mqtt_subopts so;
    if (p->type == MQTT_SUBSCRIBE) {
        while (mqtt_sub_next(&p->u.subscribe, &off, &a, &so)) {
            n++;
            if (so.qos > 2 || so.retain_handling > 2) FAIL("sub options out of range");
            mqtt_topic_filter_check(a.p, a.len);
        }
        if (n != p->u.subscribe.count || off != p->u.subscribe.raw.len)
            FAIL("subscribe walker disagrees with count");
    }
    if (p->type == MQTT_UNSUBSCRIBE) {
        while (mqtt_unsub_next(&p->u.unsubscribe, &off, &a))
            n++;
        if (n != p->u.unsubscribe.count || off != p->u.unsubscribe.raw.len)
            FAIL("unsubscribe walker disagrees with count");
    }
    if ((p->type == MQTT_SUBACK || p->type == MQTT_UNSUBACK) &&
        p->u.acks.count != p->u.acks.raw.len)
        FAIL("ack count");
    off = 0;
    while (mqtt_user_prop_next(p->props.user, &off, &a, &b))
        if (mqtt_utf8_check(a.p, a.len) || mqtt_utf8_check(b.p, b.len))
            FAIL("user property not UTF-8");
    if (off != p->props.user.len) FAIL("user property walker stopped early");
    if (p->type == MQTT_PUBLISH && p->u.publish.qos > 2) FAIL("qos");
}

static void check_packet(long used, const mqtt_dec_opts *o, const mqtt_packet *p)
{
    walk(p);
    long n1 = mqtt_encode(p, enc1, sizeof enc1);
    if (n1 < 0) FAIL("re-encode of a decoded packet failed");
    if ((size_t)n1 > sizeof enc1) return; /* too big for our scratch buffer: fine */
    if (n1 > used) FAIL("re-encoding grew the packet");
    mqtt_dec_opts o2 = *o;
    o2.max_packet_size = 0;
    if (p->type != MQTT_CONNECT) o2.version = p->version;
    mqtt_packet q;
    long d = mqtt_decode(enc1, (size_t)n1, &o2, &q);
    if (d != n1) FAIL("re-encoded packet does not decode");
    if (q.type != p->type || q.version != p->version || q.flags != p->flags ||
        q.packet_id != p->packet_id || q.reason != p->reason)
        FAIL("re-decoded packet differs");
    if (mqtt_props_size(&q.props) != mqtt_props_size(&p->props)) FAIL("property size differs");
    for (long k = 0; k < n1; k++)
        if (mqtt_decode(enc1, (size_t)k, &o2, &q) != 0)
            FAIL("a prefix of a valid packet did not ask for more");
    mqtt_decode(enc1, (size_t)n1, &o2, &q);
    long n2 = mqtt_encode(&q, enc2, sizeof enc2);
    if (n2 != n1 || memcmp(enc1, enc2, (size_t)n1) != 0)
        FAIL("encode(decode(encode(x))) != encode(x)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const uint8_t versions[] = {0, 3, 4, 5};
    mqtt_dec_opts o = {versions[data[0] & 3], (data[0] & 8) ? 64 : 0, (data[0] >> 2) & 1};
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    while (left) {
        mqtt_packet pkt;
        long n = mqtt_decode(p, left, &o, &pkt);
        if (n == 0 || n < 0) {
            if (n < 0 && mqtt_err_reason((int)n) == 0) FAIL("error maps to success");
            break;
        }
        if ((size_t)n > left) FAIL("consumed more than given");
        check_packet(n, &o, &pkt);
        if (pkt.type == MQTT_CONNECT && o.version == 0) o.version = pkt.version;
        p += n;
        left -= (size_t)n;
    }
    /* the property decoder on its own, in every context */
    if (size > 2) {
        mqtt_props pr;
        uint8_t ctx = data[1] & 15;
        long n = mqtt_props_decode(data + 2, size - 2, ctx, data[1] >> 7, &pr);
        if (n > 0) {
            long m = mqtt_props_encode(&pr, enc1, sizeof enc1);
            if (m <= 0 || m > n) FAIL("property re-encode");
            mqtt_props pr2;
            if (mqtt_props_decode(enc1, (size_t)m, ctx, data[1] >> 7, &pr2) != m)
                FAIL("property re-decode");
        }
    }
    return 0;
}
