/* fsm.h — the control plane's replicated state machine (docs/cluster.md §5.2-5.3), as a
 * pure engine: libraft (step 5) hands it committed entries in index order, replicants
 * feed it the same entries from a core's log, and both get the same tables.
 *
 * An entry is a batch of ops (cwire/centry.h). Each op names a table and a verb; the table
 * applies it deterministically (from the op and the entry's index and HLC only, never the
 * local clock) and returns an op status. Applying never fails: a semantic refusal (a stale
 * DOWN, a duplicate name) is a status, not an error. The engine remembers, per origin node,
 * the last ST_FSM_OPS_KEPT op ids with their status, so an op re-proposed after a lost
 * leadership is applied once and its status reported again.
 *
 * Snapshot: "STSN" u16 version=1, u64 applied index, u32 n, n sections of (u16 table id,
 * u16 table version, u64 len, bytes); section 0 holds the op ids. */
#ifndef ST_CLUSTER_FSM_H
#define ST_CLUSTER_FSM_H

#include "core/buf.h"
#include "core/bytes.h"

#include <stddef.h>
#include <stdint.h>

#define ST_FSM_OPS_KEPT 1024
#define ST_FSM_MAX_ORIGINS 512

enum st_op_status {
    ST_OP_OK = 0,
    ST_OP_CONFLICT = 1, /* exists already / another value */
    ST_OP_NOTFOUND = 2,
    ST_OP_INVALID = 3, /* undecodable body, unknown table or verb */
    ST_OP_STALE = 4,   /* about an older incarnation */
    ST_OP_FULL = 5,    /* no free slot */
};

typedef struct st_fsm_ctx {
    uint64_t index, hlc;
} st_fsm_ctx;

typedef struct st_rtable_ops {
    uint16_t id; /* > 0 */
    const char *name;
    uint16_t version;
    void *(*create)(void);
    void (*destroy)(void *st);
    int (*validate)(uint16_t verb, st_bytes body); /* proposer side: ST_OP_OK or INVALID */
    int (*apply)(void *st, uint16_t verb, st_bytes body, const st_fsm_ctx *cx);
    void (*snapshot)(void *st, st_buf *out);
    int (*restore)(void *st, st_bytes in); /* into a fresh state; 0 or ST_EMALFORMED */
} st_rtable_ops;

typedef struct st_fsm st_fsm;

st_fsm *st_fsm_new(const st_rtable_ops *const *tables, size_t n);
void st_fsm_free(st_fsm *f);
/* A table's state (its own header says what it holds), for the cluster thread. */
void *st_fsm_table(st_fsm *f, uint16_t id);
uint64_t st_fsm_applied(const st_fsm *f);
/* Is this op one the FSM can apply (known table and verb, decodable body)? */
int st_fsm_validate(const st_fsm *f, uint16_t table, uint16_t verb, st_bytes body);
/* Apply the entry at index (must be > the last applied). 0; ST_EINVAL (index out of
 * order); ST_EMALFORMED / ST_EVERSION (undecodable: version skew or a bug — the caller
 * stops its control plane and says so). */
int st_fsm_apply(st_fsm *f, uint64_t index, st_bytes entry);
/* The status of an applied op, or -1 if this FSM does not remember it. */
int st_fsm_op_status(const st_fsm *f, uint64_t origin, uint64_t seq);
void st_fsm_snapshot(st_fsm *f, st_buf *out);
/* Replace the whole state with a snapshot's. 0, or ST_EMALFORMED (state unchanged). */
int st_fsm_restore(st_fsm *f, st_bytes in);

#endif
