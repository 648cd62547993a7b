/* health.c — node_down alarms from the member table (health.h). */
#include "cluster/health.h"
#include "broker/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "node_down/"

void st_health_tick(st_alarms *al, st_plane *pl)
{
    if (!al) return;
    st_cluster_info info;
    st_cluster_member *m = calloc(ST_MAX_NODES, sizeof *m);
    size_t n = 0;
    if (m) {
        st_plane_info(pl, &info, m, ST_MAX_NODES);
        n = strcmp(info.raft_state, "leader") == 0 ? info.nmembers : 0;
        n = n < ST_MAX_NODES ? n : ST_MAX_NODES;
    }
    char name[64], msg[400], details[400];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].state, "down") != 0) continue;
        snprintf(name, sizeof name, PREFIX "%.53s", m[i].name);
        snprintf(msg, sizeof msg, "cluster member %s is down", m[i].name);
        snprintf(details, sizeof details, "{\"node\":\"%.300s\",\"incarnation\":%llu}", m[i].name,
                 (unsigned long long)m[i].incarnation);
        st_alarm_raise(al, name, msg, details);
    }
    /* the ones raised before whose member is no longer down here */
    size_t na = st_alarms_list(al, 1, NULL, 0);
    st_alarm *a = na ? calloc(na, sizeof *a) : NULL;
    na = a ? st_alarms_list(al, 1, a, na) : 0;
    for (size_t k = 0; k < na; k++) {
        if (strncmp(a[k].name, PREFIX, strlen(PREFIX)) != 0) continue;
        int still = 0;
        for (size_t i = 0; i < n && !still; i++) {
            snprintf(name, sizeof name, PREFIX "%.53s", m[i].name);
            still = strcmp(m[i].state, "down") == 0 && strcmp(name, a[k].name) == 0;
        }
        if (!still && m) st_alarm_clear(al, a[k].name);
    }
    free(a);
    free(m);
}
