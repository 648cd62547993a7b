/* metrics.c — the cluster's metrics and stats, as JSON and for Prometheus (metrics.h). */
#include "admin/metrics.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/metrics.h"
#include "broker/worker.h"
#include "core/clock.h"
#include "core/json.h"
#include "mqtt/mqtt.h"
#include "net/http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 5000
#define MAX_KEYS 128

/* ---- one node's figures ----------------------------------------------------------------- */

typedef struct fig {
    const char *name;
    uint64_t v;
} fig;

typedef struct figs {
    fig m[MAX_KEYS], s[MAX_KEYS];
    int nm, ns;
} figs;

static void put(fig *f, int *n, const char *name, uint64_t v)
{
    if (*n < MAX_KEYS) f[(*n)++] = (fig){name, v};
}

/* The cluster's own figures (docs/operations.md, "Metrics and stats"): EMQX's
 * messages.forward, and Starling's cluster.* counters and gauges. */
static void cluster_figs(const st_api *api, figs *f)
{
    st_cluster_routes r;
    st_cluster_info info;
    st_cluster_routes_get(api->cluster, &r, NULL, 0);
    st_cluster_info_get(api->cluster, &info, NULL, 0);
    put(f->m, &f->nm, "messages.forward", r.fwd_sent);
    put(f->m, &f->nm, "cluster.forward.received", r.fwd_received);
    put(f->m, &f->nm, "cluster.forward.dropped", r.fwd_dropped);
    put(f->m, &f->nm, "cluster.forward.resent", r.fwd_resent);
    put(f->m, &f->nm, "cluster.forward.redispatched", r.fwd_redispatched);
    put(f->m, &f->nm, "cluster.route_ops.sent", r.ops_tx);
    put(f->s, &f->ns, "cluster.routes.local", r.local);
    put(f->s, &f->ns, "cluster.routes.remote", r.remote);
    put(f->s, &f->ns, "cluster.route_ops.pending", r.pending);
    put(f->s, &f->ns, "cluster.lanes.over_high", (uint64_t)r.lanes_over);
    put(f->s, &f->ns, "cluster.registry.count", info.registry);
    put(f->s, &f->ns, "cluster.raft.term", info.term);
    put(f->s, &f->ns, "cluster.raft.applied_index", info.applied);
}

static void own_figs(const st_api *api, figs *f)
{
    memset(f, 0, sizeof *f);
    st_metric_fig v[ST_METRICS_NAMED];
    size_t n = st_metrics_named(api->broker, v, ST_METRICS_NAMED);
    for (size_t i = 0; i < n; i++)
        put(f->m, &f->nm, v[i].name, v[i].v);
    n = st_stats_named(api->broker, v, ST_METRICS_NAMED);
    for (size_t i = 0; i < n; i++)
        put(f->s, &f->ns, v[i].name, v[i].v);
    cluster_figs(api, f);
}

static void figs_json(sb *b, const fig *f, int n)
{
    sb_printf(b, "{");
    for (int i = 0; i < n; i++)
        sb_printf(b, "%s\"%s\":%llu", i ? "," : "", f[i].name, (unsigned long long)f[i].v);
    sb_printf(b, "}");
}

/* ---- rates (/monitor_current) ------------------------------------------------------------ */

/* Messages received, sent and dropped per second on this node, over the time since it was
 * last asked (at least RATE_MIN_MS; the first time, since the node started). */
#define RATE_MIN_MS 1000
static const char *const rate_of[] = {"messages.received", "messages.sent", "messages.dropped"};
enum { NRATES = 3 };

struct st_api_rates {
    pthread_mutex_t mu;
    int64_t at;
    uint64_t last[NRATES];
    uint64_t per_s[NRATES];
};

st_api_rates *st_api_rates_new(void)
{
    st_api_rates *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->at = st_now_ms();
    return r;
}

void st_api_rates_free(st_api_rates *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint64_t fig_of(const figs *f, const char *name)
{
    for (int i = 0; i < f->nm; i++)
        if (strcmp(f->m[i].name, name) == 0) return f->m[i].v;
    return 0;
}

static void rates_json(st_api_rates *r, const figs *f, sb *b)
{
    pthread_mutex_lock(&r->mu);
    int64_t now = st_now_ms(), dt = now - r->at;
    for (int i = 0; i < NRATES && dt >= RATE_MIN_MS; i++) {
        uint64_t v = fig_of(f, rate_of[i]);
        r->per_s[i] = v >= r->last[i] ? (v - r->last[i]) * 1000 / (uint64_t)dt : 0;
        r->last[i] = v;
    }
    if (dt >= RATE_MIN_MS) r->at = now;
    sb_printf(b, ",\"rates\":{");
    for (int i = 0; i < NRATES; i++)
        sb_printf(b, "%s\"%s\":%llu", i ? "," : "", rate_of[i], (unsigned long long)r->per_s[i]);
    sb_printf(b, "}");
    pthread_mutex_unlock(&r->mu);
}

char *st_api_metrics_answer(const st_api *api, uint8_t what, size_t *len)
{
    if (what != ST_ASK_METRICS || !api->broker) return NULL;
    figs *f = malloc(sizeof *f);
    sb b = {0};
    if (f) {
        own_figs(api, f);
        sb_printf(&b, "{\"metrics\":");
        figs_json(&b, f->m, f->nm);
        sb_printf(&b, ",\"stats\":");
        figs_json(&b, f->s, f->ns);
        if (api->rates) rates_json(api->rates, f, &b);
        sb_printf(&b, "}");
    }
    free(f);
    *len = b.len;
    return b.p;
}

/* ---- every node's ------------------------------------------------------------------------- */

typedef struct node_figs {
    char node[256];
    char *body;
    st_jtok t[3 * MAX_KEYS + 16];
    int metrics, stats, rates; /* tokens, -1: none */
} node_figs;

static int by_node(const void *x, const void *y)
{
    return strcmp(((const node_figs *)x)->node, ((const node_figs *)y)->node);
}

/* Every node's figures (only: that node), in name order: how many are in *out. */
static size_t ask(const st_api *api, const char *only, node_figs **out)
{
    st_answer *ans = calloc(MAX_ANSWERS, sizeof *ans);
    size_t n =
        ans ? st_cluster_ask(api->cluster, ST_ASK_METRICS, "", 0, ans, MAX_ANSWERS, ASK_TIMEOUT_MS)
            : 0;
    node_figs *v = n ? calloc(n, sizeof *v) : NULL;
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        node_figs *f = &v[k];
        if (only && strcmp(ans[i].node, only) != 0) continue;
        int r = st_json_parse(ans[i].body, ans[i].len, f->t, sizeof f->t / sizeof f->t[0]);
        if (r <= 0) continue;
        memcpy(f->node, ans[i].node, sizeof f->node);
        f->body = ans[i].body;
        ans[i].body = NULL; /* kept */
        f->metrics = st_json_get(f->body, f->t, 0, "metrics");
        f->stats = st_json_get(f->body, f->t, 0, "stats");
        f->rates = st_json_get(f->body, f->t, 0, "rates");
        k++;
    }
    st_answers_free(ans, n);
    free(ans);
    if (k > 1) qsort(v, k, sizeof *v, by_node);
    *out = v;
    return k;
}

static void figs_free(node_figs *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].body);
    free(v);
}

/* Member i of the object at token obj in f (i < its size): its key into key, its value. The
 * objects here hold numbers only, so member i's key is at obj + 1 + 2i. */
static uint64_t entry(const node_figs *f, int obj, uint32_t i, char *key, size_t cap)
{
    const st_jtok *k = &f->t[obj + 1 + 2 * (int)i];
    snprintf(key, cap, "%.*s", (int)(k->end - k->start), f->body + k->start);
    return strtoull(f->body + k[1].start, NULL, 10);
}

/* The value of member key of f's metrics (kind 0), stats (1) or rates (2) (0: none). */
static uint64_t lookup(const node_figs *f, int kind, const char *key)
{
    int obj = kind == 2 ? f->rates : kind ? f->stats : f->metrics;
    int v = obj >= 0 ? st_json_get(f->body, f->t, (uint32_t)obj, key) : -1;
    return v >= 0 ? strtoull(f->body + f->t[v].start, NULL, 10) : 0;
}

/* A figure every node has whole (each keeps all retained messages; the registry and the
 * Raft log are the cluster's): aggregated by taking the greatest, not summed (EMQX does the
 * same for retained messages). */
static uint64_t combine(const char *key, uint64_t sum, uint64_t x)
{
    int once = strcmp(key, "retained.count") == 0 || strncmp(key, "cluster.raft.", 13) == 0 ||
               strcmp(key, "cluster.registry.count") == 0;
    return once ? (x > sum ? x : sum) : sum + x;
}

/* The nodes' objects of one kind (metrics or stats) as JSON: one per node with "node", or
 * their sums. */
static void kind_json(sb *b, const node_figs *v, size_t n, int stats, int aggregate)
{
    char key[128];
    if (aggregate) {
        fig f[MAX_KEYS];
        int nf = 0;
        char names[MAX_KEYS][128];
        for (size_t k = 0; k < n; k++) {
            int obj = stats ? v[k].stats : v[k].metrics;
            for (uint32_t i = 0; obj >= 0 && i < v[k].t[obj].size; i++) {
                uint64_t x = entry(&v[k], obj, i, key, sizeof key);
                int j = 0;
                while (j < nf && strcmp(names[j], key) != 0)
                    j++;
                if (j == nf && nf < MAX_KEYS) {
                    snprintf(names[nf], sizeof names[nf], "%s", key);
                    f[nf++] = (fig){names[j], 0};
                }
                if (j < nf) f[j].v = combine(key, f[j].v, x);
            }
        }
        figs_json(b, f, nf);
        return;
    }
    sb_printf(b, "[");
    for (size_t k = 0; k < n; k++) {
        int obj = stats ? v[k].stats : v[k].metrics;
        sb_printf(b, "%s{\"node\":", k ? "," : "");
        sb_json_str(b, v[k].node);
        for (uint32_t i = 0; obj >= 0 && i < v[k].t[obj].size; i++) {
            uint64_t x = entry(&v[k], obj, i, key, sizeof key);
            sb_printf(b, ",\"%s\":%llu", key, (unsigned long long)x);
        }
        sb_printf(b, "}");
    }
    sb_printf(b, "]");
}

static void list(const st_api *api, const st_http_req *req, st_http_resp *resp, int stats)
{
    char agg[8] = "false";
    st_http_param(req->query, "aggregate", agg, sizeof agg);
    if (strcmp(agg, "true") != 0 && strcmp(agg, "false") != 0) {
        st_api_error(resp, 400, "BAD_REQUEST", "aggregate must be true or false");
        return;
    }
    node_figs *v;
    size_t n = ask(api, NULL, &v);
    sb b = {0};
    kind_json(&b, v, n, stats, strcmp(agg, "true") == 0);
    figs_free(v, n);
    st_api_reply(resp, 200, "application/json", &b);
}

static void one_node(const st_api *api, const char *node, st_http_resp *resp, int stats)
{
    node_figs *v;
    size_t n = ask(api, node, &v);
    if (!n) {
        figs_free(v, n);
        st_api_error(resp, 404, "NOT_FOUND", "no such node, or it did not answer");
        return;
    }
    sb b = {0};
    kind_json(&b, v, 1, stats, 0);
    figs_free(v, n);
    /* the one object, not a list of one */
    memmove(b.p, b.p + 1, b.len - 2);
    b.len -= 2;
    b.p[b.len] = 0;
    st_api_reply(resp, 200, "application/json", &b);
}

/* ---- /monitor_current, /sessions_count --------------------------------------------------- */

/* EMQX's /monitor_current: the nodes' figures summed (retained messages taken once). */
static void monitor(const st_api *api, const char *node, st_http_resp *resp)
{
    static const struct {
        const char *name, *from;
        int kind;
    } out[] = {{"connections", "connections.count", 1},
               {"live_connections", "live_connections.count", 1},
               {"sessions", "sessions.count", 1},
               {"subscriptions", "subscriptions.count", 1},
               {"retained_msg_count", "retained.count", 1},
               {"received_msg_rate", "messages.received", 2},
               {"sent_msg_rate", "messages.sent", 2},
               {"dropped_msg_rate", "messages.dropped", 2}};
    node_figs *v;
    size_t n = ask(api, node, &v);
    if (node && !n) {
        figs_free(v, n);
        st_api_error(resp, 404, "NOT_FOUND", "no such node, or it did not answer");
        return;
    }
    sb b = {0};
    for (size_t i = 0; i < sizeof out / sizeof *out; i++) {
        uint64_t total = 0;
        for (size_t k = 0; k < n; k++)
            total = combine(out[i].from, total, lookup(&v[k], out[i].kind, out[i].from));
        sb_printf(&b, "%s\"%s\":%llu", i ? "," : "{", out[i].name, (unsigned long long)total);
    }
    sb_printf(&b, ",\"nodes\":%zu}", n);
    figs_free(v, n);
    st_api_reply(resp, 200, "application/json", &b);
}

/* EMQX's /sessions_count: the cluster's sessions (connected or not), a bare integer. */
static void sessions_count(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    char since[32];
    if (st_http_param(req->query, "since", since, sizeof since) >= 0 && strcmp(since, "0") != 0) {
        st_api_error(resp, 400, "BAD_REQUEST",
                     "since: not kept here (the history of disconnected sessions, EMQX's "
                     "broker.session_history_retain, is not built); without it, every session "
                     "that exists is counted");
        return;
    }
    node_figs *v;
    size_t n = ask(api, NULL, &v);
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += lookup(&v[k], 1, "sessions.count");
    figs_free(v, n);
    sb b = {0};
    sb_printf(&b, "%llu", (unsigned long long)total);
    st_api_reply(resp, 200, "application/json", &b);
}

/* ---- Prometheus ------------------------------------------------------------------------- */

/* EMQX's name for one of ours: emqx_ and the dotted name with '_' (one exception). */
static void prom_name(const char *name, char *out, size_t cap)
{
    if (strcmp(name, "packets.connect.received") == 0) name = "packets.connect";
    int n = snprintf(out, cap, "emqx_%s", name);
    for (int i = 0; i < n && (size_t)i < cap; i++)
        if (out[i] == '.') out[i] = '_';
}

static void prom_kind(sb *b, const node_figs *v, size_t n, int stats, int labels)
{
    char key[128], name[160];
    int obj0 = n ? (stats ? v[0].stats : v[0].metrics) : -1;
    for (uint32_t i = 0; obj0 >= 0 && i < v[0].t[obj0].size; i++) {
        entry(&v[0], obj0, i, key, sizeof key);
        prom_name(key, name, sizeof name);
        sb_printf(b, "# TYPE %s %s\n# HELP %s \n", name, stats ? "gauge" : "counter", name);
        uint64_t total = 0;
        for (size_t k = 0; k < n; k++) {
            uint64_t x = lookup(&v[k], stats, key);
            if (labels) {
                sb_printf(b, "%s{node=", name);
                sb_json_str(b, v[k].node);
                sb_printf(b, "} %llu\n", (unsigned long long)x);
            }
            total = combine(key, total, x);
        }
        if (!labels) sb_printf(b, "%s %llu\n", name, (unsigned long long)total);
    }
}

static void prometheus(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    char mode[32] = "node";
    st_http_param(req->query, "mode", mode, sizeof mode);
    int all = strcmp(mode, "all_nodes_aggregated") == 0,
        labels = strcmp(mode, "all_nodes_unaggregated") == 0;
    node_figs *v;
    size_t n = ask(api, all || labels ? NULL : st_cluster_node_name(api->cluster), &v);
    sb b = {0};
    prom_kind(&b, v, n, 1, labels);
    prom_kind(&b, v, n, 0, labels);
    st_cluster_node *nodes = calloc(MAX_ANSWERS, sizeof *nodes);
    size_t nn = nodes ? st_cluster_view(api->cluster, nodes, MAX_ANSWERS) : 0;
    long running = 0, stopped = 0;
    for (size_t i = 0; i < nn && i < MAX_ANSWERS; i++)
        if (nodes[i].member) nodes[i].running ? running++ : stopped++;
    free(nodes);
    sb_printf(&b, "# TYPE emqx_cluster_nodes_running gauge\n# HELP emqx_cluster_nodes_running \n");
    sb_printf(&b, "emqx_cluster_nodes_running %ld\n", running);
    sb_printf(&b, "# TYPE emqx_cluster_nodes_stopped gauge\n# HELP emqx_cluster_nodes_stopped \n");
    sb_printf(&b, "emqx_cluster_nodes_stopped %ld\n", stopped);
    figs_free(v, n);
    st_api_reply(resp, 200, "text/plain; version=0.0.4", &b);
}

int st_api_metrics(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    int metrics = strcmp(p, "/api/v5/metrics") == 0, stats = strcmp(p, "/api/v5/stats") == 0,
        prom = strcmp(p, "/api/v5/prometheus/stats") == 0;
    size_t n = strlen(p);
    int node_m = !strncmp(p, "/api/v5/nodes/", 14) && n > 22 && !strcmp(p + n - 8, "/metrics");
    int node_s = !strncmp(p, "/api/v5/nodes/", 14) && n > 20 && !strcmp(p + n - 6, "/stats");
    int mon = strcmp(p, "/api/v5/monitor_current") == 0,
        mon_node = strncmp(p, "/api/v5/monitor_current/nodes/", 30) == 0 && n > 30,
        count = strcmp(p, "/api/v5/sessions_count") == 0;
    if (!metrics && !stats && !prom && !node_m && !node_s && !mon && !mon_node && !count) return 0;
    char node[256];
    if (strcmp(req->method, "GET") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET is served here");
    } else if (!api->broker) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no broker on this node");
    } else if (mon || count) {
        mon ? monitor(api, NULL, resp) : sessions_count(api, req, resp);
    } else if (mon_node) {
        if (st_http_unescape(p + 30, n - 30, node, sizeof node) <= 0)
            st_api_error(resp, 404, "NOT_FOUND", "no such node");
        else
            monitor(api, node, resp);
    } else if (prom) {
        prometheus(api, req, resp);
    } else if (metrics || stats) {
        list(api, req, resp, stats);
    } else {
        size_t len = n - 14 - (node_m ? 8 : 6);
        if (st_http_unescape(p + 14, len, node, sizeof node) <= 0)
            st_api_error(resp, 404, "NOT_FOUND", "no such node");
        else
            one_node(api, node, resp, node_s);
    }
    return 1;
}
