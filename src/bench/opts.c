/* opts.c — command line of `starling bench`: a table of options (nginx-style directives:
 * name, type, where the value goes) parsed into one bench_cfg, then checked and completed
 * (defaults that depend on the scenario, the destination address, the publish interval).
 * Also the naming helpers every process uses identically: client ids and topic templates. */
#include "bench/opts.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum opt_type { OPT_STR, OPT_U32, OPT_F64, OPT_FLAG, OPT_IFADDR, OPT_SUBHOSTS };

typedef struct opt_def {
    const char *sname, *lname;
    int type;
    size_t off;
    double min, max;
} opt_def;

#define OFF(f) offsetof(bench_cfg, f)
static const opt_def opt_table[] = {
    {"-h", "--host", OPT_STR, OFF(host), 0, 0},
    {"-p", "--port", OPT_U32, OFF(port), 1, 65535},
    {"-c", "--clients", OPT_U32, OFF(clients), 1, 10000000},
    {NULL, "--pubs", OPT_U32, OFF(pubs), 0, 10000000},
    {NULL, "--subs", OPT_U32, OFF(subs), 0, 10000000},
    {"-t", "--topic", OPT_STR, OFF(pub_topic), 0, 0},
    {NULL, "--sub-topic", OPT_STR, OFF(sub_topic), 0, 0},
    {"-q", "--qos", OPT_U32, OFF(qos), 0, 2},
    {NULL, "--sub-qos", OPT_U32, OFF(sub_qos), 0, 2},
    {"-V", "--version", OPT_U32, OFF(version), 3, 5},
    {"-s", "--size", OPT_U32, OFF(payload), BENCH_MIN_PAYLOAD, 256 << 20},
    {NULL, "--inflight", OPT_U32, OFF(inflight), 1, 65535},
    {"-I", "--interval", OPT_F64, OFF(interval_ms), 0, 3600e3},
    {"-r", "--pub-rate", OPT_F64, OFF(pub_rate), 0, 1e9},
    {"-n", "--count", OPT_U32, OFF(count), 0, 4000000000.0},
    {"-d", "--duration", OPT_F64, OFF(duration_s), 0, 1e7},
    {"-R", "--conn-rate", OPT_F64, OFF(conn_rate), 0, 1e7},
    {NULL, "--conn-inflight", OPT_U32, OFF(conn_inflight), 1, 1000000},
    {NULL, "--connect-timeout", OPT_F64, OFF(connect_timeout_s), 0.1, 3600},
    {NULL, "--drain", OPT_F64, OFF(drain_s), 0, 3600},
    {"-k", "--keepalive", OPT_U32, OFF(keepalive), 0, 65535},
    {NULL, "--ifaddr", OPT_IFADDR, 0, 0, 0},
    {NULL, "--sub-hosts", OPT_SUBHOSTS, 0, 0, 0},
    {NULL, "--procs", OPT_U32, OFF(procs), 1, 256},
    {NULL, "--threads", OPT_U32, OFF(threads), 1, 256},
    {NULL, "--prefix", OPT_STR, OFF(prefix), 0, 0},
    {"-u", "--username", OPT_STR, OFF(username), 0, 0},
    {"-P", "--password", OPT_STR, OFF(password), 0, 0},
    {NULL, "--json", OPT_FLAG, OFF(json), 0, 0},
    {NULL, "--fail-on-loss", OPT_FLAG, OFF(fail_on_loss), 0, 0},
    {"-Q", "--quiet", OPT_FLAG, OFF(quiet), 0, 0},
    {NULL, "--progress", OPT_FLAG, OFF(progress), 0, 0},
    {NULL, "--tls", OPT_FLAG, OFF(tls), 0, 0},
    {NULL, "--tls-resume", OPT_FLAG, OFF(tls_resume), 0, 0},
    {NULL, "--persistent", OPT_FLAG, OFF(persistent), 0, 0},
    {NULL, "--ws", OPT_FLAG, OFF(ws), 0, 0},
    {NULL, "--ws-path", OPT_STR, OFF(ws_path), 0, 0},
};
#undef OFF

void bench_usage(FILE *f)
{
    fputs("usage: starling bench conn|pub|sub|pubsub [options]\n"
          "  -h, --host HOST          broker address (127.0.0.1)\n"
          "  -p, --port PORT          broker port (1883)\n"
          "  -c, --clients N          connections (conn), publishers (pub), subscribers (sub)\n"
          "      --pubs N --subs N    pubsub: publishers and subscribers in this run\n"
          "  -t, --topic T            publish topic (pub, pubsub), filter (sub, conn);\n"
          "                           %i = client index, %c = client id\n"
          "      --sub-topic T        pubsub: subscription filter (default: the topic);\n"
          "                           $share/<group>/<filter> makes shared-subscription groups\n"
          "  -q, --qos 0|1|2          publish QoS (sub: subscription QoS)\n"
          "      --sub-qos 0|1|2      pubsub: subscription QoS (default: -q)\n"
          "  -V, --version 3|4|5      MQTT 3.1, 3.1.1 (default) or 5\n"
          "  -s, --size BYTES         payload size, >= 16 (16)\n"
          "      --inflight N         QoS>0 window per publisher (10)\n"
          "  -I, --interval MS        publish interval per publisher; 0: as fast as possible\n"
          "  -r, --pub-rate N         total messages/s over all publishers (sets -I)\n"
          "  -n, --count N            messages per publisher (0: until the duration ends)\n"
          "  -d, --duration S         seconds to publish (conn: to hold) (10)\n"
          "  -R, --conn-rate N        connects/s (0: as fast as --conn-inflight allows)\n"
          "      --conn-inflight N    connects in progress at once (64)\n"
          "      --connect-timeout S  (10)   --drain S  wait for acks/deliveries at end (10)\n"
          "  -k, --keepalive S        (300)\n"
          "      --ifaddr A-B|A,B     local source addresses, round robin\n"
          "      --sub-hosts A,B      pubsub: subscribers connect to these addresses (same\n"
          "                           port), round robin: cluster nodes other than -h\n"
          "      --procs N            processes, each takes a slice of the clients (1)\n"
          "      --threads N          event-loop threads per process (cores / procs)\n"
          "      --prefix S           client id prefix (stb<pid>)\n"
          "  -u, --username U  -P, --password P\n"
          "      --json               one JSON object on stdout instead of the summary\n"
          "      --fail-on-loss       exit 1 when messages were lost\n"
          "      --tls  --ws          MQTT over TLS (the server's certificate is not checked),\n"
          "                           over WebSocket (--ws-path, /mqtt), or both: wss\n"
          "      --tls-resume         --tls, each connection after a thread's first resuming\n"
          "                           the newest session that thread was given (a ticket)\n"
          "      --persistent         sessions that outlive the connection: clean_start 0\n"
          "                           (MQTT 5: session expiry of a day)\n"
          "  -Q, --quiet              no progress lines   --progress: even when not a tty\n",
          f);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return ST_EINVAL;
}

/* One address or an inclusive range "A-B" (numeric order), appended to v (n of max). */
static int parse_addr_item(struct in_addr *v, uint32_t *n, uint32_t max, char *item)
{
    char *dash = strchr(item, '-');
    struct in_addr a, b;
    if (dash) *dash = 0;
    if (inet_pton(AF_INET, item, &a) != 1) return -1;
    b = a;
    if (dash && inet_pton(AF_INET, dash + 1, &b) != 1) return -1;
    uint32_t lo = ntohl(a.s_addr), hi = ntohl(b.s_addr);
    if (hi < lo) return -1;
    for (uint64_t x = lo; x <= hi; x++) {
        if (*n == max) return -1;
        v[(*n)++].s_addr = htonl((uint32_t)x);
    }
    return 0;
}

static int parse_addrs(struct in_addr *v, uint32_t *n, uint32_t max, const char *s)
{
    char buf[1024];
    if (strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (parse_addr_item(v, n, max, tok) < 0) return -1;
    return *n ? 0 : -1;
}

static int set_value(bench_cfg *cfg, const opt_def *o, const char *v, char *err, size_t errlen)
{
    char *end = NULL;
    double d;
    void *dst = (char *)cfg + o->off;
    switch (o->type) {
    case OPT_STR:
        *(const char **)dst = v;
        return 0;
    case OPT_FLAG:
        *(int *)dst = 1;
        return 0;
    case OPT_IFADDR:
        if (parse_addrs(cfg->ifaddrs, &cfg->n_ifaddrs, BENCH_MAX_IFADDRS, v) < 0)
            return fail(err, errlen, "bad --ifaddr '%s'", v);
        return 0;
    case OPT_SUBHOSTS:
        if (parse_addrs(cfg->sub_hosts, &cfg->n_sub_hosts, BENCH_MAX_SUB_HOSTS, v) < 0)
            return fail(err, errlen, "bad --sub-hosts '%s'", v);
        return 0;
    case OPT_U32:
    case OPT_F64:
        d = strtod(v, &end);
        if (!*v || *end || d < o->min || d > o->max || (o->type == OPT_U32 && d != (uint32_t)d))
            return fail(err, errlen, "bad value '%s' for %s (%g..%g)", v, o->lname, o->min, o->max);
        if (o->type == OPT_U32)
            *(uint32_t *)dst = (uint32_t)d;
        else
            *(double *)dst = d;
        return 0;
    }
    return fail(err, errlen, "bad option type");
}

static const opt_def *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
        const opt_def *o = &opt_table[i];
        if ((o->sname && strlen(o->sname) == len && !memcmp(o->sname, name, len)) ||
            (strlen(o->lname) == len && !memcmp(o->lname, name, len)))
            return o;
    }
    return NULL;
}

static void set_defaults(bench_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 1883;
    cfg->qos = 0;
    cfg->sub_qos = 99; /* "same as qos" */
    cfg->version = 4;
    cfg->payload = BENCH_MIN_PAYLOAD;
    cfg->inflight = 10;
    cfg->duration_s = -1;
    cfg->conn_inflight = 64;
    cfg->connect_timeout_s = 10;
    cfg->drain_s = 10;
    cfg->keepalive = 300;
    cfg->procs = 1;
    cfg->pubs = cfg->subs = cfg->clients = UINT32_MAX; /* unset */
}

static int resolve(bench_cfg *cfg, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    cfg->dst.sin_family = AF_INET;
    cfg->dst.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &cfg->dst.sin_addr) == 1) return 0;
    if (getaddrinfo(cfg->host, NULL, &hints, &res) != 0 || !res)
        return fail(err, errlen, "cannot resolve host '%s'", cfg->host);
    cfg->dst.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

/* Scenario-dependent defaults and the roles' counts and topics. */
static int complete_roles(bench_cfg *cfg, char *err, size_t errlen)
{
    uint32_t clients = cfg->clients == UINT32_MAX ? 10 : cfg->clients;
    const char *topic = cfg->pub_topic;
    if (cfg->scenario != BENCH_PUBSUB && (cfg->pubs != UINT32_MAX || cfg->subs != UINT32_MAX))
        return fail(err, errlen, "--pubs/--subs are for pubsub; use -c");
    switch (cfg->scenario) {
    case BENCH_CONN:
        cfg->pubs = 0, cfg->subs = clients;
        cfg->sub_topic = cfg->sub_topic ? cfg->sub_topic : topic;
        cfg->pub_topic = NULL;
        break;
    case BENCH_PUB:
        cfg->pubs = clients, cfg->subs = 0;
        cfg->pub_topic = topic ? topic : "bench/%i";
        break;
    case BENCH_SUB:
        cfg->pubs = 0, cfg->subs = clients;
        cfg->sub_topic = cfg->sub_topic ? cfg->sub_topic : topic ? topic : "bench/#";
        cfg->pub_topic = NULL;
        break;
    default:
        if (cfg->clients != UINT32_MAX) return fail(err, errlen, "pubsub: use --pubs/--subs");
        cfg->pubs = cfg->pubs == UINT32_MAX ? 1 : cfg->pubs;
        cfg->subs = cfg->subs == UINT32_MAX ? 1 : cfg->subs;
        cfg->pub_topic = topic ? topic : "bench/%i";
        cfg->sub_topic = cfg->sub_topic ? cfg->sub_topic : cfg->pub_topic;
    }
    if (cfg->pubs > 0xfffff) return fail(err, errlen, "at most %u publishers", 0xfffff);
    if (cfg->pubs + (uint64_t)cfg->subs == 0) return fail(err, errlen, "no clients");
    if (cfg->sub_qos == 99) cfg->sub_qos = cfg->qos;
    return 0;
}

static int complete(bench_cfg *cfg, char *err, size_t errlen)
{
    int rc = complete_roles(cfg, err, errlen);
    if (rc < 0) return rc;
    if (cfg->duration_s < 0) cfg->duration_s = cfg->count && cfg->pubs ? -1 : 10;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!cfg->threads) {
        long t = (cores > 0 ? cores : 1) / (long)cfg->procs;
        cfg->threads = t < 1 ? 1 : (uint32_t)t;
    }
    if (cfg->pub_rate > 0 && cfg->pubs)
        cfg->interval_ns = (int64_t)(1e9 * cfg->pubs / cfg->pub_rate);
    else
        cfg->interval_ns = (int64_t)(cfg->interval_ms * 1e6);
    if (!cfg->prefix) {
        snprintf(cfg->prefix_buf, sizeof cfg->prefix_buf, "stb%ld", (long)getpid());
        cfg->prefix = cfg->prefix_buf;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cfg->run_tag = (uint32_t)(getpid() * 2654435761u ^ (uint32_t)ts.tv_nsec) & 0xfff;
    return resolve(cfg, err, errlen);
}

static int parse_scenario(bench_cfg *cfg, const char *s)
{
    static const char *names[] = {"conn", "pub", "sub", "pubsub"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            cfg->scenario = i;
            cfg->scenario_name = names[i];
            return 0;
        }
    return -1;
}

int bench_opts_parse(int argc, char **argv, bench_cfg *cfg, char *err, size_t errlen)
{
    set_defaults(cfg);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        bench_usage(stdout);
        return 1;
    }
    if (parse_scenario(cfg, argv[1]) < 0)
        return fail(err, errlen, "unknown scenario '%s' (conn, pub, sub, pubsub)", argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "--help")) {
            bench_usage(stdout);
            return 1;
        }
        size_t nlen = eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        const opt_def *o = find_opt(a, nlen);
        if (!o) return fail(err, errlen, "unknown option '%s'", a);
        const char *v = "1";
        if (o->type != OPT_FLAG) {
            if (eq && a[1] == '-')
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return fail(err, errlen, "%s needs a value", o->lname);
        }
        int rc = set_value(cfg, o, v, err, errlen);
        if (rc < 0) return rc;
    }
    if (cfg->tls_resume) cfg->tls = 1;
    return complete(cfg, err, errlen);
}

uint32_t bench_count(const bench_cfg *cfg, int role)
{
    return role == BENCH_ROLE_PUB ? cfg->pubs : cfg->subs;
}

int bench_client_id(const bench_cfg *cfg, int role, uint32_t idx, char *buf, size_t cap)
{
    char letter = role == BENCH_ROLE_PUB ? 'p' : cfg->scenario == BENCH_CONN ? 'c' : 's';
    return snprintf(buf, cap, "%s-%c%u", cfg->prefix, letter, idx);
}

int bench_expand(const char *tmpl, uint32_t idx, const char *client_id, char *buf, size_t cap)
{
    size_t n = 0;
    char num[16];
    for (const char *p = tmpl; *p; p++) {
        const char *ins = NULL;
        size_t len = 1;
        if (p[0] == '%' && p[1] == 'i') {
            len = (size_t)snprintf(num, sizeof num, "%u", idx);
            ins = num;
        } else if (p[0] == '%' && p[1] == 'c') {
            ins = client_id;
            len = strlen(client_id);
        } else if (p[0] == '%' && p[1] == '%') {
            ins = "%";
        }
        if (ins) p++;
        if (n + len >= cap) return -1;
        memcpy(buf + n, ins ? ins : p, len);
        n += len;
    }
    buf[n] = 0;
    return (int)n;
}

int bench_topic(const bench_cfg *cfg, int role, uint32_t idx, char *buf, size_t cap)
{
    char id[96];
    const char *tmpl = role == BENCH_ROLE_PUB ? cfg->pub_topic : cfg->sub_topic;
    if (!tmpl) return -1;
    bench_client_id(cfg, role, idx, id, sizeof id);
    return bench_expand(tmpl, idx, id, buf, cap);
}
