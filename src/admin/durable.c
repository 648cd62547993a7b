/* durable.c — GET /api/v5/durable_storage (durable.h). */
#include "admin/durable.h"
#include "admin/sb.h"
#include "broker/durable.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void rfc3339(sb *b, int64_t ms)
{
    if (!ms) {
        sb_printf(b, "null");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[40];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    sb_printf(b, "\"%s.%03dZ\"", s, (int)(ms % 1000));
}

#define MAX_MIRRORS 64

/* ,"replication":{...}: this node's copies on other members and the copies kept here
 * (docs/durability.md §6). */
static void replication(sb *b, st_cluster *cl)
{
    st_replica_info in;
    st_replica_holder h[ST_REPLICA_MAX];
    st_replica_mirror *m = calloc(MAX_MIRRORS, sizeof *m);
    if (!cl || !m) {
        free(m);
        return;
    }
    st_cluster_replicas(cl, &in, h, ST_REPLICA_MAX, m, MAX_MIRRORS);
    sb_printf(b,
              ",\"replication\":{\"enable\":%s,\"restoring\":%s,\"round\":%llu,\"members\":%zu,"
              "\"holders\":[",
              in.on ? "true" : "false", in.restoring ? "true" : "false",
              (unsigned long long)in.round, in.candidates);
    for (size_t i = 0; i < in.nholders && i < ST_REPLICA_MAX; i++) {
        sb_printf(b, "%s{\"node\":", i ? "," : "");
        sb_json_str(b, h[i].node);
        sb_printf(b, ",\"state\":\"%s\",\"acked_round\":%llu}", st_replica_state_name(h[i].state),
                  (unsigned long long)h[i].acked);
    }
    sb_printf(b, "],\"mirrors\":[");
    for (size_t i = 0; i < in.nmirrors && i < MAX_MIRRORS; i++) {
        sb_printf(b, "%s{\"owner\":", i ? "," : "");
        sb_json_str(b, m[i].owner);
        sb_printf(b, ",\"round\":%llu,\"sessions\":%ld,\"messages\":%ld,\"disk_bytes\":%llu}",
                  (unsigned long long)m[i].round, m[i].sessions, m[i].messages,
                  (unsigned long long)m[i].disk_bytes);
    }
    sb_printf(b, "]}");
    free(m);
}

int st_api_durable(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    if (strcmp(req->path, "/api/v5/durable_storage") != 0) return 0;
    if (strcmp(req->method, "GET") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET is served here");
        return 1;
    }
    if (!api->durable) {
        st_api_error(resp, 404, "NOT_FOUND",
                     "durable sessions are off on this node (persistence.enable = false)");
        return 1;
    }
    st_durable_stats st;
    st_durable_stats_get(api->durable, &st);
    sb b = {0};
    sb_printf(&b, "{\"enable\":true,\"status\":\"%s\",\"error\":", st.ok ? "ok" : "failed");
    if (st.store.error[0])
        sb_json_str(&b, st.store.error);
    else
        sb_printf(&b, "null");
    sb_printf(&b,
              ",\"wal_sync_interval_ms\":%lld,\"sessions\":%ld,\"messages\":%ld,"
              "\"disk_bytes\":%llu,\"rounds\":%llu,\"failed_rounds\":%llu,"
              "\"writes\":%llu,\"writes_cancelled\":%llu,\"last_sync\":",
              (long long)st.sync_interval_ms, st.sessions, st.messages,
              (unsigned long long)st.store.disk_bytes, (unsigned long long)st.store.rounds,
              (unsigned long long)st.store.failed_rounds, (unsigned long long)st.store.writes,
              (unsigned long long)st.store.cancelled);
    rfc3339(&b, st.store.last_sync_ms);
    replication(&b, api->cluster);
    sb_printf(&b, "}");
    st_api_reply(resp, 200, "application/json", &b);
    return 1;
}
