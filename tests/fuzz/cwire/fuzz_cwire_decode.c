/* fuzz_cwire_decode.c — libFuzzer target for the cluster wire codec.
 *
 * The first input byte picks the frame limit (pre-auth or not), or (bit 1) that the rest is
 * one Raft entry (centry.h) instead of a stream of frames. Every frame whose body decodes is walked
 * (extension lists, route ops, FWD records, nacks), re-encoded, decoded again and re-encoded: the
 * two encodings must be byte-identical (decode∘encode is a fixed point after one step). Any
 * inconsistency aborts. */
#include "core/err.h"
#include "cwire/centry.h"
#include "cwire/cwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_cwire_decode: %s (line %d)\n", msg, __LINE__);                       \
        abort();                                                                                   \
    } while (0)

#define MAXOPS 1024
static uint8_t enc1[1 << 17], enc2[1 << 17];
static cw_route_op ops[MAXOPS];
static cw_record recs[MAXOPS];
static cw_log_entry logs[MAXOPS];
static uint64_t nacks[MAXOPS];

static uint8_t img[1 << 17];

/* A MOVE frame: its session image is walked entry by entry and rebuilt; a valid image
 * re-encodes to exactly its bytes. */
static size_t reencode_move(uint8_t type, st_bytes body, uint8_t *out, size_t cap)
{
    cw_move m;
    if (cw_decode_move(body, &m)) return 0;
    uint32_t off = 0;
    size_t n = 0;
    cw_sess_ent e;
    int r;
    while ((r = cw_sess_next(m.image, &off, &e)) == 1) {
        size_t k = cw_encode_sess_ent(&e, img + n, sizeof img - n);
        if (k > sizeof img - n) return 0;
        n += k;
    }
    if (r == 0 && (n != m.image.len || memcmp(img, m.image.p, n) != 0))
        FAIL("session image does not re-encode to its bytes");
    return cw_encode_move(type, &m, out, cap);
}

static size_t reencode(uint8_t type, st_bytes body, uint8_t *out, size_t cap)
{
    union {
        cw_hello h;
        cw_welcome w;
        cw_refuse r;
        cw_goodbye g;
        cw_ack a;
        cw_route_sync s;
        cw_route_batch b;
        cw_resume rs;
        cw_fwd f;
        cw_join_req jq;
        cw_join_result jr;
        cw_leave_req lq;
        cw_tail_req tq;
        cw_propose pp;
        cw_probe pb;
        cw_ask ak;
        cw_repl rp;
        cw_repl_ack ra;
        cw_restore rt;
        cw_propose_result pr;
        cw_log_entries le;
        cw_tail_snapshot ts;
    } u;
    uint8_t proof[CW_PROOF];
    uint64_t v;
    st_bytes ext;
    uint32_t off = 0, n = 0;
    switch (type) {
    case CW_HELLO:
        if (cw_decode_hello(body, &u.h)) return 0;
        cw_ext e;
        while (cw_ext_next(u.h.ext, &off, &e))
            n++;
        return cw_encode_hello(&u.h, out, cap);
    case CW_WELCOME:
        return cw_decode_welcome(body, &u.w) ? 0 : cw_encode_welcome(&u.w, out, cap);
    case CW_PROOF_MSG:
        return cw_decode_proof(body, proof) ? 0 : cw_encode_proof(proof, out, cap);
    case CW_READY:
        return cw_decode_ready(body, &ext) ? 0 : cw_encode_ready(ext, out, cap);
    case CW_REFUSE:
        return cw_decode_refuse(body, &u.r) ? 0 : cw_encode_refuse(&u.r, out, cap);
    case CW_PING:
    case CW_PONG:
        return cw_decode_u64(body, &v) ? 0 : cw_encode_u64(type, v, out, cap);
    case CW_GOODBYE:
        return cw_decode_goodbye(body, &u.g) ? 0 : cw_encode_goodbye(&u.g, out, cap);
    case CW_ACK:
        if (cw_decode_ack(body, &u.a) || u.a.nnack > MAXOPS) return 0;
        for (uint16_t i = 0; i < u.a.nnack; i++)
            nacks[i] = cw_ack_nack(&u.a, i);
        return cw_encode_ack(u.a.seq, nacks, u.a.nnack, out, cap);
    case CW_ROUTE_SYNC_BEGIN:
    case CW_ROUTE_SYNC_END:
        return cw_decode_route_sync(type, body, &u.s) ? 0
                                                      : cw_encode_route_sync(type, &u.s, out, cap);
    case CW_ROUTE_BATCH:
        if (cw_decode_route_batch(body, &u.b) || u.b.n > MAXOPS) return 0;
        while (n < MAXOPS && cw_route_next(&u.b, &off, &ops[n]))
            n++;
        if (n != u.b.n) FAIL("route walker count differs from the decoded count");
        return cw_encode_route_batch(u.b.seq, ops, u.b.n, out, cap);
    case CW_RESUME:
        return cw_decode_resume(body, &u.rs) ? 0 : cw_encode_resume(&u.rs, out, cap);
    case CW_JOIN_REQ:
        return cw_decode_join_req(body, &u.jq) ? 0 : cw_encode_join_req(&u.jq, out, cap);
    case CW_JOIN_RESULT:
        return cw_decode_join_result(body, &u.jr) ? 0 : cw_encode_join_result(&u.jr, out, cap);
    case CW_LEAVE_REQ:
        return cw_decode_leave_req(body, &u.lq) ? 0 : cw_encode_leave_req(&u.lq, out, cap);
    case CW_FWD:
        if (cw_decode_fwd(body, &u.f) || u.f.n > MAXOPS) return 0;
        while (n < MAXOPS && cw_fwd_next(&u.f, &off, &recs[n]))
            n++;
        if (n != u.f.n) FAIL("record walker count differs from the decoded count");
        return cw_encode_fwd(u.f.first_seq, recs, u.f.n, out, cap);
    case CW_PROBE_REQ:
    case CW_PROBE_RESP:
        return cw_decode_probe(type, body, &u.pb) ? 0 : cw_encode_probe(type, &u.pb, out, cap);
    case CW_ASK:
    case CW_ANSWER:
        return cw_decode_ask(type, body, &u.ak) ? 0 : cw_encode_ask(type, &u.ak, out, cap);
    case CW_REPL:
        return cw_decode_repl(body, &u.rp) ? 0 : cw_encode_repl(&u.rp, out, cap);
    case CW_REPL_ACK:
        return cw_decode_repl_ack(body, &u.ra) ? 0 : cw_encode_repl_ack(&u.ra, out, cap);
    case CW_RESTORE:
        return cw_decode_restore(body, &u.rt) ? 0 : cw_encode_restore(&u.rt, out, cap);
    case CW_PROPOSE:
        return cw_decode_propose(body, &u.pp) ? 0 : cw_encode_propose(&u.pp, out, cap);
    case CW_PROPOSE_RESULT:
        return cw_decode_propose_result(body, &u.pr) ? 0
                                                     : cw_encode_propose_result(&u.pr, out, cap);
    case CW_TAIL_REQ:
        return cw_decode_tail_req(body, &u.tq) ? 0 : cw_encode_tail_req(&u.tq, out, cap);
    case CW_TAIL_SNAPSHOT:
        return cw_decode_tail_snapshot(body, &u.ts) ? 0 : cw_encode_tail_snapshot(&u.ts, out, cap);
    case CW_LOG_ENTRIES:
        if (cw_decode_log_entries(body, &u.le) || u.le.n > MAXOPS) return 0;
        while (n < MAXOPS && cw_log_next(&u.le, &off, &logs[n]))
            n++;
        if (n != u.le.n) FAIL("log walker count differs from the decoded count");
        return cw_encode_log_entries(logs, u.le.n, out, cap);
    case CW_MOVE_BEGIN:
    case CW_MOVE_STATE:
    case CW_MOVE_END:
    case CW_MOVE_PENDING:
    case CW_MOVE_OFFER:
        return reencode_move(type, body, out, cap);
    default:
        return 0;
    }
}

static ce_op ceops[MAXOPS];

/* An entry that decodes re-encodes to the same bytes (entries are exact). */
static void entry(const uint8_t *p, size_t n)
{
    ce_entry e;
    if (n > UINT32_MAX || ce_decode_entry((st_bytes){p, (uint32_t)n}, &e) != 0) return;
    uint32_t off = 0, k = 0;
    while (k < MAXOPS && ce_op_next(&e, &off, &ceops[k]))
        k++;
    if (k < MAXOPS && k != e.n) FAIL("op walker count differs from the decoded count");
    if (e.n > MAXOPS) return;
    size_t m = ce_encode_entry(e.hlc, ceops, e.n, enc1, sizeof enc1);
    if (m > n || n - m >= 8 || memcmp(enc1, p, m) != 0) /* the rest is zero padding */
        FAIL("entry does not re-encode to its bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 2) {
        entry(data + 1, size - 1);
        return 0;
    }
    uint32_t limit = (data[0] & 1) ? CW_MAX_PREAUTH : CW_MAX_FRAME;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    cw_frame f;
    long r;
    while (n && (r = cw_frame_decode(p, n, limit, &f)) > 0) {
        if ((size_t)r > n || f.body.len + CW_HDR != (size_t)r) FAIL("frame length");
        cw_type_name(f.type);
        size_t n1 = reencode(f.type, f.body, enc1, sizeof enc1);
        if (n1 && n1 <= sizeof enc1) {
            cw_frame g;
            if (cw_frame_decode(enc1, n1, CW_MAX_FRAME, &g) != (long)n1 || g.type != f.type)
                FAIL("re-encoded frame does not parse");
            size_t n2 = reencode(g.type, g.body, enc2, sizeof enc2);
            if (n2 != n1 || memcmp(enc1, enc2, n1) != 0) FAIL("encode(decode(x)) not stable");
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}
