/* metrics.c — the cluster's metrics and stats, as JSON and for Prometheus (metrics.h). */
#include "admin/metrics.h"
#include "admin/sb.h"
#include "broker/broker.h"
#include "broker/metrics.h"
#include "broker/worker.h"
#include "core/json.h"
#include "mqtt/mqtt.h"
#include "net/http.h"

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
    fig m[MAX_KEYS], s[8];
    int nm, ns;
} figs;

static void put(fig *f, int *n, const char *name, uint64_t v)
{
    if (*n < MAX_KEYS) f[(*n)++] = (fig){name, v};
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
}

static void figs_json(sb *b, const fig *f, int n)
{
    sb_printf(b, "{");
    for (int i = 0; i < n; i++)
        sb_printf(b, "%s\"%s\":%llu", i ? "," : "", f[i].name, (unsigned long long)f[i].v);
    sb_printf(b, "}");
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
    st_jtok t[2 * MAX_KEYS + 16];
    int metrics, stats; /* tokens, -1: none */
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

/* The value of member key of f's metrics or stats (0: none). */
static uint64_t lookup(const node_figs *f, int stats, const char *key)
{
    int obj = stats ? f->stats : f->metrics;
    int v = obj >= 0 ? st_json_get(f->body, f->t, (uint32_t)obj, key) : -1;
    return v >= 0 ? strtoull(f->body + f->t[v].start, NULL, 10) : 0;
}

/* A figure every node has whole (each keeps all retained messages): aggregated by taking it
 * once, not summed (EMQX does the same). */
static uint64_t combine(const char *key, uint64_t sum, uint64_t x)
{
    return strcmp(key, "retained.count") == 0 ? (x > sum ? x : sum) : sum + x;
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
    if (!metrics && !stats && !prom && !node_m && !node_s) return 0;
    if (strcmp(req->method, "GET") != 0) {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET is served here");
    } else if (!api->broker) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "no broker on this node");
    } else if (prom) {
        prometheus(api, req, resp);
    } else if (metrics || stats) {
        list(api, req, resp, stats);
    } else {
        char node[256];
        size_t len = n - 14 - (node_m ? 8 : 6);
        if (st_http_unescape(p + 14, len, node, sizeof node) <= 0)
            st_api_error(resp, 404, "NOT_FOUND", "no such node");
        else
            one_node(api, node, resp, node_s);
    }
    return 1;
}
