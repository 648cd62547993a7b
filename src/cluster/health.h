/* health.h — the alarms the cluster raises (docs/operations.md, "Alarms"): node_down/<name>
 * for each member the cluster has declared down, raised on the Raft leader only (one alarm
 * per down member in the whole cluster) and cleared when the member is back, has left, or
 * this node is no longer the leader (the new leader raises it). The cluster thread. */
#ifndef ST_CLUSTER_HEALTH_H
#define ST_CLUSTER_HEALTH_H

#include "cluster/plane/plane.h"
#include "core/alarm.h"
#include "core/log.h"

#define ST_HEALTH_EVERY_MS 1000

/* The resource alarms (sysmon.os.*): high_system_memory_usage, high_process_memory_usage and
 * high_fd_usage while above their watermarks (percentages, checked every check_ms; 0: never),
 * and cluster_forward_backlog while a data lane to another node has stayed past
 * cluster.forward_buffer_high for ST_HEALTH_BACKLOG_MS (the node it goes to does not keep
 * up). Every node raises its own. */
typedef struct st_health_cfg {
    double sysmem_pct, procmem_pct, fd_pct;
    int64_t check_ms;
} st_health_cfg;
typedef struct st_health {
    st_health_cfg cfg;
    const st_log *log;
    int64_t next_check;
    int64_t over_since; /* lanes full since (0: none is) */
} st_health;
#define ST_HEALTH_BACKLOG_MS 5000
/* Once a second or so; lanes_over: data lanes past their high mark now. al NULL: nothing. */
void st_health_resources(st_health *h, st_alarms *al, int lanes_over, int64_t now);

/* Once a second or so: the alarms match the member table. al NULL: nothing. */
void st_health_tick(st_alarms *al, st_plane *pl);

#endif
