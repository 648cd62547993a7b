/* kv.h — the replicated key-value table (docs/cluster.md §5.3): rows of a namespace (access
 * control's users now; its rules, bans and API keys next) that every node holds in full,
 * written through the control plane and kept across restarts by Raft. Keys and values are
 * bytes the plane does not look into; the wiring turns the changes into its users' state.
 * PUT writes a row, ADD writes it only if the key is free (a bootstrap file's users), DEL
 * removes it. The table notes which rows changed since the wiring last looked (after a
 * snapshot is installed: all of them, "reset"). */
#ifndef ST_CLUSTER_KV_H
#define ST_CLUSTER_KV_H

#include "cluster/plane/fsm.h"

#include <stddef.h>
#include <stdint.h>

enum { ST_T_KV = 4 };
enum { ST_V_KV_PUT = 1, ST_V_KV_ADD = 2, ST_V_KV_DEL = 3 };
/* namespaces: the built-in databases' users, the API keys, the dashboard's users, ... */
enum {
    ST_KV_USERS = 1,
    ST_KV_API_KEYS = 2,
    ST_KV_ADMINS = 3,
    ST_KV_BANS = 4,
    ST_KV_ACL = 5,   /* authorization's built_in_database (auth/authz_db.h) */
    ST_KV_CONF = 6,  /* the cluster's config overrides (admin/conf.h) */
    ST_KV_TRACE = 7, /* log traces (admin/trace.h) */
    ST_KV_NS_MAX = 8
};

#define ST_KV_MAX_KEY 1024
#define ST_KV_MAX_VALUE 65536

typedef struct st_kv st_kv;

extern const st_rtable_ops st_table_kv;

/* A row's value into *val (valid until the next apply), or 0 if there is none. */
int st_kv_get(const st_kv *t, uint8_t ns, const void *key, size_t klen, const uint8_t **val,
              size_t *vlen);
/* The changes since the last call: visit(ctx, ns, key, klen, val, vlen) for each changed
 * key as it is now (val NULL: deleted). When a snapshot replaced the table, visit is first
 * called once with ns 0 (whoever mirrors the table starts afresh), then for every row. */
typedef void (*st_kv_visit)(void *ctx, uint8_t ns, const uint8_t *key, size_t klen,
                            const uint8_t *val, size_t vlen);
void st_kv_changes(st_kv *t, st_kv_visit visit, void *ctx);

/* An op's body. */
void st_op_kv(st_buf *b, uint8_t ns, const void *key, size_t klen, const void *val, size_t vlen);

#endif
