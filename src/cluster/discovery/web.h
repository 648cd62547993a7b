/* web.h — discovery over HTTP (cluster.discovery_strategy = etcd | k8s, docs/cluster.md §6),
 * inside the discovery part. A round of requests (etcd: lease, register, list; k8s: read the
 * service's endpoints) runs with libcurl on libuv's thread pool, never on the cluster thread;
 * the round works on a job that carries copies of what it needs and brings back the node
 * names, which go to discovery's callback exactly as a DNS answer's. Shared by web.c (the
 * runner and the HTTP call), etcd.c and k8s.c (one round each, and their parsers). */
#ifndef ST_CLUSTER_DISCOVERY_WEB_H
#define ST_CLUSTER_DISCOVERY_WEB_H

#include "cluster/discovery/discovery.h"
#include "core/json.h"

#define ST_DW_MAX_NAMES ST_DISC_MAX_NAMES
#define ST_DW_TIMEOUT_MS 3000
#define ST_DW_BYE_TIMEOUT_MS 1000
#define ST_DW_ERR_MAX 512

typedef struct st_dw_job {
    uv_work_t work;
    const st_disc_cfg *cfg; /* read-only: the pool thread may read it */
    int bye;                /* etcd: unregister (at stop) instead of a round */
    int keepalive;          /* etcd: refresh the lease in this round */
    int64_t lease;          /* etcd: in: our lease, 0 for none; out: after the round */
    unsigned server;        /* etcd: the server to try first; out: the one that answered */
    int refreshed;          /* out, etcd: the lease was granted or kept alive */
    int ok;                 /* out: a server did what was asked */
    int listed;             /* out: names[] is the complete list */
    int n;
    char names[ST_DW_MAX_NAMES][256];
    char err[ST_DW_ERR_MAX]; /* out: what went wrong, "" if nothing */
} st_dw_job;

/* One HTTP request and its answer. */
typedef struct st_dw_http {
    const char *url;
    const char *body;   /* NULL: GET; else POSTed as application/json */
    const char *token;  /* a bearer token, or NULL */
    const char *cafile; /* CA bundle for https, or NULL for the system's */
    long timeout_ms;
    long status; /* out: the HTTP status */
    char *resp;  /* out: the answer's body, NUL-terminated (free with st_dw_http_free) */
    size_t len;
    st_jtok *tok; /* out: its JSON tokens, when the status is 2xx */
    int ntok;
} st_dw_http;

/* Blocking: the thread pool only. 0 when the server answered 2xx with JSON; else <0 with
 * the transport's error, or the status and the answer's message, in err. */
int st_dw_http_do(st_dw_http *h, char *err, size_t errlen);
void st_dw_http_free(st_dw_http *h);
/* name@host with a host of letters, digits, '-', '.', ':' (what a node name may be). */
int st_dw_node_name_ok(const char *s);
/* Append a formatted line to a job's err (rounds may meet several problems). */
void st_dw_err(st_dw_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* etcd.c: one round (or the goodbye), on the pool thread. */
void st_etcd_round(st_dw_job *j);
/* The node names of a /v3/kv/range answer whose keys are under dir (invalid names are
 * skipped and reported in j->err). Fills j->names/n; <0 for an answer without kvs shape. */
int st_etcd_names(st_dw_job *j, const char *s, const st_jtok *t, const char *dir);

/* k8s.c: one round, on the pool thread. */
void st_k8s_round(st_dw_job *j);
/* The node names of an Endpoints object (subsets[].addresses and .notReadyAddresses), built
 * as cfg->k8s_addr says. Fills j->names/n; <0 for an answer that is not an Endpoints. */
int st_k8s_names(st_dw_job *j, const char *s, const st_jtok *t);

/* web.c, on the cluster thread: the runner (NULL with a message in err). Closing: etcd's
 * key goes first (one more round on the pool); the runner frees itself after that. */
typedef struct st_dw st_dw;
st_dw *st_dw_new(uv_loop_t *loop, const st_log *log, const st_disc_cfg *cfg, st_disc_found_fn found,
                 void *ctx, char *err, size_t errlen);
void st_dw_tick(st_dw *dw, int64_t now, int eager);
void st_dw_close(st_dw *dw);

#endif
