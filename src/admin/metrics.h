/* metrics.h — EMQX's metrics and stats (docs/operations.md "Metrics and stats"): GET
 * /api/v5/metrics and /api/v5/stats (every node, or ?aggregate=true summed),
 * /api/v5/nodes/{node}/metrics|stats, and the Prometheus scrape /api/v5/prometheus/stats
 * (mode node, all_nodes_aggregated, all_nodes_unaggregated) with EMQX's metric names. Each
 * node answers for itself (broker/metrics.h). */
#ifndef ST_ADMIN_METRICS_H
#define ST_ADMIN_METRICS_H

#include "admin/api.h"

/* Also EMQX's /api/v5/monitor_current[/nodes/{node}] (the figures summed, with messages per
 * second) and /api/v5/sessions_count. */

/* This node's message rates: per second over the time since it was last asked. */
typedef struct st_api_rates st_api_rates;
st_api_rates *st_api_rates_new(void);
void st_api_rates_free(st_api_rates *r);

/* 1 if the request was for one of those paths (resp filled), else 0. */
int st_api_metrics(const st_api *api, const st_http_req *req, st_http_resp *resp);
/* This node's answer to ST_ASK_METRICS: {"metrics": {name: n, ...}, "stats": {name: n,
 * ...}} (malloc'd); NULL for another question. */
char *st_api_metrics_answer(const st_api *api, uint8_t what, size_t *len);

#endif
