/* test_adopt.c — a gone member's copy made into session images (adopt.h st_adopt_images):
 * each session that has not expired, with its expiry's time left, subscriptions, PUBREL
 * waits, its inflight messages (packet id, state) and queue in key order, and its will (due
 * when its node went plus its delay, for a session that was connected); an expired session,
 * an expired message and an entry whose message is missing are left out. */
#include "test.h"
#include "broker/durable_rec.h"
#include "cluster/data/adopt.h"
#include "core/err.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define WALL 2000000000000LL  /* now, wall ms */
#define MONO 50000LL          /* now, monotonic ms */
#define WRITTEN (WALL - 4000) /* the copy was last written 4 s ago */

static void put_session(st_store_batch *b, uint64_t sid, const char *cid, int64_t expiry,
                        int64_t offline_since, const char *filter, uint32_t will_delay)
{
    st_session *s = st_session_new(sid, cid, strlen(cid));
    s->expiry_ms = expiry;
    s->next_pid = 9;
    int created;
    st_subrec *r = st_session_sub_put(s, filter, strlen(filter), &created);
    r->qos = 1;
    r->sub_id = 4;
    if (will_delay)
        st_session_set_will(s, st_msg_new("w/t", 3, (const uint8_t *)"bye", 3, NULL, 1, 0, 0, 0),
                            will_delay);
    st_buf v = {0};
    st_drec_session_put(&v, s, offline_since, MONO, WALL);
    CHECK_EQ(st_store_put(b, ST_CF_SESSIONS, cid, strlen(cid), v.p, v.len, 0), 0);
    st_buf_free(&v);
    st_session_free(s);
}

static void put_msg(st_store_batch *b, uint64_t mid, const char *topic, int64_t expire_in)
{
    st_msg *m = st_msg_new(topic, (uint32_t)strlen(topic), (const uint8_t *)topic,
                           (uint32_t)strlen(topic), NULL, 1, 0, MONO, 0);
    if (expire_in) {
        m->has_expiry = 1;
        m->expire_at = MONO + expire_in;
    }
    st_buf v = {0};
    st_drec_msg_put(&v, m, MONO, WALL);
    uint8_t k[8];
    st_drec_u64(mid, k);
    CHECK_EQ(st_store_put(b, ST_CF_MSGS, k, 8, v.p, v.len, 0), 0);
    st_buf_free(&v);
    st_msg_unref(m);
}

static void put_entry(st_store_batch *b, uint64_t sid, uint64_t mid, uint8_t state, uint16_t pid)
{
    uint8_t k[ST_DREC_QKEY], v[ST_DREC_ENTRY];
    st_drec_qkey(sid, mid, k);
    st_drec_entry e = {.qos = 1, .state = state, .pid = pid, .sub_id = 4};
    st_drec_entry_put(v, &e);
    CHECK_EQ(st_store_put(b, ST_CF_QUEUE, k, sizeof k, v, sizeof v, 0), 0);
}

typedef struct got {
    int n;
    char cid[4][16];
    st_buf img[4];
} got;

static int collect(void *ctx, const char *cid, size_t len, const uint8_t *img, size_t ilen)
{
    got *g = ctx;
    CHECK(g->n < 4 && len < 16);
    memcpy(g->cid[g->n], cid, len);
    st_buf_put(&g->img[g->n++], img, ilen);
    return 0;
}

static int find(got *g, const char *cid)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->cid[i], cid) == 0) return i;
    return -1;
}

static void test_images(void)
{
    st_store_batch *b = st_store_batch_new();
    /* in store order: sessions (and QoS 2 ids), messages, queue entries */
    put_session(b, 1, "c1", 3600000, WALL - 1000, "t/#", 0); /* offline for 1 s */
    uint8_t rk[16];
    size_t rl = st_drec_rel_key("c1", 2, 5, rk);
    CHECK_EQ(st_store_put(b, ST_CF_SESSIONS, rk, rl, NULL, 0, 0), 0);
    put_session(b, 2, "c2", 1000, WALL - 5000, "x/#", 0); /* expired */
    put_session(b, 3, "c3", INT64_MAX, 0, "y/#", 10);     /* connected when its node went */
    put_msg(b, 10, "t/a", 0);
    put_msg(b, 11, "t/b", 0);
    put_msg(b, 12, "t/c", -1); /* expired */
    put_entry(b, 1, 10, ST_INF_WAIT_ACK, 3);
    put_entry(b, 1, 11, 0, 0);
    put_entry(b, 1, 12, 0, 0);
    put_entry(b, 1, 13, 0, 0); /* its message is not there */
    put_entry(b, 1, 14, ST_INF_WAIT_COMP, 4);
    put_entry(b, 2, 10, 0, 0);
    put_entry(b, 3, 11, 0, 0);
    size_t len;
    const uint8_t *w = st_store_batch_bytes(b, &len);
    got g = {0};
    CHECK_EQ(st_adopt_images(w, len, WRITTEN, WALL, MONO, collect, &g), 0);
    CHECK_EQ(g.n, 2);
    CHECK(find(&g, "c2") < 0);

    int i = find(&g, "c1");
    CHECK(i >= 0);
    st_bytes img = {g.img[i].p, (uint32_t)g.img[i].len};
    uint32_t off = 0;
    cw_sess_ent e;
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_HEAD && e.expiry_ms == 3600000 && e.next_pid == 9);
    CHECK_EQ(e.in_ms, 3600000 - 1000);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_SUB && e.filter.len == 3 && memcmp(e.filter.p, "t/#", 3) == 0);
    CHECK(e.qos == 1 && e.sub_id == 4);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_REL && e.pid == 5);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_INFLIGHT && e.pid == 3 && e.state == 1);
    CHECK(e.rec.topic.len == 3 && memcmp(e.rec.topic.p, "t/a", 3) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_QUEUE && e.qos == 1 && memcmp(e.rec.topic.p, "t/b", 3) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1); /* t/c expired, entry 13 has no message */
    CHECK(e.tag == CW_SE_INFLIGHT && e.pid == 4 && e.state == 2);
    CHECK_EQ(cw_sess_next(img, &off, &e), 0);

    i = find(&g, "c3");
    CHECK(i >= 0);
    img = (st_bytes){g.img[i].p, (uint32_t)g.img[i].len};
    off = 0;
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_HEAD && e.expiry_ms == UINT64_MAX && e.in_ms == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_SUB);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    /* its will: 10 s after the copy was last written, 4 s ago */
    CHECK(e.tag == CW_SE_WILL && e.delay_s == 10 && e.in_ms == 6000);
    CHECK(e.rec.payload.len == 3 && memcmp(e.rec.payload.p, "bye", 3) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_QUEUE && memcmp(e.rec.topic.p, "t/b", 3) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 0);
    for (int k = 0; k < g.n; k++)
        st_buf_free(&g.img[k]);

    /* bytes cut short: refused, nothing half made is handed out */
    got h = {0};
    CHECK_EQ(st_adopt_images(w, len - 1, WRITTEN, WALL, MONO, collect, &h), ST_EMALFORMED);
    CHECK_EQ(h.n, 0);
    st_store_batch_free(b);
}

int main(void)
{
    RUN(test_images);
    return TEST_END();
}
