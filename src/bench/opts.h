/* opts.h — private to src/bench: the load generator's configuration (read-only once parsed,
 * shared by every thread and process of a run) and the helpers that derive per-client
 * names from it (client ids, topic templates with %i / %c). */
#ifndef ST_BENCH_OPTS_H
#define ST_BENCH_OPTS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum bench_scenario { BENCH_CONN, BENCH_PUB, BENCH_SUB, BENCH_PUBSUB };

/* A client is a subscriber (in `conn`, a plain connection that may subscribe) or a
 * publisher; each role has its own index space 0..n-1, which is what %i expands to. */
enum bench_role { BENCH_ROLE_SUB = 0, BENCH_ROLE_PUB = 1 };

#define BENCH_MIN_PAYLOAD 16 /* timestamp, sequence number, publisher id */
#define BENCH_MAX_IFADDRS 256
#define BENCH_MAX_SUB_HOSTS 64

typedef struct bench_cfg {
    int scenario; /* enum bench_scenario */
    const char *scenario_name;
    const char *host;
    uint32_t port;
    struct sockaddr_in dst;
    struct in_addr ifaddrs[BENCH_MAX_IFADDRS]; /* local source addresses, round robin */
    uint32_t n_ifaddrs;
    struct in_addr sub_hosts[BENCH_MAX_SUB_HOSTS]; /* subscribers' brokers (cluster nodes) */
    uint32_t n_sub_hosts;
    uint32_t clients; /* -c: conn / pub / sub */
    uint32_t pubs, subs;
    const char *pub_topic, *sub_topic; /* templates; sub_topic NULL: conn without a sub */
    uint32_t qos, sub_qos;             /* sub_qos defaults to qos */
    uint32_t version;                  /* 3, 4, 5 */
    uint32_t payload;
    uint32_t inflight;      /* window per publisher for QoS > 0 */
    double interval_ms;     /* per-publisher interval; 0: as fast as the window allows */
    double pub_rate;        /* total messages/s over all publishers (sets interval) */
    int64_t interval_ns;    /* derived */
    uint32_t count;         /* messages per publisher, 0: unlimited */
    double duration_s;      /* < 0: until count is reached */
    double conn_rate;       /* connects/s over all processes, 0: unlimited */
    uint32_t conn_inflight; /* connects in progress at once, over all processes */
    double connect_timeout_s;
    double drain_s; /* longest wait for in-flight acks and deliveries at the end */
    uint32_t keepalive;
    uint32_t procs, threads;
    const char *prefix;
    char prefix_buf[32];
    const char *username, *password;
    int json, fail_on_loss, quiet, progress;
    int tls, ws;         /* --tls, --ws: MQTT over TLS, WebSocket, or both (wss) */
    int tls_resume;      /* --tls-resume (implies --tls) */
    int persistent;      /* --persistent: clean_start 0 (MQTT 5: session expiry 1 day) */
    const char *ws_path; /* --ws-path (/mqtt) */
    uint32_t run_tag;    /* 12 bits, tags this run's payloads */
} bench_cfg;

/* Parse argv (argv[0] == "bench", argv[1] the scenario). Returns 0, 1 when help was
 * printed, or ST_EINVAL with a message in err. */
int bench_opts_parse(int argc, char **argv, bench_cfg *cfg, char *err, size_t errlen);
void bench_usage(FILE *f);

/* The client id of client idx of a role: "<prefix>-<c|s|p><idx>". Returns its length. */
int bench_client_id(const bench_cfg *cfg, int role, uint32_t idx, char *buf, size_t cap);

/* Expand a topic template: %i -> idx, %c -> client_id, %% -> %. Returns the length, or
 * -1 when it does not fit in cap (NUL included). */
int bench_expand(const char *tmpl, uint32_t idx, const char *client_id, char *buf, size_t cap);

/* The topic (or filter) of client idx of a role, expanded. Same return as bench_expand. */
int bench_topic(const bench_cfg *cfg, int role, uint32_t idx, char *buf, size_t cap);

/* Number of clients of a role in this run. */
uint32_t bench_count(const bench_cfg *cfg, int role);

#endif
