/* conf.h — configuration through the API and the CLI (docs/operations.md, "Configuration
 * through the API"): EMQX's cluster.hocon model. A change is HOCON text checked by the same
 * schema as the file, written through the control plane as one row of the replicated table
 * (the cluster's overrides), and applied by every node: kept in <node.data_dir>/configs/
 * cluster.hocon and merged over the node's file, under its environment (file < cluster
 * overrides < environment). Keys the running node takes at once are applied (the log level,
 * most of mqtt, sys_topics, prometheus.enable_basic_auth); the others wait for a restart,
 * and every answer says which. */
#ifndef ST_ADMIN_CONF_H
#define ST_ADMIN_CONF_H

#include "admin/sb.h"
#include "cluster/cluster.h"
#include "config/config.h"
#include "core/log.h"

#include <stddef.h>

typedef struct st_conf st_conf;
struct st_broker;
struct st_admin;

/* The overrides this node keeps (<data_dir>/configs/cluster.hocon), malloc'd with *len, or
 * NULL when there are none. */
char *st_conf_read_overrides(const char *data_dir, size_t *len);
/* path: the node's config file (NULL: none); start: the config it runs with, loaded with
 * the overrides `over` (NULL: none); the caller keeps start alive. envp: as for
 * st_config_load. NULL: out of memory. */
st_conf *st_conf_new(const char *path, const st_config *start, const char *over, char *const *envp,
                     st_log *log);
void st_conf_free(st_conf *cf);
/* What a change applies to at once (any may be NULL; both NULL before they stop). */
void st_conf_targets(st_conf *cf, struct st_broker *b, struct st_admin *adm);
/* The cluster's overrides from now on: before st_cluster_start. 0 or ST_EFULL. */
int st_conf_attach(st_conf *cf, st_cluster *cl);

/* The config under prefix (NULL: all) as HOCON (json 0, with the keys that wait for a
 * restart in comments) or JSON into out: 0 or ST_ENOENT. */
int st_conf_show(st_conf *cf, const char *prefix, int json, sb *out);
/* A change: body is HOCON; replace: its roots take the place of what the overrides held for
 * them (else merged). Read-only roots (node, cluster, rpc) are refused, or dropped with
 * ignore_readonly. On success the JSON answer ({"changed": [...], "restart_required": [...]})
 * goes into out. 0; ST_ECONFIG / ST_EINVAL (a bad body, a read-only key, a key the
 * environment holds: the reason in err); ST_EIO (the control plane did not take it). */
int st_conf_change(st_conf *cf, const char *body, size_t len, int replace, int ignore_readonly,
                   sb *out, char *err, size_t errlen);
/* This node's file read again (`ctl conf reload`): the answer as st_conf_change's. */
int st_conf_reload(st_conf *cf, sb *out, char *err, size_t errlen);

#endif
