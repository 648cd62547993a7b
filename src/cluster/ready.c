/* ready.c — MQTT listeners of a restarted member, or of a fresh node that discovers, wait for
 * the other members' routes (ready.h). */
#include "cluster/ready.h"
#include "broker/broker.h"
#include "broker/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SHOWN 8 /* members named in the log line of a deadline */

void st_ready_hold(st_ready *r, struct st_broker *b, const char *data_dir, int core, int discovers)
{
    char meta[700];
    memset(r, 0, sizeof *r);
    r->b = b;
    snprintf(meta, sizeof meta, "%s/raft/metadata1", data_dir);
    r->fresh = access(meta, F_OK) != 0;
    if (!b || !core || (r->fresh && !discovers)) return;
    st_broker_hold_accept(b);
    r->held = 1;
}

void st_ready_hold_restore(st_ready *r)
{
    if (!r->b || r->held) return;
    st_broker_hold_accept(r->b);
    r->held = 1;
}

static void open_now(st_ready *r)
{
    r->held = 0;
    st_broker_open_accept(r->b);
}

void st_ready_start(st_ready *r, int64_t now, int64_t wait_ms, int64_t window_ms, const st_log *log)
{
    if (!r->held) return;
    r->since = now;
    r->deadline = now + wait_ms + (r->fresh ? window_ms : 0);
    LOG_DEBUG(log, "cluster: MQTT listeners wait (at most %lld ms) for the other members' routes",
              (long long)wait_ms);
}

void st_ready_tick(st_ready *r, st_plane *pl, st_data *d, int restoring, int64_t now,
                   const st_log *log)
{
    if (!r->held || restoring) return;
    st_cluster_info info;
    st_plane_info(pl, &info, NULL, 0);
    if (info.voters == 1) { /* a cluster of one: nobody's routes to wait for */
        open_now(r);
        return;
    }
    char why[256] = "";
    int formed = st_plane_formed(pl, why, sizeof why);
    char(*names)[256] = formed ? malloc(ST_MAX_NODES * sizeof *names) : NULL;
    size_t n = names ? st_plane_up_members(pl, names, ST_MAX_NODES) : 0, missing = 0;
    char shown[MAX_SHOWN * 64] = "";
    for (size_t i = 0; i < n && i < ST_MAX_NODES; i++) {
        if (st_data_routes_synced(d, names[i])) continue;
        if (missing++ < MAX_SHOWN) {
            size_t used = strlen(shown);
            snprintf(shown + used, sizeof shown - used, "%s%s", used ? ", " : "", names[i]);
        }
    }
    int asked = names != NULL;
    free(names);
    if (formed && !asked) { /* no memory this time: not known, so not ready */
        missing = 1;
        snprintf(shown, sizeof shown, "the members (not checked: out of memory)");
    }
    if (formed && !missing && n <= ST_MAX_NODES) {
        LOG_INFO(log,
                 "cluster: routes of %zu member(s) in after %lld ms: accepting MQTT connections", n,
                 (long long)(now - r->since));
        open_now(r);
    } else if (now >= r->deadline) {
        LOG_WARN(log, "cluster: accepting MQTT connections without the routes of %s (%s)",
                 formed ? shown : "the cluster", formed ? "no full route sync yet" : why);
        open_now(r);
    }
}
