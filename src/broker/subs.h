/* subs.h — the node's subscription table: topic filter → subscribers (session id, owning
 * worker, options), and shared-subscription groups with their members.
 * Shared by all workers behind one rwlock (docs/locking.md): publishes take it for
 * reading, SUBSCRIBE/UNSUBSCRIBE and session end take it for writing. A match produces
 * "targets" that the publishing worker hands to the owners of the sessions. */
#ifndef ST_SUBS_H
#define ST_SUBS_H

#include "broker/msg.h"
#include "broker/remote.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ST_SUB_NL 0x01     /* No Local */
#define ST_SUB_RAP 0x02    /* Retain As Published */
#define ST_T_RETAINED 0x04 /* target flag: a retained message sent on subscribe */

/* A shared group's identity ("$share/g/f"), refcounted so queued messages can name the
 * group they came through for redispatch after the group object is gone. */
typedef struct st_sharekey {
    atomic_int refs;
    uint32_t len;
    char s[];
} st_sharekey;

/* A new key (refs = 1), e.g. for a queued message that moved from another node. */
st_sharekey *st_sharekey_new(const char *s, size_t len);
void st_sharekey_unref(st_sharekey *k);

typedef struct st_target {
    uint64_t sid;
    uint16_t worker;
    uint8_t qos;   /* granted QoS of the subscription */
    uint8_t flags; /* ST_SUB_* */
    uint32_t sub_id;
    st_sharekey *share; /* referenced, for shared subscriptions; NULL otherwise */
} st_target;

typedef struct st_tvec {
    st_target *v;
    size_t n, cap;
} st_tvec;

int st_tvec_push(st_tvec *t, const st_target *x);
void st_tvec_free(st_tvec *t);

typedef struct st_subs st_subs;

st_subs *st_subs_new(int strategy);
void st_subs_free(st_subs *s);

/* Add (or replace the options of) sid's subscription to filter (plain or shared).
 * Returns 1 if it is new, 0 if it replaced one, negative ST_E* on error. */
int st_subs_add(st_subs *s, const char *filter, size_t len, const st_target *entry);
/* Remove sid's subscription to filter. Returns 1 if removed, 0 if it did not exist. */
int st_subs_del(st_subs *s, const char *filter, size_t len, uint64_t sid);

/* Every subscription matching msg->topic: all plain subscribers (No Local applied against
 * msg->from_sid), and one member per shared group picked by the strategy. Appends to out.
 * pub_key/pub_key_len: the publisher's client id (hash_clientid); worker: the publishing
 * worker (local strategy); rng: caller's random state; dest (may be NULL): gets the remote
 * nodes with a route that matches. Returns the number of local targets appended. */
size_t st_subs_match(st_subs *s, const st_msg *msg, const char *pub_key, size_t pub_key_len,
                     uint16_t worker, uint64_t *rng, st_tvec *out, st_nodeset *dest);

/* A message from another node (a DELIVER record): the plain subscribers only; the node
 * that published picked the members of shared groups itself. */
size_t st_subs_match_plain(st_subs *s, const st_msg *msg, uint64_t *rng, st_tvec *out);

/* Pick a local member of the group named by key for msg: by the strategy (a SHARED record
 * from another node; exclude_sid 0), or any member but exclude_sid (redispatch). Returns 1
 * with *out filled (out->share referenced), 0 if there is no such member. */
int st_subs_pick(st_subs *s, const st_sharekey *key, const st_msg *msg, uint64_t exclude_sid,
                 uint64_t *rng, st_target *out);
int st_subs_pick_name(st_subs *s, const char *share, size_t len, const st_msg *msg,
                      uint64_t exclude_sid, uint64_t *rng, st_target *out);

/* Redispatch of a shared copy that node `exclude` could not take (it had no member any
 * more, or it is gone): another member of the group named by key, among this node's
 * members and the other nodes' (each weighed by its member count), never on exclude.
 * Returns 1 for a member here (deliver with st_subs_pick_name), 2 with another node's slot
 * in *slot, 0 if the group has no member left anywhere else. */
int st_subs_repick(st_subs *s, const st_sharekey *key, uint16_t exclude, uint64_t *rng,
                   uint16_t *slot);

size_t st_subs_count(st_subs *s); /* subscriptions, plain + shared members */

/* Routes (docs/cluster.md §7). The hook is called under the write lock whenever a plain
 * filter gains its first local subscriber or loses its last (group NULL, count 1 or 0),
 * and whenever the number of local members of a shared group changes (group and its
 * length, count = members here, 0 when the last one left). */
typedef void (*st_subs_route_fn)(void *cx, const char *filter, size_t len, const char *group,
                                 size_t glen, uint32_t count);
void st_subs_set_route_hook(st_subs *s, st_subs_route_fn fn, void *cx);

/* A remote node's route: filter has plain subscribers on node (present) or not any more;
 * or, with group set, node has `members` members of that shared group (0: none). */
typedef struct st_route_op {
    const char *filter;
    size_t len;
    int present;
    const char *group;
    size_t glen;
    uint32_t members;
} st_route_op;

/* This node's routes as the hook would have announced them: cb(key, len, count) for each
 * filter with local subscribers (count 1) and each shared group with local members (key
 * "$share/<group>/<filter>", count = members). Under the read lock. */
void st_subs_local_each(st_subs *s,
                        void (*cb)(void *ctx, const char *key, size_t len, uint32_t count),
                        void *ctx);

/* Apply a batch of one node's route changes under one write-lock hold. 0 or ST_ENOMEM. */
int st_subs_remote_apply(st_subs *s, const st_route_op *ops, size_t n, uint16_t node);
size_t st_subs_remote_count(st_subs *s); /* (filter, node) routes held for other nodes */

uint64_t st_rand(uint64_t *state); /* xorshift64* */

#endif
