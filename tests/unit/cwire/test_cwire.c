/* test_cwire.c — the cluster wire codec: round trips of every frame, every truncation,
 * malformed input, extension lists, and the golden file of the protocol's bytes
 * (golden/frames.bin; `test_cwire --write` regenerates it after a deliberate change). */
#include "test.h"
#include "core/err.h"
#include "cwire/cwire.h"

#include <stdio.h>
#include <string.h>

static st_bytes S(const char *s)
{
    st_bytes b = {(const uint8_t *)s, (uint32_t)strlen(s)};
    return b;
}

static int same(st_bytes a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

/* Decode one whole frame from buf (n bytes); check every prefix needs more. */
static int frame_of(const uint8_t *buf, size_t n, cw_frame *f)
{
    for (size_t k = 0; k < n; k++) {
        cw_frame g;
        if (cw_frame_decode(buf, k, CW_MAX_FRAME, &g) != 0) return 0;
    }
    return cw_frame_decode(buf, n, CW_MAX_FRAME, f) == (long)n;
}

static cw_hello sample_hello(void)
{
    cw_hello h = {.ver_min = 1,
                  .ver_max = 1,
                  .stream = CW_S_CONTROL,
                  .role = CW_ROLE_CORE,
                  .lane = 0,
                  .flags = CW_HELLO_JOINING,
                  .boot = 0x0102030405060708ull,
                  .incarnation = 3,
                  .node_id = 0xcbf29ce484222325ull,
                  .cluster_name = S("starling"),
                  .node_name = S("starling@127.0.0.2"),
                  .addr = S("127.0.0.2:4370")};
    for (int i = 0; i < CW_UUID; i++)
        h.uuid[i] = (uint8_t)i;
    for (int i = 0; i < CW_NONCE; i++)
        h.nonce[i] = (uint8_t)(0xA0 + i);
    return h;
}

static void test_hello_round_trip(void)
{
    uint8_t ext[64];
    size_t elen = cw_ext_put(ext, 0, sizeof ext, 7, S("x"));
    elen = cw_ext_put(ext, elen, sizeof ext, 9, S("yz"));
    CHECK(elen == 2 + 5 + 6);
    cw_hello h = sample_hello();
    h.ext = (st_bytes){ext, (uint32_t)elen};
    uint8_t buf[512];
    size_t n = cw_encode_hello(&h, buf, sizeof buf);
    CHECK(n < sizeof buf);
    CHECK(cw_encode_hello(&h, buf, 10) == n); /* sizing works with a short buffer */
    cw_frame f;
    CHECK(frame_of(buf, n, &f));
    CHECK_EQ(f.type, CW_HELLO);
    cw_hello d;
    CHECK_EQ(cw_decode_hello(f.body, &d), 0);
    CHECK_EQ(d.stream, CW_S_CONTROL);
    CHECK_EQ(d.flags, CW_HELLO_JOINING);
    CHECK(d.boot == h.boot && d.node_id == h.node_id && d.incarnation == 3);
    CHECK(memcmp(d.uuid, h.uuid, CW_UUID) == 0 && memcmp(d.nonce, h.nonce, CW_NONCE) == 0);
    CHECK(same(d.node_name, "starling@127.0.0.2") && same(d.addr, "127.0.0.2:4370"));
    uint32_t off = 0;
    cw_ext e;
    CHECK(cw_ext_next(d.ext, &off, &e) && e.tag == 7 && same(e.value, "x"));
    CHECK(cw_ext_next(d.ext, &off, &e) && e.tag == 9 && same(e.value, "yz"));
    CHECK(!cw_ext_next(d.ext, &off, &e));
    /* every truncated body is malformed; bytes appended after the body are ignored */
    for (uint32_t k = 0; k < f.body.len; k++)
        CHECK_EQ(cw_decode_hello((st_bytes){f.body.p, k}, &d), ST_EMALFORMED);
    uint8_t longer[600];
    memcpy(longer, f.body.p, f.body.len);
    memset(longer + f.body.len, 0xEE, 5);
    CHECK_EQ(cw_decode_hello((st_bytes){longer, f.body.len + 5}, &d), 0);
}

static void test_hello_malformed(void)
{
    uint8_t buf[512];
    cw_hello h = sample_hello(), d;
    cw_frame f;
    size_t n = cw_encode_hello(&h, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f));
    uint8_t body[512];
    memcpy(body, f.body.p, f.body.len);
    st_bytes b = {body, f.body.len};
    body[0] = 'X'; /* magic */
    CHECK_EQ(cw_decode_hello(b, &d), ST_EMALFORMED);
    body[0] = 'S';
    body[6] = 9; /* stream */
    CHECK_EQ(cw_decode_hello(b, &d), ST_EMALFORMED);
    body[6] = CW_S_DATA;
    body[7] = 0; /* role */
    CHECK_EQ(cw_decode_hello(b, &d), ST_EMALFORMED);
    body[7] = CW_ROLE_REPLICANT;
    body[4] = 2; /* ver_min > ver_max */
    CHECK_EQ(cw_decode_hello(b, &d), ST_EMALFORMED);
    body[4] = 1;
    CHECK_EQ(cw_decode_hello(b, &d), 0);
    CHECK_EQ(d.role, CW_ROLE_REPLICANT);
    h.node_name = S("");
    n = cw_encode_hello(&h, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f));
    CHECK_EQ(cw_decode_hello(f.body, &d), ST_EMALFORMED);
}

static void test_frame_limits(void)
{
    uint8_t small[6] = {0, 0, 0, 1, 4, 0}; /* len 1 < 2 */
    cw_frame f;
    CHECK_EQ(cw_frame_decode(small, 6, CW_MAX_FRAME, &f), ST_EMALFORMED);
    uint8_t big[6] = {0, 0, 0x10, 1, 4, 0}; /* 4097 */
    CHECK_EQ(cw_frame_decode(big, 6, CW_MAX_PREAUTH, &f), ST_ETOOLARGE);
    CHECK_EQ(cw_frame_decode(big, 6, CW_MAX_FRAME, &f), 0);
    uint8_t lz4[6] = {0, 0, 0, 2, CW_PING, CW_F_LZ4};
    CHECK_EQ(cw_frame_decode(lz4, 6, CW_MAX_FRAME, &f), ST_EMALFORMED);
    uint8_t ign[6] = {0, 0, 0, 2, 0xEE, CW_F_IGNORABLE};
    CHECK_EQ(cw_frame_decode(ign, 6, CW_MAX_FRAME, &f), 6);
    CHECK(!cw_type_known(f.type) && (f.flags & CW_F_IGNORABLE));
    CHECK_STR(cw_type_name(CW_FWD), "FWD");
    CHECK_STR(cw_type_name(0xEE), "unknown");
}

static void test_welcome_and_small_frames(void)
{
    uint8_t buf[512];
    cw_frame f;
    cw_welcome w = {.ver = 1,
                    .role = CW_ROLE_CORE,
                    .flags = CW_WELCOME_MEMBER | CW_WELCOME_LEADER,
                    .members = 3,
                    .boot = 11,
                    .incarnation = 2,
                    .node_id = 5,
                    .cluster_name = S("c"),
                    .node_name = S("starling@127.0.0.1"),
                    .addr = S("127.0.0.1:4370"),
                    .leader_name = S("starling@127.0.0.1")};
    memset(w.proof, 0x5A, CW_PROOF);
    size_t n = cw_encode_welcome(&w, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_WELCOME);
    cw_welcome d;
    CHECK_EQ(cw_decode_welcome(f.body, &d), 0);
    CHECK(d.members == 3 && d.flags == 3 && d.proof[31] == 0x5A &&
          same(d.leader_name, "starling@127.0.0.1"));
    CHECK_EQ(d.ext.len, 2u);

    uint8_t proof[CW_PROOF], got[CW_PROOF];
    for (int i = 0; i < CW_PROOF; i++)
        proof[i] = (uint8_t)i;
    n = cw_encode_proof(proof, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_PROOF_MSG);
    CHECK(cw_decode_proof(f.body, got) == 0 && memcmp(got, proof, CW_PROOF) == 0);
    CHECK_EQ(cw_decode_proof((st_bytes){f.body.p, 31}, got), ST_EMALFORMED);

    st_bytes ext;
    n = cw_encode_ready((st_bytes){NULL, 0}, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_READY && cw_decode_ready(f.body, &ext) == 0);
    CHECK_EQ(ext.len, 2u);

    cw_refuse r = {CW_REFUSE_COOKIE, S("cookie mismatch")}, rd;
    n = cw_encode_refuse(&r, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_refuse(f.body, &rd) == 0);
    CHECK(rd.code == CW_REFUSE_COOKIE && same(rd.text, "cookie mismatch"));
    CHECK_STR(cw_refuse_text(CW_REFUSE_COOKIE), "cookie mismatch (node.cookie differs)");

    uint64_t v = 0;
    n = cw_encode_u64(CW_PING, 123456789, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_PING && cw_decode_u64(f.body, &v) == 0);
    CHECK(v == 123456789);

    cw_goodbye g = {CW_BYE_LEAVE, S("bye")}, gd;
    n = cw_encode_goodbye(&g, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_goodbye(f.body, &gd) == 0 && gd.reason == 2);
    uint8_t bad[16];
    memcpy(bad, f.body.p, f.body.len);
    bad[0] = 0;
    CHECK_EQ(cw_decode_goodbye((st_bytes){bad, f.body.len}, &gd), ST_EMALFORMED);
}

static void test_ack_and_routes(void)
{
    uint8_t buf[1024];
    cw_frame f;
    uint64_t nacks[3] = {7, 9, 1ull << 40};
    size_t n = cw_encode_ack(42, nacks, 3, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_ACK);
    cw_ack a;
    CHECK_EQ(cw_decode_ack(f.body, &a), 0);
    CHECK(a.seq == 42 && a.nnack == 3 && cw_ack_nack(&a, 2) == (1ull << 40));
    CHECK_EQ(cw_decode_ack((st_bytes){f.body.p, f.body.len - 1}, &a), ST_EMALFORMED);

    cw_route_sync s = {5, 77, 1000}, sd;
    n = cw_encode_route_sync(CW_ROUTE_SYNC_END, &s, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_route_sync(f.type, f.body, &sd) == 0);
    CHECK(sd.seq == 5 && sd.sync_id == 77 && sd.count == 1000);
    n = cw_encode_route_sync(CW_ROUTE_SYNC_BEGIN, &s, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_route_sync(f.type, f.body, &sd) == 0);
    CHECK_EQ(sd.count, 0u);

    cw_route_op ops[3] = {{CW_ROUTE_ADD, S("sensors/+/temp"), {NULL, 0}, 0},
                          {CW_ROUTE_DEL, S("a/#"), {NULL, 0}, 0},
                          {CW_ROUTE_SHARE, S("t/#"), S("g"), 4}};
    n = cw_encode_route_batch(9, ops, 3, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_ROUTE_BATCH);
    cw_route_batch b;
    CHECK_EQ(cw_decode_route_batch(f.body, &b), 0);
    CHECK(b.seq == 9 && b.n == 3);
    uint32_t off = 0, k = 0;
    cw_route_op op;
    while (cw_route_next(&b, &off, &op)) {
        CHECK_EQ(op.kind, ops[k].kind);
        CHECK(op.filter.len == ops[k].filter.len &&
              memcmp(op.filter.p, ops[k].filter.p, op.filter.len) == 0);
        k++;
    }
    CHECK_EQ(k, 3u);
    CHECK(same(op.group, "g") && op.members == 4);
    for (uint32_t cut = 0; cut < f.body.len; cut++)
        CHECK_EQ(cw_decode_route_batch((st_bytes){f.body.p, cut}, &b), ST_EMALFORMED);
    cw_route_op empty = {CW_ROUTE_ADD, S(""), {NULL, 0}, 0};
    n = cw_encode_route_batch(1, &empty, 1, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_route_batch(f.body, &b) == ST_EMALFORMED);
}

static void test_fwd(void)
{
    uint8_t buf[2048];
    cw_frame f;
    cw_record recs[2] = {{.kind = CW_REC_DELIVER,
                          .m = 1,
                          .mid = 1ull << 48 | 5,
                          .expiry_ms = 30000,
                          .topic = S("sensors/42/temp"),
                          .props = {(const uint8_t *)"\x03\x00\x01j", 4},
                          .payload = S("21.5")},
                         {.kind = CW_REC_DELIVER | CW_REC_SHARED | CW_REC_STORE_RETAINED,
                          .m = 2 | CW_MSG_RETAIN,
                          .mid = 6,
                          .hlc = 0xABCDEF,
                          .topic = S("t/x"),
                          .share = S("$share/g/t/#"),
                          .payload = S("")}};
    cw_resume r = {0x77, 1234}, rd;
    size_t n = cw_encode_resume(&r, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_RESUME && cw_decode_resume(f.body, &rd) == 0);
    CHECK(rd.sender_boot == 0x77 && rd.last_seq == 1234);

    cw_leave_req lq = {S("starling@10.0.0.3"), 1}, lqd;
    n = cw_encode_leave_req(&lq, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_LEAVE_REQ && cw_decode_leave_req(f.body, &lqd) == 0);
    CHECK(lqd.forced == 1 && lqd.name.len == 17 &&
          memcmp(lqd.name.p, "starling@10.0.0.3", 17) == 0);
    CHECK_STR(cw_type_name(CW_LEAVE_REQ), "LEAVE_REQ");
    uint8_t bad[] = {0, 0, 1}; /* an empty name */
    CHECK_EQ(cw_decode_leave_req((st_bytes){bad, 3}, &lqd), ST_EMALFORMED);

    n = cw_encode_fwd(100, recs, 2, buf, sizeof buf);
    CHECK_EQ(n, CW_HDR + 10 + cw_record_size(&recs[0]) + cw_record_size(&recs[1]));
    CHECK(frame_of(buf, n, &f) && f.type == CW_FWD);
    cw_fwd fw;
    CHECK_EQ(cw_decode_fwd(f.body, &fw), 0);
    CHECK(fw.first_seq == 100 && fw.n == 2);
    uint32_t off = 0;
    cw_record d;
    CHECK(cw_fwd_next(&fw, &off, &d));
    CHECK(d.m == 1 && d.expiry_ms == 30000 && same(d.topic, "sensors/42/temp") &&
          same(d.payload, "21.5") && d.props.len == 4 && d.share.len == 0);
    CHECK(cw_fwd_next(&fw, &off, &d));
    CHECK(same(d.share, "$share/g/t/#") && d.hlc == 0xABCDEF && d.payload.len == 0 &&
          (d.m & CW_MSG_RETAIN));
    CHECK(!cw_fwd_next(&fw, &off, &d));
    for (uint32_t cut = 0; cut < f.body.len; cut++)
        CHECK_EQ(cw_decode_fwd((st_bytes){f.body.p, cut}, &fw), ST_EMALFORMED);
    recs[0].m = 3; /* QoS 3 */
    n = cw_encode_fwd(1, recs, 1, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_fwd(f.body, &fw) == ST_EMALFORMED);
    recs[0].m = 0;
    recs[0].kind = CW_REC_SHARED; /* shared without a share name */
    n = cw_encode_fwd(1, recs, 1, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_fwd(f.body, &fw) == ST_EMALFORMED);
}

/* One of each frame, fixed values: the protocol's bytes, pinned. */
static size_t golden_frames(uint8_t *buf, size_t cap)
{
    size_t n = 0;
    cw_hello h = sample_hello();
    n += cw_encode_hello(&h, buf + n, cap - n);
    cw_welcome w = {.ver = 1,
                    .role = CW_ROLE_CORE,
                    .flags = CW_WELCOME_MEMBER,
                    .members = 1,
                    .boot = 2,
                    .node_id = 3,
                    .cluster_name = S("starling"),
                    .node_name = S("starling@127.0.0.1"),
                    .addr = S("127.0.0.1:4370"),
                    .leader_name = S("starling@127.0.0.1")};
    n += cw_encode_welcome(&w, buf + n, cap - n);
    uint8_t proof[CW_PROOF] = {1, 2, 3};
    n += cw_encode_proof(proof, buf + n, cap - n);
    n += cw_encode_ready((st_bytes){NULL, 0}, buf + n, cap - n);
    cw_refuse r = {CW_REFUSE_VERSION, S("v")};
    n += cw_encode_refuse(&r, buf + n, cap - n);
    n += cw_encode_u64(CW_PING, 1, buf + n, cap - n);
    n += cw_encode_u64(CW_PONG, 1, buf + n, cap - n);
    uint64_t nack = 3;
    n += cw_encode_ack(2, &nack, 1, buf + n, cap - n);
    cw_goodbye g = {CW_BYE_SHUTDOWN, S("")};
    n += cw_encode_goodbye(&g, buf + n, cap - n);
    cw_route_sync s = {1, 2, 3};
    n += cw_encode_route_sync(CW_ROUTE_SYNC_BEGIN, &s, buf + n, cap - n);
    cw_route_op op = {CW_ROUTE_SHARE, S("a/+"), S("g"), 2};
    n += cw_encode_route_batch(2, &op, 1, buf + n, cap - n);
    n += cw_encode_route_sync(CW_ROUTE_SYNC_END, &s, buf + n, cap - n);
    cw_resume rs = {4, 5};
    n += cw_encode_resume(&rs, buf + n, cap - n);
    cw_record rec = {
        .kind = CW_REC_DELIVER, .m = 1, .origin = 9, .mid = 7, .topic = S("t"), .payload = S("p")};
    n += cw_encode_fwd(1, &rec, 1, buf + n, cap - n);
    cw_sess_ent q = {.tag = CW_SE_QUEUE, .qos = 1, .sub_id = 2, .rec = rec};
    uint8_t img[128];
    size_t ni = cw_encode_sess_ent(&q, img, sizeof img);
    cw_move mv = {S("dev1"), 5, CW_MOVE_OK, {img, (uint32_t)ni}};
    n += cw_encode_move(CW_MOVE_STATE, &mv, buf + n, cap - n);
    return n;
}

static const char *golden_path = "golden/frames.bin";

static void test_golden(void)
{
    uint8_t want[4096], got[4096];
    size_t n = golden_frames(want, sizeof want);
    FILE *f = fopen(golden_path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    size_t m = fread(got, 1, sizeof got, f);
    fclose(f);
    CHECK_EQ(m, n);
    CHECK(m == n && memcmp(got, want, n) == 0);
    /* and the whole file parses frame by frame */
    size_t off = 0, frames = 0;
    cw_frame fr;
    long r;
    while (off < m && (r = cw_frame_decode(got + off, m - off, CW_MAX_FRAME, &fr)) > 0) {
        CHECK(cw_type_known(fr.type));
        off += (size_t)r;
        frames++;
    }
    CHECK_EQ(off, m);
    CHECK_EQ(frames, 15u);
}

static void test_propose(void)
{
    uint8_t buf[256];
    cw_frame f;
    cw_propose p = {77, S("STRE....")}, pd;
    size_t n = cw_encode_propose(&p, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_PROPOSE && cw_decode_propose(f.body, &pd) == 0);
    CHECK(pd.req_id == 77 && same(pd.entry, "STRE...."));
    CHECK_STR(cw_type_name(CW_PROPOSE), "PROPOSE");
    cw_propose_result r = {77, CW_PROP_NOTLEADER, S("starling@10.0.0.1")}, rd;
    n = cw_encode_propose_result(&r, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_PROPOSE_RESULT);
    CHECK(cw_decode_propose_result(f.body, &rd) == 0 && rd.req_id == 77 &&
          rd.status == CW_PROP_NOTLEADER && same(rd.leader_name, "starling@10.0.0.1"));
    r.status = 9;
    n = cw_encode_propose_result(&r, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_propose_result(f.body, &rd) == ST_EMALFORMED);
    p.entry = S("");
    n = cw_encode_propose(&p, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_propose(f.body, &pd) == ST_EMALFORMED);
}

static void test_probe(void)
{
    uint8_t buf[256];
    cw_frame f;
    cw_probe p = {5, S("starling@10.0.0.3"), 1, 250}, pd;
    size_t n = cw_encode_probe(CW_PROBE_RESP, &p, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_PROBE_RESP);
    CHECK(cw_decode_probe(CW_PROBE_RESP, f.body, &pd) == 0 && pd.id == 5 && pd.reachable == 1 &&
          pd.since_ms == 250 && same(pd.node, "starling@10.0.0.3"));
    n = cw_encode_probe(CW_PROBE_REQ, &p, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_PROBE_REQ);
    CHECK(cw_decode_probe(CW_PROBE_REQ, f.body, &pd) == 0 && pd.id == 5 && pd.reachable == 0);
    CHECK(cw_decode_probe(CW_PROBE_RESP, f.body, &pd) == ST_EMALFORMED); /* too short */
    CHECK_STR(cw_type_name(CW_PROBE_REQ), "PROBE_REQ");
}

static void test_repl(void)
{
    uint8_t buf[256];
    cw_frame f;
    cw_repl r = {CW_REPL_SNAP, CW_REPL_END, {1, 2, 3}, 77, 12, S("records")}, rd;
    size_t n = cw_encode_repl(&r, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_REPL && f.flags == CW_F_IGNORABLE);
    CHECK(cw_decode_repl(f.body, &rd) == 0 && rd.kind == CW_REPL_SNAP && rd.flags == CW_REPL_END &&
          rd.store[2] == 3 && rd.store[15] == 0 && rd.boot == 77 && rd.round == 12 &&
          same(rd.body, "records"));
    CHECK(cw_decode_repl((st_bytes){f.body.p, f.body.len - 1}, &rd) == ST_EMALFORMED);
    r.kind = 4; /* no such kind */
    n = cw_encode_repl(&r, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_repl(f.body, &rd) == ST_EMALFORMED);
    cw_repl_ack a = {77, 12, 1}, ad;
    n = cw_encode_repl_ack(&a, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_REPL_ACK);
    CHECK(cw_decode_repl_ack(f.body, &ad) == 0 && ad.boot == 77 && ad.round == 12 &&
          ad.status == 1);
    a.status = 2;
    n = cw_encode_repl_ack(&a, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_repl_ack(f.body, &ad) == ST_EMALFORMED);
    CHECK_STR(cw_type_name(CW_REPL), "REPL");
    cw_restore o = {CW_RESTORE_OFFER, {9, 8}, 1765000000123, 42}, od;
    n = cw_encode_restore(&o, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_RESTORE && f.flags == CW_F_IGNORABLE);
    CHECK(cw_decode_restore(f.body, &od) == 0 && od.op == CW_RESTORE_OFFER && od.store[0] == 9 &&
          od.store[1] == 8 && od.written_ms == 1765000000123 && od.sessions == 42);
    CHECK(cw_decode_restore((st_bytes){f.body.p, f.body.len - 1}, &od) == ST_EMALFORMED);
    o.op = CW_RESTORE_GET + 1;
    n = cw_encode_restore(&o, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_restore(f.body, &od) == ST_EMALFORMED);
    CHECK_STR(cw_type_name(CW_RESTORE), "RESTORE");
}

static void test_ask(void)
{
    uint8_t buf[256];
    cw_frame f;
    cw_ask a = {9, 1, 0, S("[{\"id\":\"tcp:default\"}]")}, ad;
    size_t n = cw_encode_ask(CW_ANSWER, &a, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_ANSWER && f.flags == CW_F_IGNORABLE);
    CHECK(cw_decode_ask(CW_ANSWER, f.body, &ad) == 0 && ad.id == 9 && ad.what == 1 &&
          ad.status == 0 && same(ad.body, "[{\"id\":\"tcp:default\"}]"));
    a.body = S("");
    n = cw_encode_ask(CW_ASK, &a, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_ASK);
    CHECK(cw_decode_ask(CW_ASK, f.body, &ad) == 0 && ad.id == 9 && ad.body.len == 0);
    CHECK(cw_decode_ask(CW_ANSWER, f.body, &ad) == ST_EMALFORMED); /* its blob is short */
    CHECK_STR(cw_type_name(CW_ASK), "ASK");
}

static void test_tail(void)
{
    uint8_t buf[512];
    cw_frame f;
    cw_tail_req t = {42, {1, 2, 3}}, td;
    size_t n = cw_encode_tail_req(&t, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_TAIL_REQ && cw_decode_tail_req(f.body, &td) == 0);
    CHECK(td.from == 42 && memcmp(td.uuid, t.uuid, CW_UUID) == 0);
    CHECK_STR(cw_type_name(CW_TAIL_REQ), "TAIL_REQ");
    t.from = 0; /* index 0 does not exist */
    n = cw_encode_tail_req(&t, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_tail_req(f.body, &td) == ST_EMALFORMED);

    cw_log_entry e[2] = {{7, S("entry-7!")}, {9, S("")}}, d;
    n = cw_encode_log_entries(e, 2, buf, sizeof buf);
    cw_log_entries le;
    CHECK(frame_of(buf, n, &f) && f.type == CW_LOG_ENTRIES);
    CHECK(cw_decode_log_entries(f.body, &le) == 0 && le.n == 2);
    uint32_t off = 0;
    CHECK(cw_log_next(&le, &off, &d) && d.index == 7 && same(d.entry, "entry-7!"));
    CHECK(cw_log_next(&le, &off, &d) && d.index == 9 && d.entry.len == 0);
    CHECK(!cw_log_next(&le, &off, &d));
    e[1].index = 7; /* indexes must increase */
    n = cw_encode_log_entries(e, 2, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && cw_decode_log_entries(f.body, &le) == ST_EMALFORMED);

    cw_tail_snapshot s = {100, {9}, S("STSN...")}, sd;
    n = cw_encode_tail_snapshot(&s, buf, sizeof buf);
    CHECK(frame_of(buf, n, &f) && f.type == CW_TAIL_SNAPSHOT);
    CHECK(cw_decode_tail_snapshot(f.body, &sd) == 0 && sd.index == 100 && sd.uuid[0] == 9 &&
          same(sd.image, "STSN..."));
    CHECK(cw_decode_tail_snapshot((st_bytes){f.body.p, f.body.len - 1}, &sd) == ST_EMALFORMED);
}

/* The session image: each kind of entry round trips; bad entries are refused. */
static void test_move(void)
{
    uint8_t img[1024], buf[2048];
    cw_record rec = {.kind = CW_REC_DELIVER | CW_REC_SHARED,
                     .m = 1,
                     .origin = 0x1234,
                     .mid = 77,
                     .expiry_ms = 5000,
                     .topic = S("a/b"),
                     .share = S("$share/g/a/#"),
                     .payload = S("xyz")};
    cw_sess_ent in[] = {
        {.tag = CW_SE_HEAD, .expiry_ms = UINT64_MAX, .next_pid = 9, .in_ms = 1234},
        {.tag = CW_SE_SUB, .filter = S("a/#"), .qos = 2, .flags = 3, .sub_id = 11},
        {.tag = CW_SE_REL, .pid = 4},
        {.tag = CW_SE_INFLIGHT,
         .pid = 5,
         .state = 1,
         .qos = 1,
         .retain = 1,
         .sub_id = 3,
         .rec = rec},
        {.tag = CW_SE_INFLIGHT, .pid = 6, .state = 2},
        {.tag = CW_SE_QUEUE, .qos = 2, .sub_id = 0, .rec = rec},
        {.tag = CW_SE_WILL, .delay_s = 30, .in_ms = 1500, .rec = rec},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        n += cw_encode_sess_ent(&in[i], img + n, sizeof img - n);
    CHECK(n < sizeof img);
    cw_move m = {S("dev-7"), 0xABCDEF, CW_MOVE_OK, {img, (uint32_t)n}}, md;
    size_t fn = cw_encode_move(CW_MOVE_STATE, &m, buf, sizeof buf);
    cw_frame f;
    CHECK(frame_of(buf, fn, &f) && f.type == CW_MOVE_STATE && cw_decode_move(f.body, &md) == 0);
    CHECK(same(md.cid, "dev-7") && md.hlc == 0xABCDEF && md.status == CW_MOVE_OK);
    CHECK_EQ(md.image.len, n);
    CHECK_STR(cw_type_name(CW_MOVE_PENDING), "MOVE_PENDING");
    uint32_t off = 0;
    cw_sess_ent e;
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_HEAD &&
          e.expiry_ms == UINT64_MAX && e.next_pid == 9 && e.in_ms == 1234);
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_SUB && same(e.filter, "a/#") &&
          e.qos == 2 && e.flags == 3 && e.sub_id == 11);
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_REL && e.pid == 4);
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_INFLIGHT && e.pid == 5 &&
          e.state == 1 && e.qos == 1 && e.retain == 1 && e.sub_id == 3);
    CHECK(e.rec.origin == 0x1234 && e.rec.mid == 77 && e.rec.expiry_ms == 5000 &&
          same(e.rec.topic, "a/b") && same(e.rec.share, "$share/g/a/#") &&
          same(e.rec.payload, "xyz"));
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_INFLIGHT && e.pid == 6 &&
          e.state == 2 && e.rec.topic.len == 0);
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_QUEUE && e.qos == 2);
    CHECK(cw_sess_next(md.image, &off, &e) == 1 && e.tag == CW_SE_WILL && e.delay_s == 30 &&
          e.in_ms == 1500 && same(e.rec.topic, "a/b"));
    CHECK(cw_sess_next(md.image, &off, &e) == 0);
    /* truncated, an unknown tag, a QoS 3 item, an inflight entry with packet id 0 */
    off = 0;
    int r, k = 0;
    while ((r = cw_sess_next((st_bytes){img, (uint32_t)n - 1}, &off, &e)) == 1)
        k++;
    CHECK(r == ST_EMALFORMED && k == 6); /* the last entry is cut */
    uint8_t bad_tag[] = {9, 0};
    off = 0;
    CHECK(cw_sess_next((st_bytes){bad_tag, 2}, &off, &e) == ST_EMALFORMED);
    cw_sess_ent q3 = in[5];
    q3.qos = 3;
    size_t qn = cw_encode_sess_ent(&q3, img, sizeof img);
    off = 0;
    CHECK(cw_sess_next((st_bytes){img, (uint32_t)qn}, &off, &e) == ST_EMALFORMED);
    cw_sess_ent p0 = in[4];
    p0.pid = 0;
    qn = cw_encode_sess_ent(&p0, img, sizeof img);
    off = 0;
    CHECK(cw_sess_next((st_bytes){img, (uint32_t)qn}, &off, &e) == ST_EMALFORMED);
    m.cid = S(""); /* a move names its client id */
    fn = cw_encode_move(CW_MOVE_BEGIN, &m, buf, sizeof buf);
    CHECK(frame_of(buf, fn, &f) && cw_decode_move(f.body, &md) == ST_EMALFORMED);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--write") == 0) {
        uint8_t buf[4096];
        size_t n = golden_frames(buf, sizeof buf);
        FILE *f = fopen(golden_path, "wb");
        if (!f || fwrite(buf, 1, n, f) != n) return 1;
        fclose(f);
        printf("wrote %s (%zu bytes)\n", golden_path, n);
        return 0;
    }
    RUN(test_hello_round_trip);
    RUN(test_move);
    RUN(test_hello_malformed);
    RUN(test_frame_limits);
    RUN(test_welcome_and_small_frames);
    RUN(test_ack_and_routes);
    RUN(test_fwd);
    RUN(test_tail);
    RUN(test_propose);
    RUN(test_probe);
    RUN(test_ask);
    RUN(test_repl);
    RUN(test_golden);
    return TEST_END();
}
