/* api.c — the endpoints: EMQX 5 shapes where EMQX has the endpoint. */
#include "admin/api.h"
#include "admin/admin.h"
#include "admin/listeners.h"
#include "admin/sb.h"
#include "admin/authz.h"
#include "admin/banned.h"
#include "admin/alarms.h"
#include "admin/clients.h"
#include "admin/configs.h"
#include "admin/logs.h"
#include "admin/metrics.h"
#include "admin/publish.h"
#include "admin/retainer.h"
#include "admin/subscriptions.h"
#include "admin/trace.h"
#include "admin/durable.h"
#include "admin/users.h"
#include "broker/broker.h"
#include "broker/worker.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 257

static void nodes_json(sb *b, const st_api *api, const st_cluster_node *v, size_t n, int one)
{
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if ((one && !v[i].self) || !v[i].member) continue;
        if (!first) sb_printf(b, ",");
        first = 0;
        sb_printf(b, "{\"node\":");
        sb_json_str(b, v[i].name);
        sb_printf(b, ",\"node_status\":\"%s\"", v[i].running ? "running" : "stopped");
        if (v[i].self) sb_printf(b, ",\"version\":\"%s\",\"role\":\"%s\"", api->version, api->role);
        if (!v[i].self && v[i].running) sb_printf(b, ",\"rtt_us\":%lld", (long long)v[i].rtt_us);
        sb_printf(b, "}");
    }
}

static void route(const st_api *api, const st_http_req *req, st_http_resp *resp,
                  const st_cluster_node *v, size_t n);

/* EMQX's running_nodes / stopped_nodes, members of this node's cluster only; nodes linked
 * but not members in linked_nodes, and while this node is in no cluster yet, why in
 * not_formed (Starling's keys). */
static void cluster_status_json(sb *b, st_cluster *cl, const st_cluster_node *v, size_t n)
{
    static const char *const keys[] = {"running_nodes", "stopped_nodes", "linked_nodes"};
    for (int k = 0; k < 3; k++) {
        sb_printf(b, "%s\"%s\":[", k ? "]," : "{", keys[k]);
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            int which = !v[i].member ? 2 : v[i].running ? 0 : 1;
            if (which != k || (k == 2 && !v[i].running)) continue;
            sb_printf(b, "%s", first ? "" : ",");
            sb_json_str(b, v[i].name);
            first = 0;
        }
    }
    sb_printf(b, "]");
    char why[320];
    if (!st_cluster_formed(cl, why, sizeof why)) {
        sb_printf(b, ",\"not_formed\":");
        sb_json_str(b, why);
    }
    sb_printf(b, "}");
}

/* The control plane: Raft state and the replicated member table. */
static void control_json(sb *b, st_cluster *cl)
{
    st_cluster_info info;
    st_cluster_member *m = calloc(MAX_NODES, sizeof *m);
    st_cluster_info_get(cl, &info, m, m ? MAX_NODES : 0);
    sb_printf(b,
              "\"uuid\":\"%s\",\"raft\":{\"state\":\"%s\",\"term\":%llu,\"applied\":%llu,"
              "\"voters\":%u},\"registry\":%zu,\"members\":[",
              info.uuid, info.raft_state, (unsigned long long)info.term,
              (unsigned long long)info.applied, info.voters, info.registry);
    for (size_t i = 0; m && i < info.nmembers && i < MAX_NODES; i++) {
        sb_printf(b, "%s{\"node\":", i ? "," : "");
        sb_json_str(b, m[i].name);
        sb_printf(b, ",\"state\":\"%s\",\"incarnation\":%llu,\"slot\":%d,\"role\":\"%s\"}",
                  m[i].state, (unsigned long long)m[i].incarnation, m[i].slot,
                  m[i].replicant ? "replicant" : "core");
    }
    sb_printf(b, "]");
    free(m);
}

/* Route table and forwarding figures per node (docs/cluster.md §7.3). */
static void routes_json(sb *b, st_cluster *cl)
{
    st_cluster_routes r;
    st_cluster_peer_routes *p = calloc(MAX_NODES, sizeof *p);
    st_cluster_routes_get(cl, &r, p, p ? MAX_NODES : 0);
    sb_printf(b, "{\"node\":");
    sb_json_str(b, st_cluster_node_name(cl));
    sb_printf(b,
              ",\"local_routes\":%zu,\"remote_routes\":%zu,\"route_ops_sent\":%llu,"
              "\"route_ops_pending\":%llu,"
              "\"forward\":{\"sent\":%llu,\"received\":%llu,\"dropped\":%llu,"
              "\"resent\":%llu,\"redispatched\":%llu},\"peers\":[",
              r.local, r.remote, (unsigned long long)r.ops_tx, (unsigned long long)r.pending,
              (unsigned long long)r.fwd_sent, (unsigned long long)r.fwd_received,
              (unsigned long long)r.fwd_dropped, (unsigned long long)r.fwd_resent,
              (unsigned long long)r.fwd_redispatched);
    for (size_t i = 0; p && i < r.npeers && i < MAX_NODES; i++) {
        sb_printf(b, "%s{\"node\":", i ? "," : "");
        sb_json_str(b, p[i].name);
        sb_printf(b, ",\"routes\":%zu,\"route_ops_received\":%llu}", p[i].routes,
                  (unsigned long long)p[i].ops_rx);
    }
    sb_printf(b, "]}");
    free(p);
}

/* 204, or the error behind rc as 404 / 409 / 400 with its text. */
static void member_error(st_http_resp *resp, int rc, const char *err)
{
    if (rc == ST_ENOENT)
        st_api_error(resp, 404, "NOT_FOUND", err);
    else if (rc == ST_EEXIST)
        st_api_error(resp, 409, "CONFLICT", err);
    else if (rc < 0)
        st_api_error(resp, 400, "BAD_REQUEST", err);
    else
        st_api_reply(resp, 204, "application/json", &(sb){0});
}

/* DELETE /api/v5/cluster/{node}/force_leave (EMQX's path): the leader commits LEAVE. */
static void force_leave(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    static const char pre[] = "/api/v5/cluster/", suf[] = "/force_leave";
    size_t n = strlen(req->path), pl = sizeof pre - 1, sl = sizeof suf - 1;
    if (n <= pl + sl || strncmp(req->path, pre, pl) != 0 || strcmp(req->path + n - sl, suf) != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED",
                     "DELETE is served on /api/v5/cluster/{node}/force_leave");
        return;
    }
    char node[256], err[200];
    snprintf(node, sizeof node, "%.*s", (int)(n - pl - sl), req->path + pl);
    member_error(resp, st_cluster_force_leave(api->cluster, node, err, sizeof err), err);
}

/* POST /api/v5/cluster/{node}/join: this node joins node's cluster (`ctl cluster join`);
 * POST /api/v5/cluster/leave: this node leaves its cluster (`ctl cluster leave`). */
static void membership(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    static const char pre[] = "/api/v5/cluster/", suf[] = "/join";
    size_t n = strlen(req->path), pl = sizeof pre - 1, sl = sizeof suf - 1;
    char err[300];
    if (strcmp(req->path, "/api/v5/cluster/leave") == 0) {
        member_error(resp, st_cluster_leave(api->cluster, err, sizeof err), err);
        return;
    }
    if (n <= pl + sl || n - pl - sl >= 256 || strncmp(req->path, pre, pl) != 0 ||
        strcmp(req->path + n - sl, suf) != 0) {
        st_api_error(resp, 404, "NOT_FOUND",
                     "POST is served on /api/v5/cluster/{node}/join and /api/v5/cluster/leave");
        return;
    }
    char node[256];
    snprintf(node, sizeof node, "%.*s", (int)(n - pl - sl), req->path + pl);
    member_error(resp, st_cluster_join(api->cluster, node, err, sizeof err), err);
}

/* POST /api/v5/listeners/{id}/start|stop|restart (the id percent-encoded or not). */
static void listener_op(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *at = req->path + 18, *slash = strchr(at, '/');
    char id[100];
    if (strcmp(req->method, "POST") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only POST is served here");
    } else if (st_http_unescape(at, (size_t)(slash - at), id, sizeof id) <= 0 || !strchr(id, ':')) {
        st_api_error(resp, 404, "BAD_LISTENER_ID", "Listener not found");
    } else if (!api->broker) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no broker on this node");
    } else {
        st_api_listener_op(api, id, slash + 1, resp);
    }
}

/* POST /api/v5/listeners/reload (`ctl listeners reload`): TLS listeners and the HTTPS API
 * read their certificate files again, all or nothing: a file that does not load keeps every
 * old one, and 400 says which and why. */
static void reload(const st_api *api, st_http_resp *resp)
{
    char err[600];
    st_tls_ctx *https = NULL;
    int n = api->admin ? st_admin_https_fresh(api->admin, &https, err, sizeof err) : 0;
    if (n == 0 && api->broker) n = st_broker_reload_tls(api->broker, err, sizeof err);
    if (n < 0) {
        st_tls_ctx_free(https);
        st_api_error(resp, 400, "BAD_REQUEST", err);
        return;
    }
    if (https) {
        st_admin_https_swap(api->admin, https);
        n++;
    }
    sb b = {0};
    sb_printf(&b, "{\"reloaded\":%d}", n);
    st_api_reply(resp, 200, "application/json", &b);
}

void st_api_handle(void *ctx, const st_http_req *req, st_http_resp *resp)
{
    const st_api *api = ctx;
    if (st_api_users(api, req, resp) || st_api_banned(api, req, resp) ||
        st_api_authz(api, req, resp) || st_api_durable(api, req, resp) ||
        st_api_alarms(api, req, resp) || st_api_clients(api, req, resp) ||
        st_api_metrics(api, req, resp) || st_api_publish(api, req, resp) ||
        st_api_retainer(api, req, resp) || st_api_subscriptions(api, req, resp) ||
        st_api_logs(api, req, resp) || st_api_configs(api, req, resp) ||
        st_api_trace(api, req, resp))
        return;
    if (strcmp(req->method, "DELETE") == 0) {
        force_leave(api, req, resp);
        return;
    }
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/api/v5/listeners/reload") == 0) {
        reload(api, resp);
        return;
    }
    if (strncmp(req->path, "/api/v5/listeners/", 18) == 0 && strchr(req->path + 18, '/')) {
        listener_op(api, req, resp);
        return;
    }
    if (strcmp(req->method, "POST") == 0) {
        membership(api, req, resp);
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET, POST and DELETE are served here");
        return;
    }
    st_cluster_node *v = calloc(MAX_NODES, sizeof *v);
    if (!v) {
        st_api_error(resp, 503, "OUT_OF_MEMORY", "out of memory");
        return;
    }
    size_t n = st_cluster_view(api->cluster, v, MAX_NODES);
    if (n > MAX_NODES) n = MAX_NODES;
    route(api, req, resp, v, n);
    free(v);
}

static void route(const st_api *api, const st_http_req *req, st_http_resp *resp,
                  const st_cluster_node *v, size_t n)
{
    sb b = {0};
    if (strcmp(req->path, "/status") == 0 || strcmp(req->path, "/api/v5/status") == 0) {
        /* 503 until the node is in a cluster: a readiness probe waits for it */
        char why[320];
        int formed = st_cluster_formed(api->cluster, why, sizeof why);
        sb_printf(&b, "Node %s is started\nstarling is %s\n", st_cluster_node_name(api->cluster),
                  formed ? "running" : "not_running");
        if (!formed) sb_printf(&b, "not in a cluster yet: %s\n", why);
        st_api_reply(resp, formed ? 200 : 503, "text/plain", &b);
    } else if (strcmp(req->path, "/api/v5/nodes") == 0) {
        sb_printf(&b, "[");
        nodes_json(&b, api, v, n, 0);
        sb_printf(&b, "]");
        st_api_reply(resp, 200, "application/json", &b);
    } else if (strncmp(req->path, "/api/v5/nodes/", 14) == 0) {
        size_t i = 0;
        while (i < n && (strcmp(v[i].name, req->path + 14) != 0 || !v[i].member))
            i++;
        if (i == n) {
            st_api_error(resp, 404, "NOT_FOUND", "no such node");
            return;
        }
        nodes_json(&b, api, v + i, 1, 0);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (strcmp(req->path, "/api/v5/cluster") == 0) {
        sb_printf(&b, "{\"name\":");
        sb_json_str(&b, st_cluster_name(api->cluster));
        sb_printf(&b, ",\"nodes\":[");
        for (size_t i = 0, k = 0; i < n; i++) {
            if (!v[i].member) continue;
            sb_printf(&b, "%s", k++ ? "," : "");
            sb_json_str(&b, v[i].name);
        }
        sb_printf(&b, "],");
        control_json(&b, api->cluster);
        sb_printf(&b, "}");
        st_api_reply(resp, 200, "application/json", &b);
    } else if (strcmp(req->path, "/api/v5/cluster/routes") == 0) {
        routes_json(&b, api->cluster);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (strcmp(req->path, "/api/v5/cluster/status") == 0) {
        cluster_status_json(&b, api->cluster, v, n);
        st_api_reply(resp, 200, "application/json", &b);
    } else if (strcmp(req->path, "/api/v5/listeners") == 0) {
        st_api_listeners(&b, api);
        st_api_reply(resp, 200, "application/json", &b);
    } else {
        st_api_error(resp, 404, "NOT_FOUND", "no such endpoint");
    }
}
