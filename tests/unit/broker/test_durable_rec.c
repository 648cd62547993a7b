/* test_durable_rec.c — the durable store's records (durable_rec.h): a session, a message
 * and a queue entry go to bytes and come back equal (the message's expiry moved from one
 * clock to the other), keys sort by number, and every cut-short, padded or out-of-range
 * record is refused. */
#include "test.h"
#include "broker/durable_rec.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static void test_session_round_trip(void)
{
    st_session *s = st_session_new(42, "client-1", 8);
    s->expiry_ms = 3600000;
    s->next_pid = 7;
    s->reg_hlc = 0x0102030405060708ull;
    int created;
    st_subrec *r = st_session_sub_put(s, "a/+/c", 5, &created);
    r->qos = 2;
    r->flags = 3;
    r->sub_id = 99;
    r = st_session_sub_put(s, "$share/g/x", 10, &created);
    r->qos = 1;
    st_buf b = {0};
    st_drec_session_put(&b, s, 1700000000123, 0, 0);
    st_drec_session d;
    CHECK_EQ(st_drec_session_get(b.p, b.len, &d), 0);
    CHECK_EQ(d.sid, 42);
    CHECK_EQ(d.expiry_ms, 3600000);
    CHECK_EQ(d.offline_since, 1700000000123);
    CHECK_EQ(d.next_pid, 7);
    CHECK(d.reg_hlc == 0x0102030405060708ull);
    CHECK_EQ(d.nsubs, 2);
    size_t off = 0;
    st_subrec got;
    CHECK_EQ(st_drec_sub_next(&d, &off, &got), 1);
    CHECK(got.len == 5 && memcmp(got.filter, "a/+/c", 5) == 0);
    CHECK(got.qos == 2 && got.flags == 3 && got.sub_id == 99);
    CHECK_EQ(st_drec_sub_next(&d, &off, &got), 1);
    CHECK(got.len == 10 && got.qos == 1);
    CHECK_EQ(st_drec_sub_next(&d, &off, &got), 0);
    CHECK(d.will == NULL);
    /* every cut is refused, so is a byte more, a wrong version and sid 0 */
    for (size_t n = 0; n < b.len; n++)
        CHECK(st_drec_session_get(b.p, n, &d) < 0);
    uint8_t *more = malloc(b.len + 1);
    memcpy(more, b.p, b.len);
    more[b.len] = 0;
    CHECK(st_drec_session_get(more, b.len + 1, &d) < 0);
    more[0] = 9;
    CHECK(st_drec_session_get(more, b.len, &d) < 0);
    /* version 1 (before the registration's version was kept) still reads, with none */
    memcpy(more, b.p, 27);
    memcpy(more + 27, b.p + 35, b.len - 35);
    more[0] = 1;
    CHECK_EQ(st_drec_session_get(more, b.len - 8, &d), 0);
    CHECK(d.reg_hlc == 0 && d.sid == 42 && d.next_pid == 7 && d.nsubs == 2);
    free(more);
    st_buf_free(&b);
    /* a will, scheduled: 5 s after now on the monotonic clock is wall + 5 s */
    st_session_set_will(s, st_msg_new("w/t", 3, (const uint8_t *)"bye", 3, NULL, 1, 0, 0, 0), 30);
    s->will_at = 1000 + 5000;
    st_drec_session_put(&b, s, 7, 1000, 900000);
    CHECK_EQ(st_drec_session_get(b.p, b.len, &d), 0);
    CHECK_EQ(d.nsubs, 2);
    CHECK(d.will != NULL && d.will_delay_s == 30 && d.will_at == 905000);
    int err;
    st_msg *w = st_drec_msg_get(d.will, d.will_len, 0, 0, &err);
    CHECK(w && w->payload_len == 3 && w->qos == 1);
    st_msg_unref(w);
    for (size_t n = 0; n < b.len; n++)
        CHECK(st_drec_session_get(b.p, n, &d) < 0);
    st_buf_free(&b);
    st_session_clear_will(s);
    s->sid = 0;
    st_drec_session_put(&b, s, 0, 0, 0);
    CHECK(st_drec_session_get(b.p, b.len, &d) < 0);
    st_buf_free(&b);
    st_session_free(s);
}

static void test_message_round_trip(void)
{
    mqtt_props pr;
    memset(&pr, 0, sizeof pr);
    pr.present = MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT) | MQTT_HAS(MQTT_PROP_CONTENT_TYPE) |
                 MQTT_HAS(MQTT_PROP_CORRELATION_DATA) | MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY);
    pr.payload_format = 1;
    pr.content_type = (st_bytes){(const uint8_t *)"text/plain", 10};
    pr.correlation_data = (st_bytes){(const uint8_t *)"\0\1\2", 3};
    static const uint8_t user[] = {0x26, 0, 1, 'k', 0, 1, 'v'};
    pr.user = (st_bytes){user, sizeof user};
    pr.message_expiry = 60;
    st_msg *m = st_msg_new("t/1", 3, (const uint8_t *)"payload", 7, &pr, 1, 1, 1000, 0);
    m->from_sid = 5;
    m->origin = 77;
    m->oid = 88;
    st_buf b = {0};
    st_drec_msg_put(&b, m, 1000, 500000); /* monotonic 1000 is wall 500000 */
    int err;
    st_msg *g = st_drec_msg_get(b.p, b.len, 20000, 510000, &err); /* 10 s later, elsewhere */
    CHECK(g != NULL);
    CHECK(g->qos == 1 && g->retain == 1 && g->from_sid == 5 && g->origin == 77 && g->oid == 88);
    CHECK(g->topic_len == 3 && memcmp(g->topic, "t/1", 3) == 0);
    CHECK(g->payload_len == 7 && memcmp(g->payload, "payload", 7) == 0);
    CHECK(g->has_expiry);
    CHECK_EQ(g->expire_at, 20000 + 50000); /* 60 s of life, 10 s of them gone */
    CHECK(g->props.present & MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY));
    CHECK(g->props.payload_format == 1);
    CHECK(g->props.content_type.len == 10);
    CHECK(g->props.correlation_data.len == 3 && g->props.correlation_data.p[2] == 2);
    CHECK(g->props.user.len == sizeof user && memcmp(g->props.user.p, user, sizeof user) == 0);
    CHECK(!(g->props.present & MQTT_HAS(MQTT_PROP_RESPONSE_TOPIC)));
    st_msg_unref(g);
    for (size_t n = 0; n < b.len; n++) {
        CHECK(st_drec_msg_get(b.p, n, 0, 0, &err) == NULL);
        CHECK_EQ(err, ST_EMALFORMED);
    }
    b.p[1] = 3; /* QoS 3 */
    CHECK(st_drec_msg_get(b.p, b.len, 0, 0, &err) == NULL);
    st_buf_free(&b);
    st_msg_unref(m);
}

static void test_entries_and_keys(void)
{
    st_drec_entry e = {2, 1, ST_INF_WAIT_COMP, 65535, 0x01020304}, g;
    uint8_t v[ST_DREC_ENTRY];
    st_drec_entry_put(v, &e);
    CHECK_EQ(st_drec_entry_get(v, sizeof v, &g), 0);
    CHECK(g.qos == 2 && g.retain == 1 && g.state == ST_INF_WAIT_COMP && g.pid == 65535 &&
          g.sub_id == 0x01020304);
    CHECK(st_drec_entry_get(v, sizeof v - 1, &g) < 0);
    e.pid = 0; /* in flight without a packet id */
    st_drec_entry_put(v, &e);
    CHECK(st_drec_entry_get(v, sizeof v, &g) < 0);
    e.state = 0; /* queued: no packet id yet */
    st_drec_entry_put(v, &e);
    CHECK_EQ(st_drec_entry_get(v, sizeof v, &g), 0);
    /* keys sort by number: sid first, then the message id */
    uint8_t a[ST_DREC_QKEY], b[ST_DREC_QKEY], c[ST_DREC_QKEY];
    st_drec_qkey(1, 0xffffffffffull, a);
    st_drec_qkey(2, 1, b);
    st_drec_qkey(2, 256, c);
    CHECK(memcmp(a, b, sizeof a) < 0 && memcmp(b, c, sizeof b) < 0);
    CHECK_EQ(st_drec_get_u64(c + 8), 256);
    uint8_t k[16];
    CHECK_EQ(st_drec_rel_key("abc", 3, 0x1234, k), 6);
    CHECK(k[3] == 0 && k[4] == 0x12 && k[5] == 0x34);
}

int main(void)
{
    RUN(test_session_round_trip);
    RUN(test_message_round_trip);
    RUN(test_entries_and_keys);
    return TEST_END();
}
