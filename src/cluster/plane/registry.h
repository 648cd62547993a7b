/* registry.h — the client-id registry, a replicated table (docs/cluster.md §10.2): client id
 * → the node that holds its session and the version of its registration (the hybrid
 * logical clock of the CONNECT that made it). The newest registration wins, whatever order
 * the nodes propose in; an older one is refused (stale), so a late or replayed registration
 * can never take a client id back from a newer connection. Whichever of two registrations
 * is applied first, the older one's node gets a *kick*: when a newer registration replaces
 * a row, for the node that held it; when an older one arrives after, for its own node.
 * That node closes that connection unless it has registered a newer one since (DISCONNECT
 * 0x8E, session taken over). A registration from the node the row names wins without a
 * kick (the newer clock and later incarnation kept): the session is on that node, e.g. one
 * its restarted process recovered from a disk without its earlier process's registration. */
#ifndef ST_CLUSTER_REGISTRY_H
#define ST_CLUSTER_REGISTRY_H

#include "cluster/plane/fsm.h"

#include <stddef.h>
#include <stdint.h>

enum { ST_T_REGISTRY = 3 };
enum { ST_V_REG = 1, ST_V_UNREG = 2, ST_V_PURGE = 3 };

typedef struct st_reg_row {
    uint64_t node_id, incarnation, hlc;
} st_reg_row;

/* A registration that lost: cid's connection on node_id registered at hlc (the same
 * clock value can win on another node: equal clocks are decided by node id). */
typedef struct st_reg_kick {
    char *cid;
    size_t len;
    uint64_t node_id, hlc;
} st_reg_kick;

typedef struct st_registry st_registry;

extern const st_rtable_ops st_table_registry;

const st_reg_row *st_registry_get(const st_registry *r, const char *cid, size_t len);
size_t st_registry_count(const st_registry *r);
/* Take the kicks noted since the last call (the caller frees each cid, then the array). */
st_reg_kick *st_registry_kicks(st_registry *r, size_t *n);

/* Op bodies. REG: cid now lives on node_id (at that incarnation) with version hlc. UNREG:
 * the registration (node_id, hlc) is over (its session ended). PURGE: every row of node_id
 * from an incarnation up to `incarnation` goes (the node was declared down). */
void st_op_reg(st_buf *b, const char *cid, size_t len, uint64_t node_id, uint64_t incarnation,
               uint64_t hlc);
void st_op_unreg(st_buf *b, const char *cid, size_t len, uint64_t node_id, uint64_t hlc);
void st_op_purge(st_buf *b, uint64_t node_id, uint64_t incarnation);

#endif
