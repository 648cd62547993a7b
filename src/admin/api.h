/* api.h — the HTTP API's endpoints (a st_http_handler). */
#ifndef ST_ADMIN_API_H
#define ST_ADMIN_API_H

#include "admin/http.h"
#include "cluster/cluster.h"

#include <stdatomic.h>

struct st_broker;

struct st_admin;
typedef struct st_api {
    st_cluster *cluster;
    struct st_admin *admin;     /* for the HTTPS API's reload */
    struct st_auth *auth;       /* the authenticators (users API), or NULL */
    struct st_broker *broker;   /* for the listeners (NULL: none shown) */
    struct st_durable *durable; /* durable sessions (NULL: persistence off) */
    struct st_alarms *alarms;   /* this node's alarms (NULL: none raised) */
    atomic_int prometheus_open; /* the Prometheus scrape needs no credential (set at run time
                                 * by a config change: conf.c) */
    struct st_conf *conf;       /* config through the API (NULL: not served) */
    struct st_api_rates *rates; /* this node's message rates (metrics.h), or NULL */
    struct st_traces *traces;   /* log traces (trace.h), or NULL: not served */
    st_log *log;                /* the node's log, whose level the API sets (NULL: none) */
    const char *version;
    const char *role;
} st_api;

void st_api_handle(void *ctx, const st_http_req *req, st_http_resp *resp);

#endif
