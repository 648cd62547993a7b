/* tables.h — the control plane's part-1 tables (docs/cluster.md §5.3): `cluster` (one row:
 * the cluster's identity) and `nodes` (membership: name → slot, role, state, incarnation).
 * Their states are read by the cluster thread; op bodies are built with the st_op_* helpers
 * and proposed as ops (table id, verb, body). */
#ifndef ST_CLUSTER_TABLES_H
#define ST_CLUSTER_TABLES_H

#include "cluster/plane/fsm.h"

#include <stdint.h>

enum { ST_T_CLUSTER = 1, ST_T_NODES = 2 };
enum { ST_V_INIT = 1 };                                                                /* cluster */
enum { ST_V_JOIN = 1, ST_V_JOINED = 2, ST_V_BOOT = 3, ST_V_DOWN = 4, ST_V_LEAVE = 5 }; /* nodes */
enum st_node_state { ST_NS_JOINING = 1, ST_NS_UP = 2, ST_NS_DOWN = 3, ST_NS_LEFT = 4 };

#define ST_MAX_SLOTS 256
#define ST_MAX_NODE_ROWS 1024
#define ST_NO_SLOT 0xFFFF

typedef struct st_cluster_row {
    int init;
    uint8_t uuid[16];
    char name[128];
    uint64_t created_hlc;
    uint16_t feature;
} st_cluster_row;

typedef struct st_node_row {
    char name[256];
    char addr[256];
    uint64_t node_id, incarnation, boot, hlc;
    uint16_t slot;
    uint8_t role, state;
} st_node_row;

typedef struct st_nodes {
    st_node_row rows[ST_MAX_NODE_ROWS];
    uint32_t n;
} st_nodes;

extern const st_rtable_ops st_table_cluster;
extern const st_rtable_ops st_table_nodes;

const st_node_row *st_nodes_find(const st_nodes *t, const char *name);
const char *st_node_state_name(int state);

/* Op bodies (appended to b). */
void st_op_init(st_buf *b, const uint8_t uuid[16], const char *name, uint16_t feature);
void st_op_join(st_buf *b, const char *name, uint8_t role, uint64_t node_id, const char *addr,
                uint64_t boot);
void st_op_name(st_buf *b, const char *name); /* JOINED */
void st_op_boot(st_buf *b, const char *name, uint64_t boot);
void st_op_down(st_buf *b, const char *name, uint64_t incarnation);
void st_op_leave(st_buf *b, const char *name, int forced);

#endif
