/* cwire.h — the cluster wire codec (docs/cluster.md §4): frames on port 4370, the
 * handshake, heartbeats and acks, route sync, and forwarded-message batches.
 *
 * Pure: no I/O, no allocation. Decoders fill structs whose strings and blobs point into the
 * input (st_bytes); encoders write into a caller's buffer and return the frame's full size
 * even when it does not fit (nothing is written past cap then), so a caller can size first.
 * Integers are big-endian; str = u16 length + bytes; blob = u32 length + bytes; MQTT 5
 * property blocks travel as opaque blobs (the receiver decodes them with the mqtt codec).
 * Strings are not checked for UTF-8 here: node names, filters and topics are validated by
 * the layer that uses them (route/, mqtt/).
 *
 * Compatibility: a body may grow at its end in a later version; decoders ignore trailing
 * bytes they do not know. HELLO, WELCOME and READY end with an extension list
 * (u16 n, n × {u16 tag, u16 len, bytes}) whose unknown tags are skipped. A frame whose type
 * is unknown is skipped if it has CW_F_IGNORABLE, else it is a protocol error. */
#ifndef ST_CWIRE_H
#define ST_CWIRE_H

#include "core/bytes.h"

#include <stddef.h>
#include <stdint.h>

#define CW_MAGIC "STCL"
#define CW_VERSION 1
#define CW_HDR 6                 /* u32 len, u8 type, u8 flags */
#define CW_MAX_FRAME (16u << 20) /* len limit after READY */
#define CW_MAX_PREAUTH 4096u     /* len limit before READY */
#define CW_NONCE 16
#define CW_PROOF 32
#define CW_UUID 16

enum cw_type {
    CW_HELLO = 0x01,
    CW_WELCOME = 0x02,
    CW_PROOF_MSG = 0x03,
    CW_READY = 0x04,
    CW_REFUSE = 0x05,
    CW_PING = 0x06,
    CW_PONG = 0x07,
    CW_ACK = 0x08,
    CW_GOODBYE = 0x09,
    CW_ROUTE_SYNC_BEGIN = 0x10,
    CW_ROUTE_BATCH = 0x11,
    CW_ROUTE_SYNC_END = 0x12,
    CW_PROPOSE = 0x18,        /* to the leader: commit these ops */
    CW_PROPOSE_RESULT = 0x19, /* the leader's answer */
    CW_JOIN_REQ = 0x1A,
    CW_JOIN_RESULT = 0x1B,
    CW_LEAVE_REQ = 0x1C,     /* to the leader: commit LEAVE for a node (force-leave) */
    CW_TAIL_REQ = 0x20,      /* replicant → core: send me the applied log from an index */
    CW_LOG_ENTRIES = 0x21,   /* core → replicant: applied entries */
    CW_TAIL_SNAPSHOT = 0x22, /* core → replicant: the state machine's image */
    CW_PROBE_REQ = 0x29,     /* leader → member: can you reach this node? */
    CW_PROBE_RESP = 0x2A,
    CW_ASK = 0x2C,          /* the API of one node → the others: a question (listeners, ...) */
    CW_ANSWER = 0x2D,       /* its answer */
    CW_REPL = 0x34,         /* a node → a holder of its store's mirror: a piece of the stream */
    CW_REPL_ACK = 0x35,     /* the holder: the mirror is on its disk up to a round */
    CW_RESTORE = 0x36,      /* a node with a new store ⇄ the others: copies of its old one */
    CW_MOVE_BEGIN = 0x40,   /* a session's new node → its old node: hand it over */
    CW_MOVE_STATE = 0x41,   /* old → new: the session (or why not) */
    CW_MOVE_END = 0x42,     /* new → old: my routes are in place, send the rest and let go */
    CW_MOVE_PENDING = 0x43, /* old → new: what was queued since STATE */
    CW_MOVE_OFFER = 0x44,   /* a leaving node → the node that takes a session: ask me for it */
    CW_RESUME = 0x50,
    CW_FWD = 0x51,
};

enum { CW_F_IGNORABLE = 1, CW_F_LZ4 = 2 }; /* frame flags; LZ4 is reserved (rejected) */
enum cw_stream { CW_S_CONTROL = 1, CW_S_RAFT = 2, CW_S_DATA = 3, CW_S_BULK = 4 };
enum cw_role { CW_ROLE_CORE = 1, CW_ROLE_REPLICANT = 2 };
enum { CW_HELLO_JOINING = 1, CW_HELLO_MEMBER = 2 };    /* HELLO flags */
enum { CW_WELCOME_MEMBER = 1, CW_WELCOME_LEADER = 2 }; /* WELCOME flags */
enum cw_refuse_code {
    CW_REFUSE_COOKIE = 1,
    CW_REFUSE_VERSION = 2,
    CW_REFUSE_CLUSTER_NAME = 3,
    CW_REFUSE_NOT_MEMBER = 4,
    CW_REFUSE_OTHER_CLUSTER = 5,
    CW_REFUSE_STALE_BOOT = 6,
    CW_REFUSE_SHUTTING_DOWN = 7,
    CW_REFUSE_PROTOCOL = 8,
};
enum cw_goodbye_reason { CW_BYE_SHUTDOWN = 1, CW_BYE_LEAVE = 2, CW_BYE_REMOVED = 3 };
enum cw_route_kind { CW_ROUTE_ADD = 1, CW_ROUTE_DEL = 2, CW_ROUTE_SHARE = 3 };
/* FWD record kind bits and message bits */
enum { CW_REC_DELIVER = 1, CW_REC_SHARED = 2, CW_REC_STORE_RETAINED = 4 };
enum { CW_MSG_QOS_MASK = 3, CW_MSG_RETAIN = 4 };

/* ---- frames ------------------------------------------------------------------------- */

typedef struct cw_frame {
    uint8_t type, flags;
    st_bytes body;
} cw_frame;

/* One frame from a stream: bytes consumed (> 0), 0 if more bytes are needed, or
 * ST_ETOOLARGE (len > max_len), ST_EMALFORMED (len < 2, reserved flag bits, LZ4). */
long cw_frame_decode(const uint8_t *p, size_t n, uint32_t max_len, cw_frame *f);
/* Known to this version (else: skip if IGNORABLE, otherwise a protocol error). */
int cw_type_known(uint8_t type);
const char *cw_type_name(uint8_t type);
const char *cw_refuse_text(uint16_t code);

/* ---- message bodies ------------------------------------------------------------------- */

typedef struct cw_hello {
    uint8_t ver_min, ver_max, stream, role;
    uint16_t lane, flags;
    uint64_t boot, incarnation, node_id;
    uint8_t uuid[CW_UUID], nonce[CW_NONCE];
    st_bytes cluster_name, node_name, addr;
    st_bytes ext; /* the extension list, validated (walk with cw_ext_next) */
} cw_hello;

typedef struct cw_welcome {
    uint8_t ver, role;
    uint16_t flags, members;
    uint64_t boot, incarnation, node_id;
    uint8_t uuid[CW_UUID], nonce[CW_NONCE], proof[CW_PROOF];
    st_bytes cluster_name, node_name, addr, leader_name;
    st_bytes ext;
} cw_welcome;

typedef struct cw_refuse {
    uint16_t code;
    st_bytes text;
} cw_refuse;

typedef struct cw_goodbye {
    uint8_t reason;
    st_bytes text;
} cw_goodbye;

typedef struct cw_ack {
    uint64_t seq;   /* cumulative */
    uint16_t nnack; /* seqs refused (shared records with no member here) */
    st_bytes nacks; /* nnack × u64; read with cw_ack_nack */
} cw_ack;

typedef struct cw_route_sync {
    uint64_t seq, sync_id;
    uint32_t count; /* END only: routes in the sync */
} cw_route_sync;

typedef struct cw_route_op {
    uint8_t kind; /* enum cw_route_kind */
    st_bytes filter, group;
    uint32_t members; /* SHARE: members here (0 = the group is gone) */
} cw_route_op;

typedef struct cw_route_batch {
    uint64_t seq;
    uint16_t n;
    st_bytes ops; /* n ops, validated; walk with cw_route_next */
} cw_route_batch;

typedef struct cw_join_req {
    uint64_t req_id;
    uint8_t role;
} cw_join_req;

enum cw_join_status { CW_JOIN_OK = 0, CW_JOIN_NOTLEADER = 1, CW_JOIN_FAILED = 2 };

typedef struct cw_join_result {
    uint64_t req_id;
    uint16_t status;
    st_bytes leader_name, text;
} cw_join_result;

typedef struct cw_leave_req {
    st_bytes name;
    uint8_t forced;
} cw_leave_req;

enum cw_propose_status {
    CW_PROP_OK = 0,        /* applied */
    CW_PROP_NOTLEADER = 1, /* ask leader_name */
    CW_PROP_FAILED = 2,    /* outcome unknown (leadership lost): send the same ops again */
    CW_PROP_INVALID = 3,   /* an op the state machine cannot apply */
};

typedef struct cw_propose {
    uint64_t req_id;
    st_bytes entry; /* the ops as a Raft entry (centry.h; its hlc is the leader's to set) */
} cw_propose;

typedef struct cw_propose_result {
    uint64_t req_id;
    uint16_t status;
    st_bytes leader_name; /* NOTLEADER: who leads, if known */
} cw_propose_result;

typedef struct cw_probe {
    uint64_t id;
    st_bytes node;
    uint8_t reachable; /* RESP: its link to node is up and heard from recently */
    uint32_t since_ms; /* RESP: since it last heard from node */
} cw_probe;

typedef struct cw_ask {
    uint64_t id;
    uint8_t what;   /* ASK: the question (ST_ASK_* of cluster.h) */
    uint8_t status; /* ANSWER: 0 answered, 1 a question this node does not know */
    st_bytes body;  /* ASK: its argument; ANSWER: the answer (JSON) */
} cw_ask;

/* A durable store's mirror (docs/durability.md §6): the owner's committed rounds and
 * snapshots, in pieces; the last piece of each has CW_REPL_END. */
enum { CW_REPL_ROUND = 1, CW_REPL_SNAP = 2, CW_REPL_RESTORE = 3 }; /* RESTORE: holder → owner */
#define CW_REPL_END 0x01
#define CW_STORE_ID 16
typedef struct cw_repl {
    uint8_t kind, flags;
    uint8_t store[CW_STORE_ID]; /* the owner's store id */
    uint64_t boot;              /* the owner's process */
    uint64_t round;             /* ROUND: its number; SNAP: the round the store was at */
    st_bytes body;              /* a piece of the writes (store.h's record form) */
} cw_repl;

/* status: 0 the mirror has everything up to round; 1 it cannot follow (a round that does
 * not come after the last it has): send a snapshot. */
typedef struct cw_repl_ack {
    uint64_t boot, round;
    uint8_t status;
} cw_repl_ack;

/* A node whose store is new looks for copies of its earlier stores (docs/durability.md §6):
 * ASK (store: its new store's id, whose copies are not wanted) to every member; each answers
 * OFFER for the newest copy it keeps of another store of the asker (store: the copied store's
 * id, written_ms: when the copy was last written, sessions: how many it holds) or NONE; the
 * asker sends GET (store: the copy it wants) to one, which answers with the copy as REPL
 * frames of kind CW_REPL_RESTORE, or NONE. */
enum { CW_RESTORE_ASK = 0, CW_RESTORE_OFFER = 1, CW_RESTORE_NONE = 2, CW_RESTORE_GET = 3 };
typedef struct cw_restore {
    uint8_t op;
    uint8_t store[CW_STORE_ID];
    int64_t written_ms;
    uint64_t sessions;
} cw_restore;

typedef struct cw_tail_req {
    uint64_t from;         /* the first index wanted (> 0) */
    uint8_t uuid[CW_UUID]; /* of the cluster the replicant's state is from (zeros: none) */
} cw_tail_req;

typedef struct cw_log_entry {
    uint64_t index;
    st_bytes entry; /* a Raft entry (centry.h) */
} cw_log_entry;

typedef struct cw_log_entries {
    uint16_t n;
    st_bytes items; /* validated; walk with cw_log_next */
} cw_log_entries;

typedef struct cw_tail_snapshot {
    uint64_t index; /* the image is the state after applying this index */
    uint8_t uuid[CW_UUID];
    st_bytes image; /* fsm.h's snapshot format */
} cw_tail_snapshot;

typedef struct cw_resume {
    uint64_t sender_boot, last_seq;
} cw_resume;

typedef struct cw_record {
    uint8_t kind; /* CW_REC_* */
    uint8_t m;    /* QoS | CW_MSG_RETAIN */
    /* the message's identity: the process that took it from a client (its boot id) and
     * its number there; 0/0 when it has none. Copies of one message on several nodes
     * carry the same pair (a session moving between nodes drops duplicates by it). */
    uint64_t origin, mid;
    uint64_t hlc;
    uint32_t expiry_ms; /* remaining; 0 = none */
    st_bytes topic, share, props, payload;
} cw_record;

typedef struct cw_fwd {
    uint64_t first_seq;
    uint16_t n;
    st_bytes recs; /* n records, validated; walk with cw_fwd_next */
} cw_fwd;

/* Session moves (docs/cluster.md §10.3). Every MOVE frame: the client id, the version of
 * the connection that asked (its registration HLC), a status or flags, and an image (STATE:
 * the session; PENDING: queue entries; empty for the others). */
enum cw_move_status {
    CW_MOVE_OK = 0,
    CW_MOVE_NONE = 1,  /* no such session here */
    CW_MOVE_BUSY = 2,  /* it is moving already: ask again */
    CW_MOVE_STALE = 3, /* a newer connection holds it here */
    CW_MOVE_MOVED = 4, /* it just moved on: image = u64 id of the node holding it now */
};
enum { CW_MOVE_F_EVACUATE = 1 }; /* BEGIN/OFFER: the old node is leaving (0x9C; will moves) */

typedef struct cw_move {
    st_bytes cid;
    uint64_t hlc;
    uint8_t status; /* STATE, PENDING: enum cw_move_status; BEGIN, OFFER: flags */
    st_bytes image; /* a list of session entries, walked with cw_sess_next */
} cw_move;

/* A session image: entries, each a tag and its fields.
 *  HEAD: expiry_ms (UINT64_MAX: never), next_pid, in_ms (offline: expires in; 0: not running)
 *  SUB: filter, qos, flags, sub_id
 *  REL: pid (an inbound QoS 2 message waiting for PUBREL)
 *  INFLIGHT: pid, state; state 1 (waiting for PUBACK/PUBREC): qos, retain, sub_id, rec
 *  QUEUE: qos, retain, sub_id, rec
 *  WILL: delay_s, in_ms (due in; 0: not yet scheduled), rec */
enum cw_sess_tag {
    CW_SE_HEAD = 1,
    CW_SE_SUB = 2,
    CW_SE_REL = 3,
    CW_SE_INFLIGHT = 4,
    CW_SE_QUEUE = 5,
    CW_SE_WILL = 6,
};

typedef struct cw_sess_ent {
    uint8_t tag;
    uint8_t qos, flags, retain, state;
    uint16_t pid, next_pid;
    uint32_t sub_id, delay_s, in_ms;
    uint64_t expiry_ms;
    st_bytes filter;
    cw_record rec; /* the message; rec.share: the shared group it came through */
} cw_sess_ent;

typedef struct cw_ext {
    uint16_t tag;
    st_bytes value;
} cw_ext;

/* Decode a frame's body. 0, or ST_EMALFORMED (short, bad magic, counts that do not match,
 * bad enum values). */
int cw_decode_hello(st_bytes body, cw_hello *h);
int cw_decode_welcome(st_bytes body, cw_welcome *w);
int cw_decode_proof(st_bytes body, uint8_t proof[CW_PROOF]);
int cw_decode_ready(st_bytes body, st_bytes *ext);
int cw_decode_refuse(st_bytes body, cw_refuse *r);
int cw_decode_u64(st_bytes body, uint64_t *v); /* PING, PONG */
int cw_decode_goodbye(st_bytes body, cw_goodbye *g);
int cw_decode_ack(st_bytes body, cw_ack *a);
int cw_decode_route_sync(uint8_t type, st_bytes body, cw_route_sync *s);
int cw_decode_route_batch(st_bytes body, cw_route_batch *b);
int cw_decode_resume(st_bytes body, cw_resume *r);
int cw_decode_join_req(st_bytes body, cw_join_req *j);
int cw_decode_leave_req(st_bytes body, cw_leave_req *l);
int cw_decode_join_result(st_bytes body, cw_join_result *j);
int cw_decode_fwd(st_bytes body, cw_fwd *f);
int cw_decode_tail_req(st_bytes body, cw_tail_req *t);
int cw_decode_probe(uint8_t type, st_bytes body, cw_probe *p); /* PROBE_REQ / PROBE_RESP */
int cw_decode_ask(uint8_t type, st_bytes body, cw_ask *a);     /* ASK / ANSWER */
int cw_decode_repl(st_bytes body, cw_repl *r);
int cw_decode_repl_ack(st_bytes body, cw_repl_ack *a);
int cw_decode_restore(st_bytes body, cw_restore *r);
int cw_decode_propose(st_bytes body, cw_propose *p);
int cw_decode_propose_result(st_bytes body, cw_propose_result *p);
int cw_decode_log_entries(st_bytes body, cw_log_entries *e);
int cw_decode_tail_snapshot(st_bytes body, cw_tail_snapshot *s);
int cw_decode_move(st_bytes body, cw_move *m);
/* The next entry of a session image: 1, 0 at its end, ST_EMALFORMED. *off starts at 0. */
int cw_sess_next(st_bytes image, uint32_t *off, cw_sess_ent *e);

/* Walkers over validated lists: 1 and the next item, 0 at the end. *off starts at 0. */
int cw_ext_next(st_bytes ext, uint32_t *off, cw_ext *e);
int cw_route_next(const cw_route_batch *b, uint32_t *off, cw_route_op *op);
int cw_fwd_next(const cw_fwd *f, uint32_t *off, cw_record *r);
uint64_t cw_ack_nack(const cw_ack *a, uint16_t i);
int cw_log_next(const cw_log_entries *e, uint32_t *off, cw_log_entry *out);

/* Encode a whole frame (header + body) into dst. Returns the frame's size; when it exceeds
 * cap nothing past cap is written. flags: CW_F_IGNORABLE or 0. ext: an encoded extension
 * list (st_bytes with len 0 for none; cw_ext_put builds one). */
size_t cw_encode_hello(const cw_hello *h, uint8_t *dst, size_t cap);
size_t cw_encode_welcome(const cw_welcome *w, uint8_t *dst, size_t cap);
size_t cw_encode_proof(const uint8_t proof[CW_PROOF], uint8_t *dst, size_t cap);
size_t cw_encode_ready(st_bytes ext, uint8_t *dst, size_t cap);
size_t cw_encode_refuse(const cw_refuse *r, uint8_t *dst, size_t cap);
size_t cw_encode_u64(uint8_t type, uint64_t v, uint8_t *dst, size_t cap); /* PING, PONG */
size_t cw_encode_goodbye(const cw_goodbye *g, uint8_t *dst, size_t cap);
size_t cw_encode_ack(uint64_t seq, const uint64_t *nacks, uint16_t nnack, uint8_t *dst, size_t cap);
size_t cw_encode_route_sync(uint8_t type, const cw_route_sync *s, uint8_t *dst, size_t cap);
size_t cw_encode_resume(const cw_resume *r, uint8_t *dst, size_t cap);
size_t cw_encode_join_req(const cw_join_req *j, uint8_t *dst, size_t cap);
size_t cw_encode_leave_req(const cw_leave_req *l, uint8_t *dst, size_t cap);
size_t cw_encode_join_result(const cw_join_result *j, uint8_t *dst, size_t cap);
size_t cw_encode_tail_req(const cw_tail_req *t, uint8_t *dst, size_t cap);
size_t cw_encode_probe(uint8_t type, const cw_probe *p, uint8_t *dst, size_t cap);
size_t cw_encode_ask(uint8_t type, const cw_ask *a, uint8_t *dst, size_t cap);
size_t cw_encode_repl(const cw_repl *r, uint8_t *dst, size_t cap);
size_t cw_encode_repl_ack(const cw_repl_ack *a, uint8_t *dst, size_t cap);
size_t cw_encode_restore(const cw_restore *r, uint8_t *dst, size_t cap);
size_t cw_encode_propose(const cw_propose *p, uint8_t *dst, size_t cap);
size_t cw_encode_propose_result(const cw_propose_result *p, uint8_t *dst, size_t cap);
size_t cw_encode_log_entries(const cw_log_entry *e, uint16_t n, uint8_t *dst, size_t cap);
size_t cw_encode_tail_snapshot(const cw_tail_snapshot *s, uint8_t *dst, size_t cap);
size_t cw_encode_move(uint8_t type, const cw_move *m, uint8_t *dst, size_t cap);
/* One session image entry (no frame header): its size; nothing past cap is written. */
size_t cw_encode_sess_ent(const cw_sess_ent *e, uint8_t *dst, size_t cap);
/* Batches: the header is written last, when the count is known. */
size_t cw_encode_route_batch(uint64_t seq, const cw_route_op *ops, uint16_t n, uint8_t *dst,
                             size_t cap);
size_t cw_encode_fwd(uint64_t first_seq, const cw_record *recs, uint16_t n, uint8_t *dst,
                     size_t cap);
/* Size of one FWD record on the wire (for batching to a byte budget). */
size_t cw_record_size(const cw_record *r);
/* Append one extension to an extension list being built in buf (starts as {0, 0}); returns
 * the list's new size, or 0 if it does not fit in cap. */
size_t cw_ext_put(uint8_t *buf, size_t len, size_t cap, uint16_t tag, st_bytes value);

#endif
