/* routes.c — the API's endpoints (routes.h). A new endpoint is a row here, or the server
 * answers 404 for it. */
#include "admin/routes.h"

#include <stdio.h>
#include <string.h>

#define PAGE "page,limit"
#define V5 "/api/v5"
#define AZ V5 "/authorization/sources/built_in_database/rules"
#define AN V5 "/authentication/{id}/users"
#define LAN V5 "/listeners/{listener_id}/authentication/{id}/users"

/* clang-format off */
const st_route st_routes[] = {
    {"GET", "/status", ST_ROUTE_OPEN | ST_ROUTE_TEXT, "Status", "Is the node running and in a cluster (503 until it is)", 200, "Text", "", ""},
    {"GET", V5 "/status", ST_ROUTE_OPEN | ST_ROUTE_TEXT, "Status", "The same as /status", 200, "Text", "", ""},
    {"GET", "/api-docs/swagger.json", ST_ROUTE_OPEN, "Docs", "This document", 200, "Object", "", ""},

    {"POST", V5 "/login", ST_ROUTE_OPEN, "Dashboard users", "Log in: a bearer token", 200, "Login", "", "LoginRequest"},
    {"POST", V5 "/logout", 0, "Dashboard users", "Log out: the token stops working", 204, "", "", ""},
    {"GET", V5 "/users", 0, "Dashboard users", "The dashboard's users (bearer tokens only)", 200, "AdminList", "", ""},
    {"POST", V5 "/users", 0, "Dashboard users", "Add a dashboard user", 200, "Admin", "", "AdminNew"},
    {"DELETE", V5 "/users/{username}", 0, "Dashboard users", "Delete a dashboard user", 204, "", "", ""},
    {"POST", V5 "/users/{username}/change_pwd", 0, "Dashboard users", "Change a password", 204, "", "", "PasswordChange"},
    {"GET", V5 "/api_key", 0, "API keys", "The API keys (bearer tokens only)", 200, "ApiKeyList", "", ""},
    {"POST", V5 "/api_key", 0, "API keys", "Make an API key: its secret is shown once", 200, "ApiKey", "", "ApiKeyNew"},
    {"GET", V5 "/api_key/{name}", 0, "API keys", "One API key", 200, "ApiKey", "", ""},
    {"PUT", V5 "/api_key/{name}", 0, "API keys", "Change an API key (enable, expired_at, desc)", 200, "ApiKey", "", "ApiKeyNew"},
    {"DELETE", V5 "/api_key/{name}", 0, "API keys", "Delete an API key", 204, "", "", ""},

    {"GET", V5 "/nodes", 0, "Cluster", "The cluster's members", 200, "NodeList", "", ""},
    {"GET", V5 "/nodes/{node}", 0, "Cluster", "One member", 200, "Node", "", ""},
    {"GET", V5 "/cluster", 0, "Cluster", "The cluster: its name, members and control plane", 200, "ClusterInfo", "", ""},
    {"GET", V5 "/cluster/status", 0, "Cluster", "Running and stopped members", 200, "ClusterStatus", "", ""},
    {"GET", V5 "/cluster/routes", 0, "Cluster", "This node's route table and forwarding figures", 200, "ClusterRoutes", "", ""},
    {"POST", V5 "/cluster/{node}/join", 0, "Cluster", "This node joins node's cluster", 204, "", "", ""},
    {"POST", V5 "/cluster/leave", 0, "Cluster", "This node leaves its cluster", 204, "", "", ""},
    {"DELETE", V5 "/cluster/{node}/force_leave", 0, "Cluster", "Remove a member (a dead one)", 204, "", "", ""},

    {"GET", V5 "/clients", 0, "Clients", "Every node's sessions, paged and filtered", 200, "ClientList", PAGE ",node,clientid,username,ip_address,conn_state,clean_start,proto_ver,like_clientid,like_username,gte_created_at,lte_created_at,gte_connected_at,lte_connected_at", ""},
    {"GET", V5 "/clients/{clientid}", 0, "Clients", "One client, wherever it is", 200, "Client", "", ""},
    {"DELETE", V5 "/clients/{clientid}", 0, "Clients", "Kick a client out, wherever it is", 204, "", "", ""},
    {"POST", V5 "/clients/kickout/bulk", 0, "Clients", "Kick clients out", 204, "", "", "StringList"},
    {"GET", V5 "/clients/{clientid}/subscriptions", 0, "Clients", "A client's subscriptions", 200, "ClientSubscriptions", "", ""},
    {"POST", V5 "/clients/{clientid}/subscribe", 0, "Clients", "Subscribe a client", 200, "Object", "", "SubscribeRequest"},
    {"POST", V5 "/clients/{clientid}/subscribe/bulk", 0, "Clients", "Subscribe a client to several filters", 200, "Array", "", "Array"},
    {"POST", V5 "/clients/{clientid}/unsubscribe", 0, "Clients", "Unsubscribe a client", 204, "", "", "UnsubscribeRequest"},
    {"POST", V5 "/clients/{clientid}/unsubscribe/bulk", 0, "Clients", "Unsubscribe a client from several filters", 204, "", "", "Array"},
    {"GET", V5 "/clients/{clientid}/mqueue_messages", 0, "Clients", "The messages queued for a client", 200, "MessagePage", "limit,position,payload,max_payload_bytes", ""},
    {"GET", V5 "/clients/{clientid}/inflight_messages", 0, "Clients", "A client's messages in flight", 200, "MessagePage", "limit,position,payload,max_payload_bytes", ""},
    {"GET", V5 "/sessions_count", 0, "Clients", "The cluster's sessions, connected or not", 200, "Count", "since", ""},

    {"GET", V5 "/subscriptions", 0, "Subscriptions", "Every node's subscriptions, paged and filtered", 200, "SubscriptionList", PAGE ",node,clientid,topic,qos,share_group,match_topic", ""},
    {"GET", V5 "/topics", 0, "Subscriptions", "The cluster's route table", 200, "TopicList", PAGE ",topic,node", ""},
    {"GET", V5 "/topics/{topic}", ST_ROUTE_GREEDY, "Subscriptions", "The routes of one topic filter", 200, "Array", "", ""},
    {"POST", V5 "/publish", 0, "Publish", "Publish a message", 200, "PublishResult", "", "PublishRequest"},
    {"POST", V5 "/publish/bulk", 0, "Publish", "Publish several messages", 200, "Array", "", "Array"},
    {"GET", V5 "/mqtt/retainer/messages", 0, "Retainer", "The retained messages", 200, "RetainedList", PAGE ",topic", ""},
    {"GET", V5 "/mqtt/retainer/message/{topic}", ST_ROUTE_GREEDY, "Retainer", "One retained message", 200, "RetainedMessage", "", ""},
    {"DELETE", V5 "/mqtt/retainer/message/{topic}", ST_ROUTE_GREEDY, "Retainer", "Delete a retained message on every node", 204, "", "", ""},

    {"GET", V5 "/metrics", 0, "Metrics", "Each node's counters, or their sums", 200, "Figures", "aggregate", ""},
    {"GET", V5 "/stats", 0, "Metrics", "Each node's gauges, or their sums", 200, "Figures", "aggregate", ""},
    {"GET", V5 "/nodes/{node}/metrics", 0, "Metrics", "A node's counters", 200, "Object", "", ""},
    {"GET", V5 "/nodes/{node}/stats", 0, "Metrics", "A node's gauges", 200, "Object", "", ""},
    {"GET", V5 "/monitor_current", 0, "Metrics", "The cluster's figures now, with message rates", 200, "Monitor", "", ""},
    {"GET", V5 "/monitor_current/nodes/{node}", 0, "Metrics", "A node's figures now", 200, "Monitor", "", ""},
    {"GET", V5 "/prometheus/stats", ST_ROUTE_TEXT, "Metrics", "The Prometheus scrape (no credential unless prometheus.enable_basic_auth)", 200, "Text", "mode", ""},

    {"GET", V5 "/listeners", 0, "Listeners", "Every listener, with each node's state", 200, "ListenerList", "", ""},
    {"POST", V5 "/listeners/reload", 0, "Listeners", "TLS listeners read their certificates again", 200, "Object", "", ""},
    {"POST", V5 "/listeners/{id}/start", 0, "Listeners", "Start a listener on every node", 200, "", "", ""},
    {"POST", V5 "/listeners/{id}/stop", 0, "Listeners", "Stop a listener on every node", 200, "", "", ""},
    {"POST", V5 "/listeners/{id}/restart", 0, "Listeners", "Restart a listener on every node", 200, "", "", ""},

    {"GET", V5 "/alarms", 0, "Alarms", "Every node's alarms, active or past", 200, "AlarmList", PAGE ",activated", ""},
    {"DELETE", V5 "/alarms", 0, "Alarms", "Forget every node's past alarms", 204, "", "", ""},
    {"POST", V5 "/alarms/force_deactivate", 0, "Alarms", "Clear an active alarm", 204, "", "", "AlarmRef"},

    {"GET", V5 "/configs", ST_ROUTE_TEXT, "Configs", "The config as HOCON (JSON with Accept: application/json)", 200, "Text", "key", ""},
    {"PUT", V5 "/configs", 0, "Configs", "Change the cluster's config (a HOCON body)", 200, "ConfigChange", "mode,ignore_readonly", "Text"},
    {"GET", V5 "/configs/{root}", 0, "Configs", "One root of the config", 200, "Object", "", ""},
    {"PUT", V5 "/configs/{root}", 0, "Configs", "Replace what the API set for a root", 200, "Object", "", "Object"},
    {"POST", V5 "/configs/reload", 0, "Configs", "This node reads its file again", 200, "ConfigChange", "", ""},
    {"GET", V5 "/log/level", 0, "Logs", "This node's log level", 200, "LogLevel", "", ""},
    {"PUT", V5 "/log/level", 0, "Logs", "Set this node's log level", 200, "LogLevel", "", "LogLevel"},

    {"GET", V5 "/trace", 0, "Trace", "Every trace, with each node's log size", 200, "TraceList", "", ""},
    {"POST", V5 "/trace", 0, "Trace", "Start a trace of a client, a topic or an address", 200, "Trace", "", "TraceNew"},
    {"DELETE", V5 "/trace", 0, "Trace", "Delete every trace", 204, "", "", ""},
    {"DELETE", V5 "/trace/{name}", 0, "Trace", "Delete a trace and its files", 204, "", "", ""},
    {"PUT", V5 "/trace/{name}/stop", 0, "Trace", "Stop a trace", 200, "Trace", "", ""},
    {"GET", V5 "/trace/{name}/log", 0, "Trace", "A node's lines of a trace", 200, "TraceLog", "node,position,bytes", ""},
    {"GET", V5 "/trace/{name}/download", ST_ROUTE_TEXT, "Trace", "Every node's lines of a trace", 200, "Text", "node", ""},
    {"GET", V5 "/trace/{name}/log_detail", 0, "Trace", "Each node's file of a trace", 200, "Array", "", ""},

    {"GET", V5 "/banned", 0, "Banned", "The banned clients", 200, "BanList", PAGE, ""},
    {"POST", V5 "/banned", 0, "Banned", "Ban a client id, username or address", 200, "Ban", "", "Ban"},
    {"DELETE", V5 "/banned", 0, "Banned", "Lift every ban", 204, "", "", ""},
    {"DELETE", V5 "/banned/{as}/{who}", ST_ROUTE_GREEDY, "Banned", "Lift a ban", 204, "", "", ""},

    {"GET", AN, 0, "Authentication", "A built-in database's users", 200, "AuthnUserList", PAGE ",like_user_id,is_superuser", ""},
    {"POST", AN, 0, "Authentication", "Add a user", 201, "AuthnUser", "", "AuthnUserNew"},
    {"GET", AN "/{user_id}", 0, "Authentication", "One user", 200, "AuthnUser", "", ""},
    {"PUT", AN "/{user_id}", 0, "Authentication", "Change a user", 200, "AuthnUser", "", "AuthnUserNew"},
    {"DELETE", AN "/{user_id}", 0, "Authentication", "Delete a user", 204, "", "", ""},
    {"GET", LAN, 0, "Authentication", "A listener's built-in database's users", 200, "AuthnUserList", PAGE ",like_user_id,is_superuser", ""},
    {"POST", LAN, 0, "Authentication", "Add a user", 201, "AuthnUser", "", "AuthnUserNew"},
    {"GET", LAN "/{user_id}", 0, "Authentication", "One user", 200, "AuthnUser", "", ""},
    {"PUT", LAN "/{user_id}", 0, "Authentication", "Change a user", 200, "AuthnUser", "", "AuthnUserNew"},
    {"DELETE", LAN "/{user_id}", 0, "Authentication", "Delete a user", 204, "", "", ""},

    {"GET", V5 "/authorization/sources", 0, "Authorization", "The authorization sources, in order", 200, "Object", "", ""},
    {"GET", V5 "/authorization/sources/file", 0, "Authorization", "The file source and its rules", 200, "Object", "", ""},
    {"PUT", V5 "/authorization/sources/file", 0, "Authorization", "Replace the file's rules", 204, "", "", "Object"},
    {"POST", V5 "/authorization/sources/file/reload", 0, "Authorization", "Every node reads the file again", 200, "Object", "", ""},
    {"DELETE", V5 "/authorization/cache", 0, "Authorization", "Clear every node's authorization cache", 204, "", "", ""},
    {"GET", AZ "/users", 0, "Authorization", "The built-in database's rules by username", 200, "Object", PAGE, ""},
    {"POST", AZ "/users", 0, "Authorization", "Add rules for usernames", 204, "", "", "Array"},
    {"GET", AZ "/users/{username}", 0, "Authorization", "A username's rules", 200, "Object", "", ""},
    {"PUT", AZ "/users/{username}", 0, "Authorization", "Replace a username's rules", 204, "", "", "Object"},
    {"DELETE", AZ "/users/{username}", 0, "Authorization", "Delete a username's rules", 204, "", "", ""},
    {"GET", AZ "/clients", 0, "Authorization", "The built-in database's rules by client id", 200, "Object", PAGE, ""},
    {"POST", AZ "/clients", 0, "Authorization", "Add rules for client ids", 204, "", "", "Array"},
    {"GET", AZ "/clients/{clientid}", 0, "Authorization", "A client id's rules", 200, "Object", "", ""},
    {"PUT", AZ "/clients/{clientid}", 0, "Authorization", "Replace a client id's rules", 204, "", "", "Object"},
    {"DELETE", AZ "/clients/{clientid}", 0, "Authorization", "Delete a client id's rules", 204, "", "", ""},
    {"GET", AZ "/all", 0, "Authorization", "The rules for everyone", 200, "Object", "", ""},
    {"POST", AZ "/all", 0, "Authorization", "Replace the rules for everyone", 204, "", "", "Object"},
    {"DELETE", AZ "/all", 0, "Authorization", "Delete the rules for everyone", 204, "", "", ""},
    {"DELETE", AZ, 0, "Authorization", "Delete every rule of the built-in database", 204, "", "", ""},

    {"GET", V5 "/durable_storage", 0, "Durable storage", "This node's durable store: sizes, counts, state", 200, "Object", "", ""},
};
/* clang-format on */
const size_t st_nroutes = sizeof st_routes / sizeof st_routes[0];

/* Does path fit template? Each {x} is one segment that is not empty (with greedy, the last
 * may be the rest of the path). */
static int fits(const char *tpl, const char *path, int greedy)
{
    while (*tpl && *path) {
        if (*tpl == '{') {
            const char *close = strchr(tpl, '}');
            const char *end = strchr(path, '/');
            if (!close) return 0;
            if (greedy && close[1] == '\0') return *path != '\0';
            if (!end) end = path + strlen(path);
            if (end == path) return 0;
            tpl = close + 1;
            path = end;
            continue;
        }
        if (*tpl++ != *path++) return 0;
    }
    return *tpl == '\0' && *path == '\0';
}

int st_route_gate(const char *method, const char *path, char *allow, size_t cap)
{
    int found = 0;
    size_t used = 0;
    if (cap) allow[0] = 0;
    for (size_t i = 0; i < st_nroutes; i++) {
        const st_route *r = &st_routes[i];
        if (!fits(r->path, path, (r->flags & ST_ROUTE_GREEDY) != 0)) continue;
        if (strcmp(r->method, method) == 0) return 0;
        if (!strstr(allow, r->method) && used < cap) {
            int n = snprintf(allow + used, cap - used, "%s%s", found ? ", " : "", r->method);
            if (n > 0) used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
        }
        found = 1;
    }
    return found ? 405 : 404;
}
