/* trie.h — the MQTT topic trie, and the topic/filter helpers that share its rules.
 *
 * A trie of topic levels ('/'-separated; empty levels are real levels: "a//b" has three,
 * "/a" has two). Each node has a user value slot (void *, NULL = "nothing stored here").
 * The same structure serves two uses:
 *   - a set of FILTERS (subscriptions), queried with a topic name: st_trie_match;
 *   - a set of TOPIC NAMES (e.g. retained messages), queried with a filter: st_trie_scan.
 * Wildcard levels of stored filters ("+" and "#" as whole levels) are kept in dedicated
 * child pointers; every other level, including "a+" or "#b", is a literal.
 *
 * Matching rules (MQTT 3.1.1 4.7 / MQTT 5 4.7): '+' matches exactly one level, '#' (only
 * as the last level) matches any number of remaining levels including zero, so "a/#"
 * matches "a". Topics whose first level starts with '$' are not matched by a filter whose
 * first level is '+' or '#' (MQTT-4.7.2-1).
 *
 * Filters and names passed in are not validated here (use st_filter_check /
 * st_topic_check first): a '#' that is not the last level is stored but never matches.
 *
 * Memory: match and scan never allocate and use O(1) stack (no recursion: the walk
 * backtracks through parent pointers), so arbitrarily deep filters are safe. Callbacks
 * must not modify the trie.
 *
 * Thread safety: none inside; the caller locks. */
#ifndef ST_ROUTE_TRIE_H
#define ST_ROUTE_TRIE_H

#include <stddef.h>

typedef struct st_trie st_trie;

/* A new empty trie, or NULL on out of memory. */
st_trie *st_trie_new(void);
/* Frees every node; free_val (may be NULL) is called for each non-NULL value. NULL t is a
 * no-op. */
void st_trie_free(st_trie *t, void (*free_val)(void *val, void *ctx), void *ctx);

/* The user value slot of a filter (or topic) node, created with a NULL value (along with
 * any missing parents) if absent. NULL on out of memory (nothing is left half-built that
 * st_trie_prune would not remove). The slot stays valid until the node is pruned or the
 * trie freed; other insertions and prunes do not move it. */
void **st_trie_slot(st_trie *t, const char *filter, size_t len);
/* The existing slot of filter, or NULL. */
void **st_trie_find(const st_trie *t, const char *filter, size_t len);
/* Remove the node of filter if its value is NULL and it has no children, then do the same
 * for its parents. A no-op if filter has no node. Call after clearing a slot. */
void st_trie_prune(st_trie *t, const char *filter, size_t len);

/* For each stored FILTER that matches TOPIC (a topic name, no wildcards) and has a
 * non-NULL value, call cb(val, ctx). Each matching filter is reported once; order is
 * unspecified. */
void st_trie_match(const st_trie *t, const char *topic, size_t len,
                   void (*cb)(void *val, void *ctx), void *ctx);
/* For each stored TOPIC NAME matched by FILTER with a non-NULL value, call cb(val, ctx).
 * Stops early if cb returns nonzero. Stored wildcard levels are ignored (a set of topic
 * names has none). */
void st_trie_scan(const st_trie *t, const char *filter, size_t len, int (*cb)(void *val, void *ctx),
                  void *ctx);
/* Every non-NULL value, '$' topics included; stops early if cb returns nonzero. */
void st_trie_each(const st_trie *t, int (*cb)(void *val, void *ctx), void *ctx);
/* The same, with each value's filter (built from the levels; up to 64 KiB). */
void st_trie_each_key(const st_trie *t,
                      int (*cb)(const char *key, size_t len, void *val, void *ctx), void *ctx);
/* Number of nodes with a non-NULL value (walks the trie: O(nodes)). */
size_t st_trie_count(const st_trie *t);
/* Number of nodes, with or without a value (not counting the root): for stats and for
 * checking that pruning leaves nothing behind. O(nodes). */
size_t st_trie_nodes(const st_trie *t);

/* Does FILTER match TOPIC? Same rules as st_trie_match. 1 or 0. */
int st_topic_match(const char *filter, size_t flen, const char *topic, size_t tlen);

/* Shared subscriptions: "$share/<group>/<filter>" or "$queue/<filter>" (group "$queue",
 * pointing at the "$queue" text). Returns 1 and sets the group/filter spans (pointers into
 * f) if shared, 0 if not shared (spans untouched), ST_ETOPIC if a malformed shared filter:
 * "$share" or "$queue" without a filter, empty group, group containing '+' or '#', empty
 * filter. The inner filter itself is not validated (use st_filter_check). */
int st_share_parse(const char *f, size_t len, const char **group, size_t *glen, const char **filter,
                   size_t *flen);

/* Number of levels in a topic or filter: 1 + the number of '/' (so "" has one level). */
size_t st_topic_levels(const char *t, size_t len);

/* 0 if f is a valid topic filter, else ST_ETOPIC: non-empty, no NUL byte, '+' only as a
 * whole level, '#' only as the whole last level. (UTF-8 is the codec's business.) */
int st_filter_check(const char *f, size_t len);
/* 0 if t is a valid topic name, else ST_ETOPIC: non-empty, no NUL, no '+' or '#'. */
int st_topic_check(const char *t, size_t len);

#endif
