/* health.h — the alarms the cluster raises (docs/operations.md, "Alarms"): node_down/<name>
 * for each member the cluster has declared down, raised on the Raft leader only (one alarm
 * per down member in the whole cluster) and cleared when the member is back, has left, or
 * this node is no longer the leader (the new leader raises it). The cluster thread. */
#ifndef ST_CLUSTER_HEALTH_H
#define ST_CLUSTER_HEALTH_H

#include "cluster/plane/plane.h"
#include "core/alarm.h"

#define ST_HEALTH_EVERY_MS 1000

/* Once a second or so: the alarms match the member table. al NULL: nothing. */
void st_health_tick(st_alarms *al, st_plane *pl);

#endif
