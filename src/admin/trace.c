/* trace.c — EMQX's log traces through the API (trace.h). A trace is a row of the replicated
 * table (namespace ST_KV_TRACE, key its name, value its definition as JSON): created, stopped
 * and deleted on any node, it is every node's. Each node mirrors the rows into the broker's
 * table (broker/trace.h) and writes its own file, <data_dir>/trace/<name>.log; the API asks
 * every node for its file's size and lines. */
#include "admin/trace.h"
#include "admin/sb.h"
#include "broker/trace.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "route/trie.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ANSWERS 257
#define ASK_TIMEOUT_MS 5000
#define DEFAULT_SPAN_MS (10 * 60 * 1000) /* EMQX's: ten minutes from the start */
#define READ_MAX (8u << 20)              /* a node's lines in one answer */

static const char *const type_names[] = {"clientid", "topic", "ip_address"};
static const char *const encode_names[] = {"text", "hex", "hidden"};

struct st_traces {
    pthread_mutex_t mu;
    st_trace_def d[ST_TRACE_MAX];
    uint8_t enabled[ST_TRACE_MAX];
    int n;
    char dir[900]; /* <data_dir>/trace: a file's path fits st_trace_def.path */
    struct st_broker *broker;
    st_cluster *cl;
};

st_traces *st_traces_new(const char *data_dir, struct st_broker *b)
{
    st_traces *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    pthread_mutex_init(&t->mu, NULL);
    snprintf(t->dir, sizeof t->dir, "%s/trace", data_dir);
    t->broker = b;
    return t;
}

void st_traces_free(st_traces *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- definitions as rows ------------------------------------------------------------------ */

static void def_json(sb *b, const st_trace_def *d, int enabled)
{
    sb_printf(b, "{\"name\":");
    sb_json_str(b, d->name);
    sb_printf(b, ",\"type\":\"%s\",\"%s\":", type_names[d->type], type_names[d->type]);
    sb_json_str(b, d->match);
    sb_printf(b, ",\"start_at\":%lld,\"end_at\":%lld,\"payload_encode\":\"%s\",\"enable\":%s}",
              (long long)d->start_ms, (long long)d->end_ms, encode_names[d->encode],
              enabled ? "true" : "false");
}

static int word(const char *text, const st_jtok *t, int k, const char *const *words, int n)
{
    for (int i = 0; k >= 0 && i < n; i++)
        if (st_json_eq(text, &t[k], words[i])) return i;
    return -1;
}

/* A row's value into d (the name comes from its key). 0, or -1: not a definition. */
static int def_parse(const char *v, size_t len, st_trace_def *d, int *enabled)
{
    st_jtok t[32];
    char num[32];
    if (st_json_parse(v, len, t, 32) <= 0 || t[0].type != ST_J_OBJECT) return -1;
    int ty = word(v, t, st_json_get(v, t, 0, "type"), type_names, 3);
    if (ty < 0) return -1;
    d->type = (uint8_t)ty;
    int k = st_json_get(v, t, 0, type_names[ty]);
    if (k < 0 || st_json_str(v, &t[k], d->match, sizeof d->match) <= 0) return -1;
    int e = word(v, t, st_json_get(v, t, 0, "payload_encode"), encode_names, 3);
    d->encode = (uint8_t)(e < 0 ? 0 : e);
    static const char *const times[] = {"start_at", "end_at"};
    for (int i = 0; i < 2; i++) {
        k = st_json_get(v, t, 0, times[i]);
        if (k < 0 || t[k].type != ST_J_NUMBER || t[k].end - t[k].start >= sizeof num) return -1;
        snprintf(num, sizeof num, "%.*s", (int)(t[k].end - t[k].start), v + t[k].start);
        *(i ? &d->end_ms : &d->start_ms) = strtoll(num, NULL, 10);
    }
    k = st_json_get(v, t, 0, "enable");
    *enabled = k < 0 || t[k].type != ST_J_FALSE;
    return 0;
}

/* The broker's table from the definitions (under t->mu). */
static void install(st_traces *t)
{
    st_trace_def *on = malloc(sizeof t->d);
    int n = 0;
    for (int i = 0; on && i < t->n; i++)
        if (t->enabled[i]) on[n++] = t->d[i];
    if (n) mkdir(t->dir, 0700);
    if (on && t->broker) st_broker_traces(t->broker, on, n);
    free(on);
}

static int find(const st_traces *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->d[i].name, name) == 0) return i;
    return -1;
}

static void on_row(void *ctx, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                   size_t vlen, int replaced)
{
    (void)ns, (void)replaced;
    st_traces *t = ctx;
    st_trace_def d = {0};
    int enabled = 0;
    if (klen >= sizeof d.name) return;
    memcpy(d.name, key, klen);
    snprintf(d.path, sizeof d.path, "%s/%s.log", t->dir, d.name);
    pthread_mutex_lock(&t->mu);
    int i = find(t, d.name);
    if (!val) { /* deleted: its lines go too */
        if (i >= 0) {
            t->d[i] = t->d[t->n - 1];
            t->enabled[i] = t->enabled[t->n - 1];
            t->n--;
        }
        unlink(d.path);
    } else if (def_parse((const char *)val, vlen, &d, &enabled) == 0) {
        if (i < 0 && t->n < ST_TRACE_MAX) i = t->n++;
        if (i >= 0) {
            t->d[i] = d;
            t->enabled[i] = (uint8_t)enabled;
        }
    }
    install(t);
    pthread_mutex_unlock(&t->mu);
}

int st_traces_attach(st_traces *t, st_cluster *cl)
{
    t->cl = cl;
    return st_cluster_mirror(cl, ST_KV_TRACE, on_row, t);
}

/* ---- every node's files ------------------------------------------------------------------- */

static int64_t file_size(const st_traces *t, const char *name, int64_t *mtime)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.log", t->dir, name);
    if (stat(path, &st) < 0) return -1;
    if (mtime) *mtime = (int64_t)st.st_mtime * 1000;
    return (int64_t)st.st_size;
}

/* "<name>\n<position>\n<bytes>\n<node>": {"items": text, "meta": {"position", "bytes"}} of
 * this node's file (position -1: the last `bytes` of it); "{}" when another node is asked
 * (<node> empty: every node reads its own). */
static char *read_lines(const st_traces *t, const char *self, const char *arg, size_t arglen,
                        size_t *len)
{
    char a[600], name[64] = "", node[256] = "";
    long long pos = 0, want = 0;
    snprintf(a, sizeof a, "%.*s", (int)(arglen < sizeof a ? arglen : sizeof a - 1), arg);
    if (sscanf(a, "%63[^\n]\n%lld\n%lld\n%255[^\n]", name, &pos, &want, node) < 3 || want < 0)
        return NULL;
    if (node[0] && strcmp(node, self) != 0) {
        *len = 2;
        return strdup("{}");
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.log", t->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    sb b = {0};
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        sb_printf(&b, "{\"items\":\"\",\"meta\":{\"position\":0,\"bytes\":0,\"size\":0}}");
        *len = b.len;
        return b.p;
    }
    if (want > READ_MAX) want = READ_MAX;
    if (pos < 0) pos = st.st_size > want ? st.st_size - want : 0;
    char *buf = malloc((size_t)want + 1);
    ssize_t got = buf && pos < st.st_size ? pread(fd, buf, (size_t)want, pos) : 0;
    close(fd);
    if (got < 0) got = 0;
    if (buf) buf[got] = 0;
    sb_printf(&b, "{\"items\":");
    sb_json_str(&b, buf ? buf : "");
    sb_printf(&b, ",\"meta\":{\"position\":%lld,\"bytes\":%lld,\"size\":%lld}}",
              (long long)(pos + got), (long long)got, (long long)st.st_size);
    free(buf);
    *len = b.len;
    return b.p;
}

char *st_api_trace_answer(const st_api *api, uint8_t what, const char *arg, size_t arglen,
                          size_t *len)
{
    st_traces *t = api->traces;
    if (!t) return NULL;
    if (what == ST_ASK_TRACE_LOG)
        return read_lines(t, st_cluster_node_name(api->cluster), arg, arglen, len);
    sb b = {0}; /* ST_ASK_TRACE_SIZES: {"<name>": [size, mtime], ...} of the files there are */
    sb_printf(&b, "{");
    pthread_mutex_lock(&t->mu);
    for (int i = 0, k = 0; i < t->n; i++) {
        int64_t mtime = 0, size = file_size(t, t->d[i].name, &mtime);
        if (size < 0) continue;
        sb_printf(&b, "%s", k++ ? "," : "");
        sb_json_str(&b, t->d[i].name);
        sb_printf(&b, ":[%lld,%lld]", (long long)size, (long long)mtime);
    }
    pthread_mutex_unlock(&t->mu);
    sb_printf(&b, "}");
    *len = b.len;
    return b.p;
}

/* ---- the API ------------------------------------------------------------------------------ */

typedef struct sizes {
    st_answer *ans;
    size_t n;
} sizes;

static void sizes_get(const st_api *api, sizes *s)
{
    s->ans = calloc(MAX_ANSWERS, sizeof *s->ans);
    s->n = s->ans ? st_cluster_ask(api->cluster, ST_ASK_TRACE_SIZES, "", 0, s->ans, MAX_ANSWERS,
                                   ASK_TIMEOUT_MS)
                  : 0;
}

static void sizes_free(sizes *s)
{
    st_answers_free(s->ans, s->n);
    free(s->ans);
}

/* Each node's [size, mtime] of name: as {"node": size} (detail 0) or EMQX's log_detail
 * items (detail 1). */
static void sizes_json(sb *b, const sizes *s, const char *name, int detail)
{
    sb_printf(b, detail ? "[" : "{");
    for (size_t i = 0, k = 0; i < s->n; i++) {
        st_jtok t[4 * ST_TRACE_MAX + 8];
        const char *body = s->ans[i].body;
        if (!body || st_json_parse(body, s->ans[i].len, t, sizeof t / sizeof *t) <= 0) continue;
        int v = st_json_get(body, t, 0, name);
        if (v < 0 || t[v].type != ST_J_ARRAY || t[v].size != 2) continue;
        long long size = strtoll(body + t[v + 1].start, NULL, 10),
                  mtime = strtoll(body + t[v + 2].start, NULL, 10);
        sb_printf(b, "%s", k++ ? "," : "");
        if (detail) {
            char when[40];
            st_api_rfc3339(mtime, when, sizeof when);
            sb_printf(b, "{\"node\":");
            sb_json_str(b, s->ans[i].node);
            sb_printf(b, ",\"size\":%lld,\"mtime\":\"%s\"}", size, when);
        } else {
            sb_json_str(b, s->ans[i].node);
            sb_printf(b, ":%lld", size);
        }
    }
    sb_printf(b, detail ? "]" : "}");
}

static const char *status_of(const st_trace_def *d, int enabled, int64_t now)
{
    if (!enabled || now >= d->end_ms) return "stopped";
    return now < d->start_ms ? "waiting" : "running";
}

/* EMQX's trace object. */
static void trace_json(sb *b, const st_trace_def *d, int enabled, const sizes *s)
{
    char start[40], end[40];
    st_api_rfc3339(d->start_ms, start, sizeof start);
    st_api_rfc3339(d->end_ms, end, sizeof end);
    sb_printf(b, "{\"name\":");
    sb_json_str(b, d->name);
    sb_printf(b, ",\"type\":\"%s\",\"%s\":", type_names[d->type], type_names[d->type]);
    sb_json_str(b, d->match);
    sb_printf(b,
              ",\"status\":\"%s\",\"start_at\":\"%s\",\"end_at\":\"%s\","
              "\"payload_encode\":\"%s\",\"formatter\":\"text\"",
              status_of(d, enabled, st_wall_ms()), start, end, encode_names[d->encode]);
    if (s) {
        sb_printf(b, ",\"log_size\":");
        sizes_json(b, s, d->name, 0);
    }
    sb_printf(b, "}");
}

/* A copy of trace name (under the lock): 1, or 0 when there is none. */
static int get_def(st_traces *t, const char *name, st_trace_def *d, int *enabled)
{
    pthread_mutex_lock(&t->mu);
    int i = find(t, name);
    if (i >= 0) {
        *d = t->d[i];
        *enabled = t->enabled[i];
    }
    pthread_mutex_unlock(&t->mu);
    return i >= 0;
}

static void list(const st_api *api, st_http_resp *resp)
{
    st_traces *t = api->traces;
    sizes s;
    sizes_get(api, &s);
    sb b = {0};
    sb_printf(&b, "[");
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++) {
        sb_printf(&b, "%s", i ? "," : "");
        trace_json(&b, &t->d[i], t->enabled[i], &s);
    }
    pthread_mutex_unlock(&t->mu);
    sb_printf(&b, "]");
    sizes_free(&s);
    st_api_reply(resp, 200, "application/json", &b);
}

static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 63) return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* A time field: ms, def when absent, -1 when bad. */
static int64_t time_field(const char *body, const st_jtok *t, const char *key, int64_t def)
{
    int k = st_json_get(body, t, 0, key);
    char text[64];
    if (k < 0) return def;
    if (t[k].type == ST_J_NUMBER && t[k].end - t[k].start < sizeof text) {
        snprintf(text, sizeof text, "%.*s", (int)(t[k].end - t[k].start), body + t[k].start);
    } else if (st_json_str(body, &t[k], text, sizeof text) <= 0) {
        return -1;
    }
    int64_t ms = st_api_parse_time(text);
    return ms > 0 ? ms : -1;
}

/* The definition in a POST body, or 400 with why. */
static int parse_new(const st_http_req *req, st_trace_def *d, st_http_resp *resp)
{
    st_jtok t[64];
    const char *body = req->body ? req->body : "";
    int n = st_json_parse(body, req->body ? req->body_len : 0, t, 64);
    const char *why = NULL;
    int k = n > 0 && t[0].type == ST_J_OBJECT ? st_json_get(body, t, 0, "name") : -1;
    if (k < 0 || st_json_str(body, &t[k], d->name, sizeof d->name) <= 0 || !valid_name(d->name))
        why = "name: 1 to 63 letters, digits, '-' or '_'";
    int ty = why ? -1 : word(body, t, st_json_get(body, t, 0, "type"), type_names, 3);
    if (!why && ty < 0) why = "type: clientid, topic or ip_address";
    k = why ? -1 : st_json_get(body, t, 0, type_names[ty]);
    if (!why && (k < 0 || st_json_str(body, &t[k], d->match, sizeof d->match) <= 0))
        why = "the type's field (clientid, topic or ip_address) is required";
    if (!why) d->type = (uint8_t)ty;
    struct in6_addr ip;
    if (!why && ty == ST_TRACE_TOPIC && st_filter_check(d->match, strlen(d->match)) < 0)
        why = "topic: not a valid topic filter";
    if (!why && ty == ST_TRACE_IP && inet_pton(AF_INET, d->match, &ip) != 1 &&
        inet_pton(AF_INET6, d->match, &ip) != 1)
        why = "ip_address: not an IPv4 or IPv6 address";
    k = why ? -1 : st_json_get(body, t, 0, "payload_encode");
    int e = k < 0 ? 0 : word(body, t, k, encode_names, 3);
    if (!why && e < 0) why = "payload_encode: text, hex or hidden";
    d->encode = (uint8_t)(e < 0 ? 0 : e);
    int64_t now = st_wall_ms();
    d->start_ms = why ? 0 : time_field(body, t, "start_at", now);
    d->end_ms = why ? 0 : time_field(body, t, "end_at", d->start_ms + DEFAULT_SPAN_MS);
    if (!why && (d->start_ms < 0 || d->end_ms < 0))
        why = "start_at, end_at: RFC 3339 or seconds since 1970";
    if (!why && (d->end_ms <= d->start_ms || d->end_ms <= now))
        why = "end_at must be later than start_at and than now";
    if (why) st_api_error(resp, 400, "INVALID_PARAMS", why);
    return why ? -1 : 0;
}

static int write_row(const st_api *api, uint16_t verb, const st_trace_def *d, int enabled,
                     st_http_resp *resp)
{
    sb v = {0};
    if (d && enabled >= 0) def_json(&v, d, enabled);
    int rc = st_cluster_kv_write(api->cluster, verb, ST_KV_TRACE, d->name, strlen(d->name), v.p,
                                 v.len, 10000);
    free(v.p);
    static const st_api_kv_words words = {409, "ALREADY_EXISTS", "A trace of that name exists",
                                          "NOT_FOUND", "Trace not found"};
    return st_api_kv_error(resp, rc, &words);
}

static void create(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    st_trace_def d = {0};
    if (parse_new(req, &d, resp) < 0) return;
    pthread_mutex_lock(&api->traces->mu);
    int full = api->traces->n >= ST_TRACE_MAX;
    pthread_mutex_unlock(&api->traces->mu);
    if (full) {
        st_api_error(resp, 400, "EXCEED_LIMIT", "at most 30 traces: delete one first");
        return;
    }
    if (write_row(api, ST_V_KV_ADD, &d, 1, resp) < 0) return;
    sb b = {0};
    trace_json(&b, &d, 1, NULL);
    st_api_reply(resp, 200, "application/json", &b);
}

/* Every node's answer to the lines of trace name (only `node` reads its file; NULL: every
 * node): how many are in *out (free with st_answers_free, then free). */
static size_t ask_log(const st_api *api, const char *node, const char *name, long long pos,
                      long long bytes, st_answer **out)
{
    char arg[400];
    int n = snprintf(arg, sizeof arg, "%s\n%lld\n%lld\n%s", name, pos, bytes, node ? node : "");
    if (n < 0 || (size_t)n >= sizeof arg) n = 0; /* a name or node too long: nobody has it */
    *out = calloc(MAX_ANSWERS, sizeof **out);
    return *out ? st_cluster_ask(api->cluster, ST_ASK_TRACE_LOG, arg, (size_t)n, *out, MAX_ANSWERS,
                                 ASK_TIMEOUT_MS)
                : 0;
}

/* Node's (NULL: this one's) lines from pos: its answer (parsed into t), or NULL with resp
 * filled. */
static char *ask_lines(const st_api *api, const char *node, const char *name, long long pos,
                       long long bytes, st_jtok *t, uint32_t nt, st_http_resp *resp)
{
    const char *want = node ? node : st_cluster_node_name(api->cluster);
    st_answer *ans;
    size_t got = ask_log(api, want, name, pos, bytes, &ans);
    char *body = NULL;
    for (size_t i = 0; i < got; i++)
        if (strcmp(ans[i].node, want) == 0 && ans[i].body) {
            body = ans[i].body;
            ans[i].body = NULL;
        }
    st_answers_free(ans, got);
    free(ans);
    if (!body || st_json_parse(body, strlen(body), t, nt) <= 0 ||
        st_json_get(body, t, 0, "items") < 0) {
        st_api_error(resp, 404, "NOT_FOUND", "no such node, or it did not answer");
        free(body);
        return NULL;
    }
    return body;
}

/* GET /trace/{name}/log?node=&position=&bytes= (EMQX's): a node's lines from position. */
static void log_lines(const st_api *api, const st_http_req *req, const char *name,
                      st_http_resp *resp)
{
    char node[256];
    int has_node = st_http_param(req->query, "node", node, sizeof node) > 0;
    long pos = st_api_num_param(req->query, "position", 0),
         bytes = st_api_num_param(req->query, "bytes", 1000);
    if (pos < 0 || bytes < 0 || bytes > (long)READ_MAX) {
        st_api_error(resp, 400, "BAD_REQUEST", "position >= 0, bytes 0..8388608");
        return;
    }
    st_jtok t[16];
    char *body = ask_lines(api, has_node ? node : NULL, name, pos, bytes, t, 16, resp);
    if (!body) return;
    sb b = {0};
    sb_printf(&b, "%s", body); /* {"items", "meta": {"position", "bytes", "size"}} */
    free(body);
    st_api_reply(resp, 200, "application/json", &b);
}

/* GET /trace/{name}/download[?node=]: every node's lines (or one node's) as text, each after
 * a "# <node>" line (EMQX gives a zip of the files). */
static void download(const st_api *api, const st_http_req *req, const char *name,
                     st_http_resp *resp)
{
    char node[256];
    int has_node = st_http_param(req->query, "node", node, sizeof node) > 0;
    st_answer *ans;
    size_t got = ask_log(api, has_node ? node : NULL, name, 0, READ_MAX, &ans);
    sb b = {0};
    char *text = malloc(READ_MAX + 1);
    for (size_t i = 0; text && i < got; i++) {
        st_jtok t[16];
        const char *body = ans[i].body;
        if (has_node && strcmp(ans[i].node, node) != 0) continue;
        int k = body && st_json_parse(body, ans[i].len, t, 16) > 0
                    ? st_json_get(body, t, 0, "items")
                    : -1;
        if (k < 0 || st_json_str(body, &t[k], text, READ_MAX + 1) <= 0) continue; /* none */
        sb_printf(&b, "# %s\n%s", ans[i].node, text);
    }
    free(text);
    st_answers_free(ans, got);
    free(ans);
    st_api_reply(resp, 200, "text/plain", &b);
}

static void one(const st_api *api, const st_http_req *req, const char *rest, st_http_resp *resp)
{
    char name[64];
    const char *slash = strchr(rest, '/');
    size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
    st_trace_def d;
    int enabled;
    if (st_http_unescape(rest, nl, name, sizeof name) <= 0 ||
        !get_def(api->traces, name, &d, &enabled)) {
        st_api_error(resp, 404, "NOT_FOUND", "Trace not found");
        return;
    }
    const char *what = slash ? slash + 1 : "";
    int get = strcmp(req->method, "GET") == 0;
    if (!slash && strcmp(req->method, "DELETE") == 0) {
        if (write_row(api, ST_V_KV_DEL, &d, -1, resp) == 0)
            st_api_reply(resp, 204, "application/json", &(sb){0});
    } else if (strcmp(what, "stop") == 0 && strcmp(req->method, "PUT") == 0) {
        int64_t now = st_wall_ms();
        if (d.end_ms > now) d.end_ms = now;
        if (write_row(api, ST_V_KV_PUT, &d, 0, resp) == 0) {
            sb b = {0};
            trace_json(&b, &d, 0, NULL);
            st_api_reply(resp, 200, "application/json", &b);
        }
    } else if (strcmp(what, "log") == 0 && get) {
        log_lines(api, req, name, resp);
    } else if (strcmp(what, "download") == 0 && get) {
        download(api, req, name, resp);
    } else if (strcmp(what, "log_detail") == 0 && get) {
        sizes s;
        sizes_get(api, &s);
        sb b = {0};
        sizes_json(&b, &s, name, 1);
        sizes_free(&s);
        st_api_reply(resp, 200, "application/json", &b);
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "not served on this path");
    }
}

int st_api_trace(const st_api *api, const st_http_req *req, st_http_resp *resp)
{
    const char *p = req->path;
    if (strncmp(p, "/api/v5/trace", 13) != 0 || (p[13] && p[13] != '/')) return 0;
    if (!api->traces) {
        st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "traces are not served here");
    } else if (p[13] == '/' && p[14]) {
        one(api, req, p + 14, resp);
    } else if (strcmp(req->method, "GET") == 0) {
        list(api, resp);
    } else if (strcmp(req->method, "POST") == 0) {
        create(api, req, resp);
    } else if (strcmp(req->method, "DELETE") == 0) {
        st_traces *t = api->traces;
        char names[ST_TRACE_MAX][64];
        pthread_mutex_lock(&t->mu);
        int n = t->n;
        for (int i = 0; i < n; i++)
            memcpy(names[i], t->d[i].name, sizeof names[i]);
        pthread_mutex_unlock(&t->mu);
        int rc = 0;
        for (int i = 0; i < n && rc >= 0; i++) {
            rc = st_cluster_kv_write(api->cluster, ST_V_KV_DEL, ST_KV_TRACE, names[i],
                                     strlen(names[i]), NULL, 0, 10000);
            if (rc == ST_ENOENT) rc = 0; /* deleted meanwhile */
        }
        if (rc < 0)
            st_api_error(resp, 503, "SERVICE_UNAVAILABLE", "the cluster did not take it");
        else
            st_api_reply(resp, 204, "application/json", &(sb){0});
    } else {
        st_api_error(resp, 405, "METHOD_NOT_ALLOWED", "only GET, POST and DELETE are served here");
    }
    return 1;
}
