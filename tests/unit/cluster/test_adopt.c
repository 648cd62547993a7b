/* test_adopt.c — a gone member's copy made into session images (adopt.h st_adopt_images):
 * each session that has not expired, with its expiry's time left, subscriptions, PUBREL
 * waits, its inflight messages (packet id, state) and queue in key order, and its will (due
 * when its node went plus its delay, for a session that was connected); an expired session,
 * an expired message and an entry whose message is missing are left out. And the members'
 * leftovers (leftover.h): kept per member until every lane posted, queued after a session's
 * own queue where a subscription matches, unless the copy's lane position says the member
 * had taken them. */
#include "test.h"
#include "broker/durable_rec.h"
#include "cluster/data/adopt.h"
#include "cluster/data/leftover.h"
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

/* cid's image (it must be there), read from its start: *off = 0. */
static st_bytes image_of(got *g, const char *cid, uint32_t *off)
{
    int i = find(g, cid);
    CHECK(i >= 0);
    *off = 0;
    return i >= 0 ? (st_bytes){g->img[i].p, (uint32_t)g->img[i].len} : (st_bytes){NULL, 0};
}

/* The next n entries of img, whatever they are. */
static void skip(st_bytes img, uint32_t *off, int n)
{
    cw_sess_ent e;
    while (n--)
        CHECK_EQ(cw_sess_next(img, off, &e), 1);
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
    CHECK_EQ(st_adopt_images(w, len, WRITTEN, WALL, MONO, NULL, 0, NULL, collect, &g), 0);
    CHECK_EQ(g.n, 2);
    CHECK(find(&g, "c2") < 0);

    uint32_t off;
    st_bytes img = image_of(&g, "c1", &off);
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

    img = image_of(&g, "c3", &off);
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
    CHECK_EQ(st_adopt_images(w, len - 1, WRITTEN, WALL, MONO, NULL, 0, NULL, collect, &h),
             ST_EMALFORMED);
    CHECK_EQ(h.n, 0);
    st_store_batch_free(b);
}

/* One lane's leftover message (topic, QoS) appended to b at seq. */
static void put_left(st_buf *b, uint16_t lane, uint64_t seq, const char *topic, uint8_t qos)
{
    st_msg *m =
        st_msg_new(topic, (uint32_t)strlen(topic), (const uint8_t *)"p", 1, NULL, qos, 1, MONO, 0);
    st_leftover_put(b, lane, seq, m, MONO);
    st_msg_unref(m);
}

/* A member's answer: its lanes' leftovers for "gone" (node id, boot), through the keeper. */
static char *answer_of(uint64_t node, uint64_t boot, const st_buf *lane0, const st_buf *lane1,
                       size_t *len)
{
    st_leftovers *l = st_leftovers_new();
    st_leftovers_expect(l, "gone", 3, 2, 0);
    char *a = st_leftovers_answer(l, "gone", node, boot, len);
    CHECK(a && *len == 17 && a[0] == 0); /* two lanes to post: not ready */
    free(a);
    st_leftovers_add(l, 3, lane0->p, lane0->len);
    st_leftovers_add(l, 4, lane1->p, lane1->len); /* another slot: not this member's */
    st_leftovers_add(l, 3, lane1->p, lane1->len);
    a = st_leftovers_answer(l, "gone", node, boot, len);
    CHECK(a && a[0] == 1);
    st_leftovers_free(l);
    return a;
}

static void test_leftovers(void)
{
    st_store_batch *b = st_store_batch_new();
    uint8_t lk[ST_DREC_LANE_KEY], lv[16]; /* node 7's lane 1, process 99: taken up to seq 5 */
    memcpy(lk, "lane", 4);
    st_drec_u64(7, lk + 4);
    lk[12] = 0;
    lk[13] = 1;
    st_drec_u64(99, lv);
    st_drec_u64(5, lv + 8);
    CHECK_EQ(st_store_put(b, ST_CF_META, lk, sizeof lk, lv, sizeof lv, 0), 0);
    put_session(b, 1, "c1", 3600000, WALL - 1000, "t/#", 0);
    put_session(b, 2, "c2", 3600000, WALL - 1000, "$share/g/t/#", 0);
    put_session(b, 3, "c3", 3600000, WALL - 1000, "z/+", 0);
    put_msg(b, 10, "t/a", 0);
    put_entry(b, 1, 10, 0, 0);
    size_t len;
    const uint8_t *w = st_store_batch_bytes(b, &len);

    st_buf n7l0 = {0}, n7l1 = {0}, n8l0 = {0}, none = {0};
    put_left(&n7l1, 1, 5, "t/taken", 1); /* the copy says node 7's lane 1 got it */
    put_left(&n7l1, 1, 6, "t/new", 2);   /* c1 (QoS 1 granted) */
    put_left(&n7l1, 1, 7, "q/x", 1);     /* nobody's */
    put_left(&n7l0, 0, 1, "t/lane0", 1); /* no position for lane 0: c1 */
    put_left(&n8l0, 0, 6, "z/1", 1);     /* node 8: c3 */
    size_t l7, l8;
    char *a7 = answer_of(7, 99, &n7l0, &n7l1, &l7);
    char *a8 = answer_of(8, 5, &n8l0, &none, &l8);
    st_bytes extra[3] = {{(const uint8_t *)a7, (uint32_t)l7},
                         {(const uint8_t *)a8, (uint32_t)l8},
                         {(const uint8_t *)"\x01", 1}}; /* cut short: ignored */
    got g = {0};
    size_t queued = 0;
    CHECK_EQ(st_adopt_images(w, len, WRITTEN, WALL, MONO, extra, 3, &queued, collect, &g), 0);
    CHECK_EQ(queued, 3);
    CHECK_EQ(g.n, 3);

    uint32_t off;
    st_bytes img = image_of(&g, "c1", &off);
    cw_sess_ent e;
    skip(img, &off, 2);                       /* head, t/# */
    CHECK_EQ(cw_sess_next(img, &off, &e), 1); /* its own queue first */
    CHECK(e.tag == CW_SE_QUEUE && e.rec.topic.len == 3 && memcmp(e.rec.topic.p, "t/a", 3) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1); /* then the leftovers, in the answers' order */
    CHECK(e.tag == CW_SE_QUEUE && e.rec.topic.len == 7 && memcmp(e.rec.topic.p, "t/lane0", 7) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_QUEUE && e.rec.topic.len == 5 && memcmp(e.rec.topic.p, "t/new", 5) == 0);
    CHECK(e.qos == 1 && e.sub_id == 4 && e.retain == 0 && (e.rec.m & CW_MSG_QOS_MASK) == 2);
    CHECK_EQ(cw_sess_next(img, &off, &e), 0);

    img = image_of(&g, "c2", &off); /* a shared subscription: none of these are its */
    skip(img, &off, 2);
    CHECK_EQ(cw_sess_next(img, &off, &e), 0);

    img = image_of(&g, "c3", &off);
    skip(img, &off, 2);
    CHECK_EQ(cw_sess_next(img, &off, &e), 1);
    CHECK(e.tag == CW_SE_QUEUE && e.rec.topic.len == 3 && memcmp(e.rec.topic.p, "z/1", 3) == 0);
    CHECK_EQ(cw_sess_next(img, &off, &e), 0);

    for (int k = 0; k < g.n; k++)
        st_buf_free(&g.img[k]);
    free(a7);
    free(a8);
    st_buf_free(&n7l0);
    st_buf_free(&n7l1);
    st_buf_free(&n8l0);
    st_store_batch_free(b);
}

/* Kept until dropped (with their count) or past the keeping time (reported). */
static int reported;
static void on_dropped(void *ctx, const char *name, size_t n)
{
    (void)ctx;
    CHECK(strcmp(name, "old") == 0);
    reported += (int)n;
}

static void test_keeping(void)
{
    st_leftovers *l = st_leftovers_new();
    st_buf two = {0};
    put_left(&two, 0, 1, "a", 1);
    put_left(&two, 0, 2, "b", 1);
    st_leftovers_expect(l, "old", 1, 1, 0);
    st_leftovers_add(l, 1, two.p, two.len);
    st_leftovers_expect(l, "new", 2, 1, 1000);
    st_leftovers_add(l, 2, two.p, two.len);
    st_leftovers_tick(l, 10 * 60 * 1000 + 1, on_dropped, NULL);
    CHECK_EQ(reported, 2);
    CHECK_EQ(st_leftovers_drop(l, "old"), -1);
    CHECK_EQ(st_leftovers_drop(l, "new"), 2);
    size_t len;
    char *a = st_leftovers_answer(l, "new", 1, 2, &len); /* none kept: ready, empty */
    CHECK(a && len == 17 && a[0] == 1);
    free(a);
    st_buf_free(&two);
    st_leftovers_free(l);
}

int main(void)
{
    RUN(test_images);
    RUN(test_leftovers);
    RUN(test_keeping);
    return TEST_END();
}
