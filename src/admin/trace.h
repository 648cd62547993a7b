/* trace.h — EMQX's log traces through the API (docs/operations.md, "Traces"):
 *   POST   /api/v5/trace                 {"name", "type": clientid|topic|ip_address, "<type>":
 *                                         value, "start_at", "end_at", "payload_encode"}
 *   GET    /api/v5/trace                 every trace, with its status and each node's log size
 *   DELETE /api/v5/trace[/{name}]        all, or one (its files go on every node)
 *   PUT    /api/v5/trace/{name}/stop
 *   GET    /api/v5/trace/{name}/log?node=&position=&bytes=   a node's lines
 *   GET    /api/v5/trace/{name}/download[?node=]             every node's lines as text
 *   GET    /api/v5/trace/{name}/log_detail                   each node's file size and time
 * The broker writes the lines (broker/trace.h). */
#ifndef ST_ADMIN_TRACE_H
#define ST_ADMIN_TRACE_H

#include "admin/api.h"
#include "cluster/cluster.h"

typedef struct st_traces st_traces;
struct st_broker;

/* The traces of this node (files under <data_dir>/trace), given to b. NULL: out of memory. */
st_traces *st_traces_new(const char *data_dir, struct st_broker *b);
/* The cluster's traces from now on: before st_cluster_start. 0 or ST_EFULL. */
int st_traces_attach(st_traces *t, st_cluster *cl);
void st_traces_free(st_traces *t);

/* 1 if req was for a trace endpoint (resp filled), else 0. */
int st_api_trace(const st_api *api, const st_http_req *req, st_http_resp *resp);
/* This node's answer to ST_ASK_TRACE_SIZES / ST_ASK_TRACE_LOG (malloc'd), NULL for another
 * question. */
char *st_api_trace_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                          size_t *len);

#endif
