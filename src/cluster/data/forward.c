/* forward.c — data lanes on the workers (forward.h, docs/cluster.md §8). Everything here
 * runs on the worker that owns the lane, except st_fwd_adopt / st_fwd_peer_down, which
 * the cluster thread calls to post commands into a worker's inbox. */
#include "cluster/data/forward.h"
#include "broker/client.h"
#include "broker/durable.h"
#include "broker/flow.h"
#include "cluster/data/internal.h"
#include "cluster/data/leftover.h"
#include "cluster/data/move.h"
#include "cluster/data/msgrec.h"
#include "core/clock.h"
#include "core/err.h"
#include "net/tls.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FWD_MAX_RECS 64
#define FWD_MAX_BYTES (64 * 1024)
#define MAX_NACKS 64               /* per ACK; one more sends the ACK at once */
#define MAX_HELD 8                 /* an inbound lane's ranges waiting for the disk */
#define OUT_PENDING_MAX (1u << 20) /* encode no more while this much is unwritten */
#define IN_MAX (4u << 20)          /* read no more while this much is unparsed */

enum { LANE_DOWN, LANE_WAIT_RESUME, LANE_UP };
enum {
    CMD_ADOPT,
    CMD_PEER_DOWN,
    CMD_ROUTES_ACKED,
    CMD_KICK,
    CMD_REGISTER_ALL,
    CMD_MOVE,
    CMD_EVACUATE
};

typedef struct fwd_cmd {
    int kind;
    int fd, outbound, gone;
    st_tls *tls; /* ADOPT: the lane's TLS connection on fd, or NULL */
    uint16_t slot, lane;
    uint64_t peer_id, peer_boot;
    uint64_t hlc;  /* KICK: the newer registration; MOVE: the sender's node id */
    uint8_t ftype; /* MOVE: the frame's type */
    size_t npre;
    uint8_t pre[]; /* ADOPT: bytes read behind the handshake; KICK: the client id; MOVE: the
                      frame's body */
} fwd_cmd;

typedef struct rec {
    st_msg *msg;
    st_pack *pack;
    st_sharekey *share; /* a SHARED record: the group there picks one member */
    uint32_t epoch;     /* the peer's process generation when queued (st_fwd_new_boot) */
    uint8_t kind;       /* CW_REC_* */
} rec;

typedef struct iobuf {
    uint8_t *p;
    size_t len, off, cap;
} iobuf;

typedef struct fwd_w fwd_w;

typedef struct lane_out {
    st_io io;
    st_tls *tls; /* cluster.proto_dist = inet_tls */
    fwd_w *fw;
    uint16_t slot;
    int state;
    uint64_t peer_boot;   /* the peer process the queue is for (0: not met yet) */
    uint64_t next_seq;    /* the next record's seq */
    uint64_t acked, sent; /* highest acked / written */
    rec *q;               /* unacked records; q[qhead] has seq acked + 1 */
    size_t qhead, qlen, qcap;
    size_t bytes;
    int64_t down_since;
    int detached; /* down past forward_ack_timeout: acks stop waiting for it */
    int full;     /* past forward_buffer_high: counted in w->remote_blocked */
    int over;     /* past it with anything queued (QoS 0 dropped too): f->lanes_over */
    int dirty;
    struct lane_out *dnext;
    iobuf in, out;
} lane_out;

typedef struct lane_in {
    st_io io;
    st_tls *tls;
    fwd_w *fw;
    uint16_t slot, lane;
    uint64_t node;       /* the sender's node id */
    uint64_t boot, last; /* the sender process, and the last seq delivered from it */
    int ack_due;
    uint16_t nnack;
    uint64_t nack[MAX_NACKS]; /* SHARED records with no member here, for the next ACK */
    /* wal_sync_interval 0: records from seq `from` on wrote to the durable store, and are
     * acknowledged once its mark has settled (on disk); the ACK stops before the first */
    struct {
        uint64_t from;
        uint32_t mark;
    } held[MAX_HELD];
    uint8_t nheld;
    int paused; /* not read while the node is congested (flow.h) */
    struct lane_in *next, *dnext;
    iobuf in, out;
} lane_in;

struct fwd_w {
    st_fwd *f;
    st_worker *w;
    lane_out *out[ST_MAX_NODES];
    lane_in *in;
    lane_out *dirty;
    lane_in *dirty_in;
    uint32_t npaused;      /* inbound lanes paused */
    st_moves *moves;       /* sessions moving to or from this worker (move.h) */
    atomic_long evac_left; /* evacuating: sessions not gone yet (-1: not evacuating) */
    uint8_t *scratch;
    size_t scap;
};

struct st_fwd {
    st_broker *b;
    int nw;
    st_data *d;
    st_fwd_cfg cfg;
    fwd_w *w;
    _Atomic uint64_t sent, received, dropped, resent, redispatched;
    atomic_int lanes_over; /* lanes past buffer_high, every worker's (health.h's alarm) */
    _Atomic uint64_t live[ST_MAX_NODES / 64]; /* peers with a CONTROL link: retained copies */
    _Atomic uint32_t epoch[ST_MAX_NODES];     /* per peer: bumped when it restarted */
};

/* ---- buffers ------------------------------------------------------------------------ */

static uint8_t *buf_room(iobuf *b, size_t n)
{
    if (b->off && b->off == b->len) b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off) { /* compact first */
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n)
            cap *= 2;
        if (cap != b->cap) {
            uint8_t *p = realloc(b->p, cap);
            if (!p) return NULL;
            b->p = p;
            b->cap = cap;
        }
    }
    return b->p + b->len;
}

static void buf_free(iobuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* A lane's socket and its TLS connection (or NULL) closed. */
static void sock_close(int fd, st_tls **tls)
{
    st_tls_free(*tls);
    *tls = NULL;
    close(fd);
}

/* Write what the socket takes. 0: all written, 1: more left (EPOLLOUT wanted), -1: error. */
static int buf_write(int fd, st_tls *tls, iobuf *b)
{
    while (b->off < b->len) {
        ssize_t n;
        if (tls) {
            n = st_tls_write(tls, b->p + b->off, b->len - b->off);
            if (n == ST_EAGAIN) return 1;
            if (n < 0) {
                errno = EIO;
                return -1;
            }
        } else {
            n = send(fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
        }
        b->off += (size_t)n;
    }
    b->off = b->len = 0;
    return 0;
}

/* Read what is there. 0: open, -1: closed or error. */
static int buf_read(int fd, st_tls *tls, iobuf *b)
{
    while (b->len - b->off < IN_MAX) {
        uint8_t *dst = buf_room(b, 16384);
        if (!dst) return -1;
        ssize_t n =
            tls ? st_tls_read(tls, dst, b->cap - b->len) : recv(fd, dst, b->cap - b->len, 0);
        if (tls && n < 0) return n == ST_EAGAIN ? 0 : -1;
        if (n > 0) {
            b->len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    return 0;
}

/* ---- outbound lanes ----------------------------------------------------------------- */

static size_t rec_bytes(const st_msg *m)
{
    return m->topic_len + m->payload_len + 64;
}

static void rec_release(lane_out *l, rec *r)
{
    if (r->pack) st_pack_done(r->pack);
    r->pack = NULL;
    st_sharekey_unref(r->share);
    r->share = NULL;
    l->bytes -= rec_bytes(r->msg);
    st_msg_unref(r->msg);
}

/* Past forward_buffer_high (over), and back at a quarter of it: the health alarm's count. */
static void set_over(lane_out *l, int over)
{
    if (l->over == over) return;
    l->over = over;
    atomic_fetch_add_explicit(&l->fw->f->lanes_over, over ? 1 : -1, memory_order_relaxed);
}

static void set_full(lane_out *l, int full)
{
    if (l->full == full) return;
    l->full = full;
    if (full)
        l->fw->w->remote_blocked++;
    else
        l->fw->w->remote_blocked--;
}

static void ack_upto(lane_out *l, uint64_t seq)
{
    while (l->qlen && l->acked < seq) {
        rec_release(l, &l->q[l->qhead]);
        l->qhead = (l->qhead + 1) % l->qcap;
        l->qlen--;
        l->acked++;
    }
    if (l->sent < l->acked) l->sent = l->acked;
    if (l->full && l->bytes <= (size_t)l->fw->f->cfg.buffer_high / 4) set_full(l, 0);
    if (l->over && l->bytes <= (size_t)l->fw->f->cfg.buffer_high / 4) set_over(l, 0);
}

static int queue_push(lane_out *l, st_msg *m, st_pack *p, st_sharekey *share, uint8_t kind);
static lane_out *lane_out_get(fwd_w *fw, uint16_t slot);
static void mark_dirty(lane_out *l);

/* A SHARED record that node `failed` could not deliver (NACK: no member there any more) or
 * that was queued for a node that is gone: another member of the group gets it, here or
 * on another node, and the publisher's ack waits for that one. r keeps only its message. */
static void redispatch(fwd_w *fw, rec *r, uint16_t failed)
{
    st_fwd *f = fw->f;
    uint16_t slot = 0;
    int where = st_subs_repick(f->b->subs, r->share, failed, &fw->w->rng, &slot);
    if (where == 1 &&
        !st_worker_deliver_shared(fw->w, r->msg, (const char *)r->share->s, r->share->len))
        where = 0;
    lane_out *to = where == 2 ? lane_out_get(fw, slot) : NULL;
    if (where == 2 && (!to || queue_push(to, r->msg, r->pack, r->share, r->kind) < 0)) where = 0;
    if (where == 2) {
        r->pack = NULL; /* both move to the new queue */
        r->share = NULL;
        if (to->state == LANE_UP) mark_dirty(to);
    }
    atomic_fetch_add_explicit(where ? &f->redispatched : &f->dropped, 1, memory_order_relaxed);
}

/* The peer process is gone (restart, goodbye, left): the records queued before generation
 * `epoch` (all: UINT32_MAX) are not owed to anybody there, but for QoS 1/2 messages when
 * `keep` (it restarted: its durable sessions came back with it, docs/durability.md §5;
 * they are sent to the new process); shared ones go to another member. Seqs never move:
 * with `keep` the others stay as placeholders, without it they count as acknowledged. */
static void drop_queue_before(lane_out *l, uint32_t epoch, int keep)
{
    size_t shared = 0, kept = 0, n = 0;
    for (; n < l->qlen; n++) {
        rec *r = &l->q[(l->qhead + n) % l->qcap];
        if (r->epoch >= epoch) break; /* queued for the new process, and all after it */
        if ((r->kind & CW_REC_SHARED) && r->share) {
            redispatch(l->fw, r, l->slot);
            shared++;
        } else if (keep && (r->kind & CW_REC_DELIVER) && !(r->kind & CW_REC_SHARED) &&
                   r->msg->qos > 0) {
            kept++;
            continue;
        }
        if (!keep) {
            rec_release(l, r);
            continue;
        }
        /* the peer restarted: every record keeps its seq (its store may say how far the old
         * process had them on disk: its RESUME), what is not sent again is a placeholder */
        if (r->pack) st_pack_done(r->pack);
        r->pack = NULL;
        st_sharekey_unref(r->share);
        r->share = NULL;
        r->kind = CW_REC_SHARED; /* fill_record: a group no node has; NACKed, ignored */
    }
    if (!keep && n) { /* they count as acknowledged: a seq is never used twice (a store
                       * of the peer may name it in a RESUME) */
        l->qhead = (l->qhead + n) % l->qcap;
        l->qlen -= n;
        l->acked += n;
    }
    l->sent = l->acked;
    if (n && keep)
        LOG_INFO(l->fw->w->log,
                 "cluster: node slot %u restarted: %zu queued message(s) not for its new process, "
                 "%zu shared redispatched, %zu kept",
                 l->slot, n - kept - shared, shared, kept);
    else if (n)
        LOG_INFO(l->fw->w->log,
                 "cluster: %zu queued message(s) dropped, %zu shared redispatched, %zu kept",
                 n - kept - shared, shared, kept);
    atomic_fetch_add(&l->fw->f->dropped, n - kept - shared);
    if (l->full && l->bytes <= (size_t)l->fw->f->cfg.buffer_high / 4) set_full(l, 0);
    if (l->over && l->bytes <= (size_t)l->fw->f->cfg.buffer_high / 4) set_over(l, 0);
}

static void drop_queue(lane_out *l)
{
    drop_queue_before(l, UINT32_MAX, 0);
}

/* The peer was declared down but may come back as the same process: its plain records stay
 * (resent if it does), its shared ones go to another member now and stay behind as
 * placeholders that keep the sequence (fill_record: a group no node has; NACKed, ignored). */
static void redispatch_shared(lane_out *l)
{
    for (size_t i = 0; i < l->qlen; i++) {
        rec *r = &l->q[(l->qhead + i) % l->qcap];
        if (!(r->kind & CW_REC_SHARED) || !r->share) continue;
        redispatch(l->fw, r, l->slot);
        if (r->pack) st_pack_done(r->pack);
        r->pack = NULL;
        st_sharekey_unref(r->share);
        r->share = NULL;
    }
}

/* The peer's ACK refuses these seqs (shared records it had no member for); they may lie
 * beyond the ACK itself (records before them wait for the peer's disk). */
static void on_nacks(lane_out *l, const cw_ack *a)
{
    for (uint16_t i = 0; i < a->nnack; i++) {
        uint64_t s = cw_ack_nack(a, i);
        if (s <= l->acked || s > l->acked + l->qlen) continue;
        rec *r = &l->q[(l->qhead + (s - l->acked - 1)) % l->qcap];
        if ((r->kind & CW_REC_SHARED) && r->share) redispatch(l->fw, r, l->slot);
    }
}

static void release_waits(lane_out *l)
{
    for (size_t i = 0; i < l->qlen; i++) {
        rec *r = &l->q[(l->qhead + i) % l->qcap];
        if (r->pack) st_pack_done(r->pack);
        r->pack = NULL;
    }
}

static void report_down(fwd_w *fw, uint16_t slot, uint16_t lane)
{
    st_data_item *it = calloc(1, sizeof *it);
    if (!it) return;
    it->kind = ST_DI_LANE_DOWN;
    it->slot = slot;
    it->lane = lane;
    st_data_post(fw->f->d, it);
}

static void out_close(lane_out *l, const char *why)
{
    if (l->io.fd < 0) return;
    st_loop_del(l->fw->w->loop, &l->io);
    sock_close(l->io.fd, &l->tls);
    l->io.fd = -1;
    l->state = LANE_DOWN;
    l->down_since = st_loop_now(l->fw->w->loop);
    l->in.off = l->in.len = l->out.off = l->out.len = 0;
    LOG_DEBUG(l->fw->w->log, "cluster: data lane %u to node slot %u down: %s", l->fw->w->id,
              l->slot, why);
    report_down(l->fw, l->slot, l->fw->w->id);
}

static void mark_dirty(lane_out *l)
{
    if (l->dirty) return;
    l->dirty = 1;
    l->dnext = l->fw->dirty;
    l->fw->dirty = l;
}

static void on_resume(lane_out *l, const cw_resume *r)
{
    uint64_t last = r->sender_boot == l->fw->f->d->env.boot ? r->last_seq : 0;
    if (last > l->acked + l->qlen) last = l->acked + l->qlen; /* cannot have more than we sent */
    ack_upto(l, last);
    uint64_t resend = l->qlen;
    if (resend) atomic_fetch_add(&l->fw->f->resent, resend);
    l->sent = l->acked;
    l->state = LANE_UP;
    LOG_DEBUG(l->fw->w->log, "cluster: data lane %u to node slot %u up, %llu to resend",
              l->fw->w->id, l->slot, (unsigned long long)resend);
    l->detached = 0;
    mark_dirty(l);
}

static void out_frames(lane_out *l)
{
    size_t off = l->in.off;
    while (l->io.fd >= 0) {
        cw_frame f;
        long r = cw_frame_decode(l->in.p + off, l->in.len - off, CW_MAX_FRAME, &f);
        if (r == 0) break;
        if (r < 0) {
            out_close(l, "bad frame");
            return;
        }
        off += (size_t)r;
        if (f.type == CW_RESUME) {
            cw_resume rs;
            if (cw_decode_resume(f.body, &rs) == 0) on_resume(l, &rs);
        } else if (f.type == CW_ACK) {
            cw_ack a;
            if (cw_decode_ack(f.body, &a) == 0 && a.seq <= l->acked + l->qlen) {
                on_nacks(l, &a);
                ack_upto(l, a.seq);
            }
        } else if (!cw_type_known(f.type) && !(f.flags & CW_F_IGNORABLE)) {
            out_close(l, "unexpected frame");
            return;
        }
    }
    l->in.off = off;
}

static void out_io(st_io *io, uint32_t events)
{
    lane_out *l = io->ud;
    if (events & (EPOLLERR | EPOLLHUP)) events |= EPOLLIN;
    if (events & EPOLLIN) {
        int rc = buf_read(io->fd, l->tls, &l->in);
        out_frames(l);
        if (rc < 0 && l->io.fd >= 0) out_close(l, "closed by peer");
        if (l->io.fd < 0) return;
    }
    if (events & EPOLLOUT) mark_dirty(l);
}

static lane_out *lane_out_get(fwd_w *fw, uint16_t slot)
{
    lane_out *l = fw->out[slot];
    if (l) return l;
    if (!(l = calloc(1, sizeof *l))) return NULL;
    l->fw = fw;
    l->slot = slot;
    l->io.fd = -1;
    l->io.cb = out_io;
    l->io.ud = l;
    l->next_seq = 1;
    l->down_since = st_loop_now(fw->w->loop);
    fw->out[slot] = l;
    return l;
}

/* Queue m for l (the queue takes a reference of m and the caller's of share). */
static int queue_push(lane_out *l, st_msg *m, st_pack *p, st_sharekey *share, uint8_t kind)
{
    if (l->qlen == l->qcap) {
        size_t nc = l->qcap ? l->qcap * 2 : 64;
        rec *q = malloc(nc * sizeof *q);
        if (!q) return ST_ENOMEM;
        for (size_t i = 0; i < l->qlen; i++)
            q[i] = l->q[(l->qhead + i) % l->qcap];
        free(l->q);
        l->q = q;
        l->qhead = 0;
        l->qcap = nc;
    }
    uint32_t epoch = atomic_load_explicit(&l->fw->f->epoch[l->slot], memory_order_acquire);
    l->q[(l->qhead + l->qlen) % l->qcap] = (rec){st_msg_ref(m), p, share, epoch, kind};
    l->qlen++;
    l->next_seq++;
    l->bytes += rec_bytes(m);
    return 0;
}

/* One record of kind for node slot (with share for a SHARED one; its reference is taken).
 * A copy that only stores a retained message never holds the publisher's ack. Returns 1 if
 * queued. */
static int forward_one(st_fwd *f, fwd_w *fw, uint16_t slot, st_msg *msg, st_sharekey *share,
                       uint8_t kind, st_ackwait *aw)
{
    lane_out *l = lane_out_get(fw, slot);
    if (l && l->bytes > (size_t)f->cfg.buffer_high) {
        set_over(l, 1);
        /* QoS 0 and store-only copies are dropped (the next catch-up repairs a store); QoS
         * 1/2 still goes (its publisher is paused from now on) unless the node is
         * detached: then nobody waits for it any more */
        if (msg->qos == 0 || l->detached || kind == CW_REC_STORE_RETAINED)
            l = NULL;
        else
            set_full(l, 1);
    }
    if (!l) {
        atomic_fetch_add_explicit(&f->dropped, 1, memory_order_relaxed);
        st_sharekey_unref(share);
        return 0;
    }
    st_pack *p = NULL;
    if (f->cfg.forward_ack && msg->qos && !l->detached && kind != CW_REC_STORE_RETAINED)
        p = st_ackwait_hold(aw);
    if (queue_push(l, msg, p, share, kind) < 0) {
        if (p) st_pack_done(p);
        st_sharekey_unref(share);
        return 0;
    }
    if (l->state == LANE_UP) mark_dirty(l);
    return 1;
}

static size_t fwd_forward(void *cx, st_worker *w, st_msg *msg, const st_nodeset *dest,
                          st_ackwait *aw)
{
    st_fwd *f = cx;
    fwd_w *fw = &f->w[w->id];
    size_t n = 0;
    uint8_t store = msg->rv ? CW_REC_STORE_RETAINED : 0; /* stored here: every node stores it */
    for (unsigned i = 0; i < ST_MAX_NODES / 64; i++) {
        uint64_t live = store ? atomic_load_explicit(&f->live[i], memory_order_relaxed) : 0;
        for (uint64_t bits = dest->b[i] | live; bits; bits &= bits - 1) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            uint8_t kind = (dest->b[i] >> b & 1) ? CW_REC_DELIVER | store : store;
            n += (size_t)forward_one(f, fw, (uint16_t)(i * 64 + b), msg, NULL, kind, aw) &&
                 (kind & CW_REC_DELIVER);
        }
    }
    for (uint32_t i = 0; i < dest->npicks; i++)
        n += (size_t)forward_one(f, fw, dest->picks[i].slot, msg, dest->picks[i].key, CW_REC_SHARED,
                                 aw);
    return n;
}

void st_fwd_new_boot(st_fwd *f, uint16_t slot)
{
    atomic_fetch_add_explicit(&f->epoch[slot], 1, memory_order_release);
}

void st_fwd_set_live(st_fwd *f, uint16_t slot, int live)
{
    uint64_t bit = 1ull << (slot & 63);
    if (live)
        atomic_fetch_or(&f->live[slot >> 6], bit);
    else
        atomic_fetch_and(&f->live[slot >> 6], ~bit);
}

/* Catch-up (worker 0): every retained entry, tombstones included, to the node in slot. */
typedef struct push_ctx {
    st_fwd *f;
    fwd_w *fw;
    uint16_t slot;
    size_t n;
} push_ctx;

static void push_one(st_msg *m, void *ctx)
{
    push_ctx *p = ctx;
    st_ackwait none = {0};
    p->n += (size_t)forward_one(p->f, p->fw, p->slot, m, NULL, CW_REC_STORE_RETAINED, &none);
    st_msg_unref(m);
}

static void retain_push(fwd_w *fw, uint16_t slot)
{
    push_ctx p = {fw->f, fw, slot, 0};
    st_retain_dump(fw->w->b->retain, push_one, &p);
    if (p.n)
        LOG_DEBUG(fw->w->log, "cluster: %zu retained message(s) sent to node slot %u", p.n, slot);
}

/* The record for q, its properties encoded at props (the caller's scratch space). */
static size_t fill_record(const rec *q, int64_t now, cw_record *r, uint8_t *props, size_t room)
{
    size_t plen = st_msgrec_fill(q->msg, now, r, props, room);
    r->kind = q->kind;
    if (q->share) r->share = (st_bytes){(const uint8_t *)q->share->s, q->share->len};
    if (!q->share && (q->kind & CW_REC_SHARED)) /* redispatched: a placeholder (above) */
        r->share = (st_bytes){(const uint8_t *)"$share//", 8};
    if (q->kind & CW_REC_STORE_RETAINED) r->hlc = q->msg->rv;
    return plen;
}

/* Encode the unsent records of l into FWD frames while the socket keeps up. */
static void out_fill(lane_out *l)
{
    fwd_w *fw = l->fw;
    int64_t now = st_loop_now(fw->w->loop);
    cw_record recs[FWD_MAX_RECS];
    while (l->sent < l->acked + l->qlen && l->out.len - l->out.off < OUT_PENDING_MAX) {
        size_t first = (size_t)(l->sent - l->acked), n = 0, bytes = 0, poff = 0;
        while (first + n < l->qlen && n < FWD_MAX_RECS && bytes < FWD_MAX_BYTES) {
            const rec *q = &l->q[(l->qhead + first + n) % l->qcap];
            size_t room = st_msgrec_room(q->msg), need = poff + room;
            if (need > fw->scap) {
                uint8_t *s = realloc(fw->scratch, need * 2);
                if (!s) break;
                fw->scratch = s;
                fw->scap = need * 2;
                poff = 0; /* records filled so far point into the old buffer: refill */
                n = 0;
                bytes = 0;
                continue;
            }
            poff += fill_record(q, now, &recs[n], fw->scratch + poff, room);
            bytes += cw_record_size(&recs[n]);
            n++;
        }
        if (!n) return;
        size_t sz = cw_encode_fwd(l->sent + 1, recs, (uint16_t)n, NULL, 0);
        uint8_t *dst = buf_room(&l->out, sz);
        if (!dst) return;
        cw_encode_fwd(l->sent + 1, recs, (uint16_t)n, dst, sz);
        l->out.len += sz;
        l->sent += n;
        atomic_fetch_add_explicit(&fw->f->sent, n, memory_order_relaxed);
    }
}

static void out_flush(lane_out *l)
{
    if (l->io.fd < 0) return;
    if (l->state == LANE_UP) out_fill(l);
    int rc = buf_write(l->io.fd, l->tls, &l->out);
    if (rc < 0) {
        out_close(l, strerror(errno));
        return;
    }
    uint32_t ev = EPOLLIN | (rc ? EPOLLOUT : 0);
    if (rc == 0 && l->sent < l->acked + l->qlen && l->state == LANE_UP) {
        ev |= EPOLLOUT; /* more to encode: come back when writable */
    }
    if (ev != l->io.events) st_loop_mod(l->fw->w->loop, &l->io, ev);
}

/* ---- inbound lanes ------------------------------------------------------------------ */

static void in_close(lane_in *l)
{
    if (l->paused) {
        l->paused = 0;
        l->fw->npaused--;
    }
    if (l->io.fd < 0) return;
    st_loop_del(l->fw->w->loop, &l->io);
    sock_close(l->io.fd, &l->tls);
    l->io.fd = -1;
    l->in.off = l->in.len = l->out.off = l->out.len = 0;
}

/* Deliver one record here. 0: a SHARED one that found no member (the sender redispatches). */
static int deliver(fwd_w *fw, const cw_record *r)
{
    st_worker *w = fw->w;
    st_msg *m = st_msgrec_msg(r, st_loop_now(w->loop));
    if (!m) return 1;
    int ok = 1;
    if (r->kind & CW_REC_STORE_RETAINED) {
        m->rv = r->hlc ? r->hlc : 1;
        st_hlc_recv(&w->b->hlc, m->rv, st_wall_ms()); /* our next writes order after it */
        st_worker_store_retained(w, m);
    }
    if (r->kind & CW_REC_SHARED)
        ok = st_worker_deliver_shared(w, m, (const char *)r->share.p, r->share.len) > 0;
    else if (r->kind & CW_REC_DELIVER)
        st_worker_dispatch_local(w, m);
    st_msg_unref(m);
    atomic_fetch_add_explicit(&fw->f->received, 1, memory_order_relaxed);
    return ok;
}

/* The records delivered since the writes counter read w0, from seq `from` on, wrote to the
 * durable store: with wal_sync_interval 0 they are acknowledged once it has them on disk. */
static void in_hold(lane_in *l, uint64_t w0, uint64_t from)
{
    st_worker *w = l->fw->w;
    uint32_t m = st_durable_writes(w) != w0 ? st_durable_mark(w) : 0;
    if (!m) return;
    if (l->nheld && l->held[l->nheld - 1].mark == m) return; /* the same batch */
    if (l->nheld == MAX_HELD) { /* the last range waits for the newer mark too */
        l->held[MAX_HELD - 1].mark = m;
        return;
    }
    l->held[l->nheld].from = from;
    l->held[l->nheld++].mark = m;
}

/* The seq up to which what was delivered is acknowledged: all, but for what waits for the
 * disk. */
static uint64_t in_ackable(lane_in *l)
{
    st_worker *w = l->fw->w;
    uint8_t done = 0;
    while (done < l->nheld && st_durable_mark_done(w, l->held[done].mark))
        done++;
    if (done) {
        memmove(l->held, l->held + done, (l->nheld - done) * sizeof l->held[0]);
        l->nheld = (uint8_t)(l->nheld - done);
    }
    return l->nheld ? l->held[0].from - 1 : l->last;
}

/* Our ACK (cumulative, with the NACKs gathered: the sender takes those beyond the ACK too)
 * goes into the output buffer. */
static void queue_ack(lane_in *l)
{
    size_t cap = 32 + 8 * (size_t)l->nnack;
    uint8_t *dst = buf_room(&l->out, cap);
    if (dst) l->out.len += cw_encode_ack(in_ackable(l), l->nack, l->nnack, dst, cap);
    l->nnack = 0;
}

static int valid_record(const cw_record *r)
{
    return (r->kind & (CW_REC_DELIVER | CW_REC_SHARED | CW_REC_STORE_RETAINED)) &&
           (r->m & CW_MSG_QOS_MASK) <= 2 && mqtt_topic_name_check(r->topic.p, r->topic.len) == 0;
}

static void on_fwd(lane_in *l, const cw_fwd *fr)
{
    uint32_t off = 0;
    cw_record r;
    uint64_t seq = fr->first_seq, w0 = st_durable_writes(l->fw->w), from = l->last + 1;
    uint64_t wrote = w0;
    for (; cw_fwd_next(fr, &off, &r); seq++) {
        if (seq <= l->last) continue; /* resent after a reconnect: already delivered */
        int ok = !valid_record(&r) || deliver(l->fw, &r);
        if (!ok && l->nnack == MAX_NACKS) { /* the ACK goes now, with what it may cover */
            in_hold(l, w0, from);
            w0 = st_durable_writes(l->fw->w);
            from = seq;
            queue_ack(l);
        }
        if (!ok) l->nack[l->nnack++] = seq;
        l->last = seq;
    }
    if (st_durable_writes(l->fw->w) != wrote) /* in the same batch as what the records wrote */
        st_durable_lane(l->fw->w, l->node, l->lane, l->boot, l->last);
    in_hold(l, w0, from);
    if (!l->ack_due) {
        l->ack_due = 1;
        l->dnext = l->fw->dirty_in;
        l->fw->dirty_in = l;
    }
}

static void in_pause(lane_in *l)
{
    if (l->paused) return;
    l->paused = 1;
    l->fw->npaused++;
    st_loop_mod(l->fw->w->loop, &l->io, l->io.events & EPOLLOUT);
}

/* Parse and deliver what has been read, up to the point where the node is congested. */
static int in_parse(lane_in *l)
{
    size_t off = l->in.off;
    int rc = 0;
    for (;;) {
        if (st_flow_blocked(l->fw->w)) {
            in_pause(l);
            break;
        }
        cw_frame f;
        long r = cw_frame_decode(l->in.p + off, l->in.len - off, CW_MAX_FRAME, &f);
        if (r == 0) break;
        if (r < 0) {
            rc = -1;
            break;
        }
        off += (size_t)r;
        cw_fwd fr;
        if (f.type == CW_FWD && cw_decode_fwd(f.body, &fr) == 0) {
            on_fwd(l, &fr);
        } else if (!cw_type_known(f.type) && !(f.flags & CW_F_IGNORABLE)) {
            rc = -1;
            break;
        }
    }
    l->in.off = off;
    return rc;
}

static void in_io(st_io *io, uint32_t events)
{
    lane_in *l = io->ud;
    if (l->paused) return;
    int rc = buf_read(io->fd, l->tls, &l->in);
    if (in_parse(l) < 0 || rc < 0 || (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)))
        in_close(l);
}

static void in_resume_all(fwd_w *fw)
{
    for (lane_in *l = fw->in; l && !st_flow_blocked(fw->w); l = l->next) {
        if (!l->paused) continue;
        l->paused = 0;
        fw->npaused--;
        if (l->io.fd < 0) continue;
        st_loop_mod(fw->w->loop, &l->io, EPOLLIN | (l->io.events & EPOLLOUT));
        if (in_parse(l) < 0) in_close(l);
    }
}

static void in_flush(lane_in *l)
{
    if (l->io.fd < 0) return;
    if (l->ack_due) {
        queue_ack(l);
        l->ack_due = 0;
    }
    int rc = buf_write(l->io.fd, l->tls, &l->out);
    if (rc < 0) {
        in_close(l);
        return;
    }
    uint32_t ev = EPOLLIN | (rc ? EPOLLOUT : 0);
    if (ev != l->io.events) st_loop_mod(l->fw->w->loop, &l->io, ev);
}

static void in_io_cb(st_io *io, uint32_t events)
{
    lane_in *l = io->ud;
    if (events & EPOLLOUT) in_flush(l);
    if (l->io.fd >= 0 && events & (EPOLLIN | EPOLLERR | EPOLLHUP)) in_io(io, events);
}

static lane_in *lane_in_get(fwd_w *fw, uint16_t slot, uint16_t lane)
{
    for (lane_in *l = fw->in; l; l = l->next)
        if (l->slot == slot && l->lane == lane) return l;
    lane_in *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->fw = fw;
    l->slot = slot;
    l->lane = lane;
    l->io.fd = -1;
    l->io.cb = in_io_cb;
    l->io.ud = l;
    l->next = fw->in;
    fw->in = l;
    return l;
}

/* ---- commands from the cluster thread ----------------------------------------------- */

/* An ADOPT's stream that nobody takes. */
static void cmd_close(const fwd_cmd *c)
{
    st_tls_free(c->tls);
    close(c->fd);
}

static void adopt_in(fwd_w *fw, const fwd_cmd *c)
{
    lane_in *l = lane_in_get(fw, c->slot, c->lane);
    if (!l) {
        cmd_close(c);
        return;
    }
    in_close(l);
    if (l->boot != c->peer_boot) { /* a new sender process: its seqs start afresh */
        l->node = c->peer_id;
        l->boot = c->peer_boot;
        /* unless this node restarted and its store has that sender's records up to a seq:
         * those are not delivered twice (our RESUME names it) */
        l->last = st_durable_lane_last(fw->f->b->durable, c->peer_id, c->lane, c->peer_boot);
        l->nheld = 0;
    }
    l->io.fd = c->fd;
    if (st_loop_add(fw->w->loop, &l->io, EPOLLIN) < 0) {
        cmd_close(c);
        l->io.fd = -1;
        return;
    }
    l->tls = c->tls;
    uint8_t *pre = c->npre ? buf_room(&l->in, c->npre) : NULL;
    if (pre) { /* frames come after our RESUME only, but keep whatever came */
        memcpy(pre, c->pre, c->npre);
        l->in.len += c->npre;
    }
    /* what is delivered but not on disk yet comes again (and is skipped, then acked) */
    cw_resume r = {l->boot, in_ackable(l)};
    uint8_t *dst = buf_room(&l->out, 32);
    if (dst) l->out.len += cw_encode_resume(&r, dst, 32);
    in_flush(l);
}

static void adopt_out(fwd_w *fw, const fwd_cmd *c)
{
    lane_out *l = lane_out_get(fw, c->slot);
    if (!l) {
        cmd_close(c);
        report_down(fw, c->slot, fw->w->id);
        return;
    }
    if (l->io.fd >= 0) { /* cannot happen: the cluster thread dials one at a time */
        st_loop_del(fw->w->loop, &l->io);
        sock_close(l->io.fd, &l->tls);
    }
    if (l->peer_boot && l->peer_boot != c->peer_boot) /* it restarted */
        drop_queue_before(l, atomic_load(&fw->f->epoch[c->slot]), 1);
    l->peer_boot = c->peer_boot;
    l->io.fd = c->fd;
    l->state = LANE_WAIT_RESUME;
    if (st_loop_add(fw->w->loop, &l->io, EPOLLIN) < 0) {
        cmd_close(c);
        l->io.fd = -1;
        l->state = LANE_DOWN;
        report_down(fw, c->slot, fw->w->id);
        return;
    }
    l->tls = c->tls;
    /* catch-up: worker 0's lane carries our retained messages to every (re)connected peer;
     * the last writer wins there, so sending them again is harmless */
    if (fw->w->id == 0) retain_push(fw, c->slot);
    uint8_t *dst = c->npre ? buf_room(&l->in, c->npre) : NULL;
    if (dst) {
        memcpy(dst, c->pre, c->npre);
        l->in.len += c->npre;
        out_frames(l);
    }
}

/* The QoS 1/2 deliveries this lane to a member that left had not had acknowledged (l may be
 * NULL), packed for its adopter (leftover.h); posted even when there are none. */
static void post_leftovers(fwd_w *fw, const lane_out *l, uint16_t slot)
{
    st_buf b = {0};
    int64_t now = st_loop_now(fw->w->loop);
    for (size_t i = 0; l && i < l->qlen; i++) {
        const rec *r = &l->q[(l->qhead + i) % l->qcap];
        if ((r->kind & CW_REC_DELIVER) && !(r->kind & CW_REC_SHARED) && r->msg->qos > 0)
            st_leftover_put(&b, fw->w->id, l->acked + 1 + i, r->msg, now);
    }
    st_data_item *it = b.oom ? NULL : calloc(1, sizeof *it + b.len);
    if (it) {
        it->kind = ST_DI_LEFTOVER;
        it->slot = slot;
        it->len = (uint32_t)b.len;
        if (b.len) memcpy(it->s, b.p, b.len);
        st_data_post(fw->f->d, it);
    }
    st_buf_free(&b);
}

static void peer_down(fwd_w *fw, const fwd_cmd *c)
{
    lane_out *o = fw->out[c->slot];
    int gone = c->gone == ST_FWD_GONE || c->gone == ST_FWD_LEFT_KEEP;
    if (c->gone == ST_FWD_LEFT_KEEP) post_leftovers(fw, o, c->slot);
    if (o) {
        out_close(o, gone                     ? "peer left"
                     : c->gone == ST_FWD_DOWN ? "peer down"
                                              : "control link down");
        if (gone) {
            drop_queue(o);
            o->peer_boot = 0;
        } else if (c->gone == ST_FWD_DOWN) {
            redispatch_shared(o);
        }
    }
    for (lane_in *l = fw->in; l; l = l->next)
        if (l->slot == c->slot) in_close(l);
}

static void fwd_imsg(void *cx, st_worker *w, st_imsg *m)
{
    st_fwd *f = cx;
    fwd_cmd *c = m->data;
    if (!w) { /* the worker is gone: discard */
        if (c->kind == CMD_ADOPT) cmd_close(c);
    } else if (c->kind == CMD_ADOPT) {
        if (c->outbound)
            adopt_out(&f->w[w->id], c);
        else
            adopt_in(&f->w[w->id], c);
    } else if (c->kind == CMD_ROUTES_ACKED) {
        st_worker_routes_acked(w);
        st_move_routes_acked(f->w[w->id].moves, f->d, w);
    } else if (c->kind == CMD_EVACUATE) {
        fwd_w *fw = &f->w[w->id];
        st_move_evacuate(fw->moves, (const uint16_t *)c->pre, c->npre / sizeof(uint16_t));
        atomic_store(&fw->evac_left, st_move_evac_tick(fw->moves, f->d, w, st_loop_now(w->loop)));
        if (!c->npre) atomic_store(&fw->evac_left, -1); /* over */
    } else if (c->kind == CMD_MOVE) {
        st_move_frame(f->w[w->id].moves, f->d, w, c->slot, c->hlc, c->ftype,
                      (st_bytes){c->pre, (uint32_t)c->npre});
    } else if (c->kind == CMD_REGISTER_ALL) {
        st_worker_register_all(w);
    } else if (c->kind == CMD_KICK) {
        st_worker_kick(w, (const char *)c->pre, c->npre, c->hlc, "another node");
    } else {
        peer_down(&f->w[w->id], c);
    }
    free(c);
    free(m);
}

static void post(st_fwd *f, uint16_t worker, const fwd_cmd *c, const uint8_t *pre, size_t npre)
{
    fwd_cmd *copy = malloc(sizeof *copy + npre);
    if (!copy) {
        if (c->kind == CMD_ADOPT) cmd_close(c);
        return;
    }
    *copy = *c;
    copy->npre = npre;
    if (npre) memcpy(copy->pre, pre, npre);
    st_worker_post_remote(f->b, worker, copy);
}

void st_fwd_adopt(st_fwd *f, int fd, st_tls *tls, int outbound, uint16_t slot, uint16_t lane,
                  uint64_t peer_id, uint64_t peer_boot, const uint8_t *pre, size_t npre)
{
    fwd_cmd c = {.kind = CMD_ADOPT,
                 .fd = fd,
                 .tls = tls,
                 .outbound = outbound,
                 .slot = slot,
                 .lane = lane,
                 .peer_id = peer_id,
                 .peer_boot = peer_boot};
    post(f, (uint16_t)(lane % f->nw), &c, pre, npre);
}

void st_fwd_routes_acked(st_fwd *f, uint16_t worker)
{
    fwd_cmd c = {.kind = CMD_ROUTES_ACKED, .fd = -1};
    post(f, worker, &c, NULL, 0);
}

void st_fwd_move(st_fwd *f, uint16_t worker, uint16_t slot, uint64_t node_id, uint8_t type,
                 const uint8_t *body, size_t n)
{
    fwd_cmd c = {.kind = CMD_MOVE, .slot = slot, .hlc = node_id, .ftype = type};
    post(f, worker, &c, body, n);
}

void st_fwd_peer_down(st_fwd *f, uint16_t slot, int gone)
{
    for (int i = 0; i < f->nw; i++) {
        fwd_cmd c = {.kind = CMD_PEER_DOWN, .fd = -1, .gone = gone, .slot = slot};
        post(f, (uint16_t)i, &c, NULL, 0);
    }
}

/* ---- loop hooks ----------------------------------------------------------------------- */

static void fwd_before_sleep(void *cx, st_worker *w)
{
    st_fwd *f = cx;
    fwd_w *fw = &f->w[w->id];
    lane_out *l;
    while ((l = fw->dirty)) {
        fw->dirty = l->dnext;
        l->dirty = 0;
        out_flush(l);
    }
    if (fw->npaused && !st_flow_blocked(w)) in_resume_all(fw);
    lane_in *i;
    for (i = fw->in; i; i = i->next) /* ACKs that waited for the disk */
        if (i->nheld && !i->ack_due && i->io.fd >= 0 && st_durable_mark_done(w, i->held[0].mark)) {
            i->ack_due = 1;
            i->dnext = fw->dirty_in;
            fw->dirty_in = i;
        }
    while ((i = fw->dirty_in)) {
        fw->dirty_in = i->dnext;
        in_flush(i);
    }
}

static void fwd_tick(void *cx, st_worker *w, int64_t now)
{
    st_fwd *f = cx;
    fwd_w *fw = &f->w[w->id];
    for (int s = 0; s < ST_MAX_NODES; s++) {
        lane_out *l = fw->out[s];
        if (!l || l->state == LANE_UP || l->detached) continue;
        if (now - l->down_since < f->cfg.ack_timeout_ms) continue;
        l->detached = 1; /* acks stop waiting; the records stay for a return */
        release_waits(l);
        set_full(l, 0);
    }
    st_move_tick(fw->moves, f->d, w, now);
    long left = st_move_evac_tick(fw->moves, f->d, w, now);
    if (left >= 0) atomic_store(&fw->evac_left, left);
}

void st_fwd_evacuate(st_fwd *f, const uint16_t *slots, size_t n)
{
    fwd_cmd c = {.kind = CMD_EVACUATE};
    for (int i = 0; i < f->nw; i++)
        post(f, (uint16_t)i, &c, (const uint8_t *)slots, n * sizeof *slots);
}

long st_fwd_evac_left(st_fwd *f)
{
    long sum = 0;
    for (int i = 0; i < f->nw; i++) {
        long l = atomic_load(&f->w[i].evac_left);
        if (l < 0) return -1;
        sum += l;
    }
    return sum;
}

void st_fwd_register_all(st_fwd *f)
{
    fwd_cmd c = {.kind = CMD_REGISTER_ALL};
    for (int i = 0; i < f->nw; i++)
        post(f, (uint16_t)i, &c, NULL, 0);
}

void st_fwd_kick(st_fwd *f, const char *cid, size_t len, uint64_t hlc)
{
    fwd_cmd c = {.kind = CMD_KICK, .hlc = hlc};
    post(f, st_worker_for(f->b, cid, len), &c, (const uint8_t *)cid, len);
}

static void fwd_registry(void *cx, st_worker *w, const char *cid, size_t len, uint64_t hlc, int up)
{
    st_fwd *f = cx;
    (void)w;
    st_data_registry_post(f->d, cid, len, hlc, up);
}

static int fwd_takeover(void *cx, st_worker *w, st_session *s)
{
    st_fwd *f = cx;
    return st_move_takeover(f->w[w->id].moves, f->d, w, s);
}

const st_remote_ops st_fwd_ops = {
    .registry = fwd_registry,
    .takeover = fwd_takeover,
    .forward = fwd_forward,
    .before_sleep = fwd_before_sleep,
    .tick = fwd_tick,
    .imsg = fwd_imsg,
};

st_fwd *st_fwd_new(st_broker *b, st_data *d, const st_fwd_cfg *cfg)
{
    st_fwd *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->b = b;
    f->nw = b->nw;
    f->d = d;
    f->cfg = *cfg;
    f->w = calloc((size_t)b->nw, sizeof *f->w);
    if (!f->w) {
        free(f);
        return NULL;
    }
    for (int i = 0; i < b->nw; i++) {
        f->w[i].f = f;
        f->w[i].w = &b->w[i];
        atomic_init(&f->w[i].evac_left, -1);
        if (!(f->w[i].moves = st_moves_new())) {
            st_fwd_free(f);
            return NULL;
        }
    }
    return f;
}

void st_fwd_free(st_fwd *f)
{
    if (!f) return;
    for (int i = 0; i < f->nw; i++) { /* the broker may be gone: only our own state */
        fwd_w *fw = &f->w[i];
        for (int s = 0; s < ST_MAX_NODES; s++) {
            lane_out *l = fw->out[s];
            if (!l) continue;
            if (l->io.fd >= 0) sock_close(l->io.fd, &l->tls);
            release_waits(l);
            while (l->qlen) {
                st_sharekey_unref(l->q[l->qhead].share);
                st_msg_unref(l->q[l->qhead].msg);
                l->qhead = (l->qhead + 1) % l->qcap;
                l->qlen--;
            }
            free(l->q);
            buf_free(&l->in);
            buf_free(&l->out);
            free(l);
        }
        lane_in *n;
        for (lane_in *l = fw->in; l; l = n) {
            n = l->next;
            if (l->io.fd >= 0) sock_close(l->io.fd, &l->tls);
            buf_free(&l->in);
            buf_free(&l->out);
            free(l);
        }
        free(fw->scratch);
        st_moves_free(fw->moves);
    }
    free(f->w);
    free(f);
}

void st_fwd_stats_get(st_fwd *f, st_fwd_stats *out)
{
    out->sent = atomic_load(&f->sent);
    out->received = atomic_load(&f->received);
    out->dropped = atomic_load(&f->dropped);
    out->resent = atomic_load(&f->resent);
    out->redispatched = atomic_load(&f->redispatched);
}

int st_fwd_lanes_over(st_fwd *f)
{
    return f ? atomic_load_explicit(&f->lanes_over, memory_order_relaxed) : 0;
}
