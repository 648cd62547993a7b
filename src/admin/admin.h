/* admin.h — the HTTP API (dashboard.listeners.http.bind) on its own thread, and the
 * `starling ctl` client that talks to it (docs/cluster.md §1: ctl talks to the local HTTP
 * API only). Its endpoints are the route table's (routes.h; docs/operations.md). */
#ifndef ST_ADMIN_H
#define ST_ADMIN_H

#include "cluster/cluster.h"
#include "config/config.h"
#include "core/log.h"
#include "net/tls.h"

#include <stddef.h>
#include <stdio.h>

typedef struct st_admin st_admin;

st_admin *st_admin_new(const char *bind, const char *version, const char *role, st_cluster *cl,
                       const st_log *log);
/* Serve the API over TLS too, on bind (dashboard.listeners.https), before st_admin_start.
 * 0, or <0 with the reason (a certificate or key that does not load) in err. */
int st_admin_https(st_admin *a, const char *bind, const st_tls_opts *o, char *err, size_t errlen);
/* The broker whose listeners GET /api/v5/listeners shows (before st_admin_start). */
struct st_broker;
void st_admin_broker(st_admin *a, struct st_broker *b);
/* Durable sessions, for GET /api/v5/durable_storage (before st_admin_start; none: 404). */
struct st_durable;
void st_admin_durable(st_admin *a, struct st_durable *d);
/* open: the Prometheus scrape (/api/v5/prometheus/stats) needs no credential
 * (prometheus.enable_basic_auth = false, EMQX's default). Any thread, at any time. */
void st_admin_prometheus(st_admin *a, int open);
/* Config through the API (/api/v5/configs, admin/conf.h), before st_admin_start. */
struct st_conf;
void st_admin_conf(st_admin *a, struct st_conf *cf);
/* Log traces (/api/v5/trace, admin/trace.h), before st_admin_start. */
struct st_traces;
void st_admin_traces(st_admin *a, struct st_traces *t);
/* The log whose level PUT /api/v5/log/level sets. */
void st_admin_log(st_admin *a, st_log *log);
/* This node's alarms, for /api/v5/alarms (any node's API lists every node's). */
struct st_alarms;
void st_admin_alarms(st_admin *a, struct st_alarms *al);
struct st_auth;
void st_admin_auth(st_admin *a, struct st_auth *auth); /* the users API's authenticators */
struct st_apiauth;
void st_admin_apiauth(st_admin *a, struct st_apiauth *aa); /* the API's credentials */
/* A reload of the HTTPS API's certificate (the admin thread): a new context from the same
 * files into *fresh (NULL: no HTTPS API), or ST_ECONFIG with the reason; then the swap,
 * after which new connections use it (open ones keep the old one). */
int st_admin_https_fresh(st_admin *a, st_tls_ctx **fresh, char *err, size_t errlen);
void st_admin_https_swap(st_admin *a, st_tls_ctx *fresh);
/* Bind and start the thread. 0, or <0 with a message in err. */
int st_admin_start(st_admin *a, char *err, size_t errlen);
void st_admin_free(st_admin *a); /* stops the thread first */

/* The ctl lines of the usage text; the first line starts with `first`. */
void st_ctl_usage(FILE *out, const char *first);
/* `starling ctl <args>` against the node configured by c. Returns the exit status. */
int st_ctl_main(const st_config *c, int argc, char **argv);

#endif
