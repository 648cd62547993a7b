/* durable_rec.h — the durable store's records, format 1 (docs/durability.md §4): a durable
 * session, a message, a queue entry and a QoS 2 id awaiting PUBREL, to bytes and back.
 * Decoders check every length and return ST_EMALFORMED for anything cut short or left over. */
#ifndef ST_DURABLE_REC_H
#define ST_DURABLE_REC_H

#include "broker/msg.h"
#include "broker/session.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Keys: a session is its client id (sessions); a QoS 2 id awaiting PUBREL is client id ‖ NUL
 * ‖ u16 packet id (sessions: a client id has no NUL); a message is its u64 id (msgs); a
 * queue entry is u64 sid ‖ u64 message id (queue), all big-endian so that keys sort by
 * number. */
#define ST_DREC_QKEY 16
#define ST_DREC_LANE_KEY 14 /* meta: "lane" ‖ u64 node ‖ u16 lane (durable.c) */
size_t st_drec_rel_key(const char *cid, size_t len, uint16_t pid, uint8_t *out); /* len + 3 */
void st_drec_u64(uint64_t v, uint8_t *out);
uint64_t st_drec_get_u64(const uint8_t *p);
void st_drec_qkey(uint64_t sid, uint64_t mid, uint8_t *out);

/* A session's record: sid, expiry, when it went offline (wall ms, 0: connected), its next
 * packet id, its subscriptions, and its will (with its delay, and when it is due if it is
 * scheduled). */
typedef struct st_drec_session {
    uint64_t sid;
    int64_t expiry_ms;
    int64_t offline_since;
    uint16_t next_pid;
    uint64_t reg_hlc; /* its registration's version in the cluster (0: none, or record v1) */
    uint32_t nsubs;
    const uint8_t *subs; /* decoded: the encoded subscriptions (st_drec_sub_next) */
    size_t subs_len;
    uint32_t will_delay_s;
    int64_t will_at;     /* wall ms, 0: not scheduled */
    const uint8_t *will; /* a message record (st_drec_msg_get), NULL: no will */
    size_t will_len;
} st_drec_session;

/* mono_now/wall_now convert the will's times (monotonic in memory). */
void st_drec_session_put(st_buf *out, const st_session *s, int64_t offline_since, int64_t mono_now,
                         int64_t wall_now);
int st_drec_session_get(const uint8_t *p, size_t n, st_drec_session *out);
/* The next subscription of a decoded record (*off starts at 0): 1 with rec filled (the
 * filter points into the record), 0 at the end, ST_EMALFORMED. */
int st_drec_sub_next(const st_drec_session *d, size_t *off, st_subrec *rec);

/* A message: its own fields, with its expiry as wall ms (expire_at is monotonic in memory). */
void st_drec_msg_put(st_buf *out, const st_msg *m, int64_t mono_now, int64_t wall_now);
/* The message again (refs 1), its expiry made monotonic; NULL: malformed (*err set) or no
 * memory. */
st_msg *st_drec_msg_get(const uint8_t *p, size_t n, int64_t mono_now, int64_t wall_now, int *err);

/* A queue entry: how it is delivered, and once it is inflight its packet id and state. */
typedef struct st_drec_entry {
    uint8_t qos, retain, state; /* state 0: queued; else ST_INF_WAIT_ACK / _COMP */
    uint16_t pid;
    uint32_t sub_id;
} st_drec_entry;
#define ST_DREC_ENTRY 9
void st_drec_entry_put(uint8_t out[ST_DREC_ENTRY], const st_drec_entry *e);
int st_drec_entry_get(const uint8_t *p, size_t n, st_drec_entry *out);

#endif
