/* craft.h — the one place that talks to libraft (docs/cluster.md §5.1). It runs libraft on
 * the cluster thread's libuv loop with our own transport, feeds committed entries to the
 * st_fsm, and proposes batches of ops when this node leads.
 *
 * The libraft 0.15 rules it keeps: no raft_* call from a libraft callback (callbacks record
 * and arm a 0 ms timer; hooks run from there); a new leader commits a barrier before it
 * proposes; the apply index is raft_last_applied() + 1; apply never fails.
 *
 * So far a node runs Raft as a cluster of one: the transport accepts no peers and cannot
 * dial (multi-node Raft over port 4370 is the next step). */
#ifndef ST_CLUSTER_CRAFT_H
#define ST_CLUSTER_CRAFT_H

#include "cluster/plane/fsm.h"
#include "core/log.h"
#include "cwire/centry.h"

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

typedef struct st_craft st_craft;
typedef void (*st_craft_cb)(void *arg);

/* fsm_lock is held while an entry is applied or a snapshot restored (readers on other
 * threads take it too). on_ready runs (from a timer) when this node has become leader
 * and committed its barrier; on_lost when it stops leading. */
st_craft *st_craft_new(uv_loop_t *loop, const st_log *log, st_fsm *fsm, pthread_mutex_t *fsm_lock,
                       st_craft_cb on_ready, st_craft_cb on_lost, void *arg);
/* Raft timing for the next st_craft_start (defaults: 1 s, 100 ms, 1024, 128). */
void st_craft_set_timing(st_craft *c, unsigned election_ms, unsigned heartbeat_ms,
                         unsigned snapshot_threshold, unsigned snapshot_trailing);
/* Start libraft in dir (created if missing) as server id at addr; with bootstrap, a node
 * with no Raft state forms a cluster of one. 0, or <0 with a message in err. */
int st_craft_start(st_craft *c, const char *dir, uint64_t id, const char *addr, int bootstrap,
                   char *err, size_t errlen);
/* Leader with its barrier committed: proposals are accepted. */
int st_craft_ready(const st_craft *c);
/* Propose one entry holding these ops; done(arg, status) runs (from a timer) when it is
 * applied (status 0) or failed (a raft error code: unknown outcome, the caller resends the
 * same op ids). 0, or <0 if not leader / out of memory. */
typedef void (*st_craft_done_cb)(void *arg, int status);
int st_craft_propose(st_craft *c, uint64_t hlc, const ce_op *ops, uint32_t n, st_craft_done_cb done,
                     void *arg);
const char *st_craft_state(const st_craft *c); /* "leader", "follower", ... */
uint64_t st_craft_term(const st_craft *c);
/* The transport: libraft's connections are RAFT streams on port 4370 that went through our
 * handshake (link.c). dial(arg, address, token) starts one (0, or <0 if it cannot);
 * the link then calls st_craft_adopt with the fd once READY, or st_craft_dial_failed. */
typedef int (*st_craft_dial_fn)(void *arg, const char *address, void *token);
void st_craft_set_dialer(st_craft *c, st_craft_dial_fn dial, void *arg);
/* Hand an authenticated RAFT stream to libraft: token from dial (our connect), or NULL for
 * one we accepted from server id at address. 0: the fd is libraft's now. */
int st_craft_adopt(st_craft *c, int fd, uint64_t id, const char *address, void *token);
void st_craft_dial_failed(st_craft *c, void *token);
/* Membership changes (leader only; one at a time). role: RAFT_VOTER etc. */
int st_craft_member_role(const st_craft *c, uint64_t id); /* -1 if not in the configuration */
int st_craft_changing(const st_craft *c);
int st_craft_add(st_craft *c, uint64_t id, const char *address);
int st_craft_assign_voter(st_craft *c, uint64_t id);
int st_craft_remove(st_craft *c, uint64_t id);
/* Told of every entry applied (its index and bytes) and every snapshot restored (the
 * index it ends at), from libraft's callbacks: record only (replicants tail them). */
void st_craft_set_tail(st_craft *c,
                       void (*applied)(void *arg, uint64_t index, const void *p, size_t n),
                       void (*restored)(void *arg, uint64_t index), void *arg);
/* Hand leadership to another voter (libraft picks the most up to date): 0 once asked. */
int st_craft_transfer(st_craft *c);
unsigned st_craft_voters(const st_craft *c); /* in the configuration as this node knows it */
const char *st_craft_leader(const st_craft *c, uint64_t *id); /* address, or NULL */

/* Close libraft; closed(arg) runs on the loop when it is safe to free. */
void st_craft_close(st_craft *c, st_craft_cb closed, void *arg);
void st_craft_free(st_craft *c);

#endif
