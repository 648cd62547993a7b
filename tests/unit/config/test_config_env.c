/* test_config_env.c — environment overrides: STARLING_ and EMQX_ prefixes, "__" paths, HOCON
 * values, short forms, precedence (defaults < file < env, EMQX_ < STARLING_), warnings for
 * unknown keys under known roots, errors naming the variable, ${?ENV} from the passed envp. */
#include "test.h"

#include <stdlib.h>

#include "config/config.h"
#include "core/err.h"

static char err[1024];
static char warnings[2048];

static void collect(void *ctx, const char *msg)
{
    int *count = ctx;
    (*count)++;
    size_t len = strlen(warnings);
    snprintf(warnings + len, sizeof(warnings) - len, "%s%s", len ? "\n" : "", msg);
}

static st_config *load(const char *text, char **envp, int *nwarn)
{
    st_config *c = NULL;
    warnings[0] = '\0';
    *nwarn = 0;
    int rc = text ? st_config_load_buffer(text, strlen(text), "e.conf", envp, collect, nwarn, &c,
                                          err, sizeof(err))
                  : st_config_load(NULL, envp, collect, nwarn, &c, err, sizeof(err));
    return rc < 0 ? NULL : c;
}

static void test_long_form(void)
{
    char *envp[] = {"STARLING_MQTT__MAX_PACKET_SIZE=2MB",
                    "STARLING_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:1884",
                    "STARLING_CLUSTER__STATIC__SEEDS=[s@h1, \"s@h2\"]",
                    "STARLING_NODE__COOKIE=\"quoted cookie\"",
                    "STARLING_LOG__LEVEL=debug",
                    "STARLING_MQTT__RETRY_INTERVAL=10s",
                    "STARLING_MQTT__UPGRADE_QOS=true",
                    "STARLING_NODE__DATA_DIR=/var/lib/starling",
                    "PATH=/usr/bin",
                    NULL};
    int nwarn;
    st_config *c = load(NULL, envp, &nwarn);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_EQ(nwarn, 0);
    CHECK_EQ(st_config_int(c, "mqtt.max_packet_size"), 2097152);
    CHECK_STR(st_config_str(c, "listeners.tcp.default.bind"), "127.0.0.1:1884");
    CHECK_EQ(st_config_array_len(c, "cluster.static.seeds"), 2);
    CHECK_STR(st_config_array_str(c, "cluster.static.seeds", 1), "s@h2");
    CHECK_STR(st_config_str(c, "node.cookie"), "quoted cookie");
    CHECK_STR(st_config_str(c, "log.level"), "debug");
    CHECK_EQ(st_config_int(c, "mqtt.retry_interval"), 10000);
    CHECK_EQ(st_config_bool(c, "mqtt.upgrade_qos"), 1);
    CHECK_STR(st_config_str(c, "node.data_dir"), "/var/lib/starling");
    CHECK_STR(st_config_origin(c, "mqtt.max_packet_size"), "env STARLING_MQTT__MAX_PACKET_SIZE");
    st_config_free(c);
}

static void test_emqx_alias_and_precedence(void)
{
    const char *file = "mqtt.max_inflight = 10\n"
                       "mqtt.max_awaiting_rel = 20\n"
                       "mqtt.max_topic_levels = 30\n"
                       "node.name = file@host\n";
    /* STARLING_ wins over EMQX_ whatever the order in envp */
    char *envp[] = {"STARLING_MQTT__MAX_INFLIGHT=11", "EMQX_MQTT__MAX_INFLIGHT=12",
                    "EMQX_MQTT__MAX_AWAITING_REL=21", "EMQX_log__level=error", NULL};
    int nwarn;
    st_config *c = load(file, envp, &nwarn);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_EQ(st_config_int(c, "mqtt.max_inflight"), 11);
    CHECK_EQ(st_config_int(c, "mqtt.max_awaiting_rel"), 21);
    CHECK_EQ(st_config_int(c, "mqtt.max_topic_levels"), 30); /* file over default */
    CHECK_STR(st_config_str(c, "node.name"), "file@host");
    CHECK_STR(st_config_str(c, "log.level"), "error"); /* lower-case path works */
    st_config_free(c);

    char *envp2[] = {"EMQX_MQTT__MAX_INFLIGHT=12", "STARLING_MQTT__MAX_INFLIGHT=11", NULL};
    c = load(file, envp2, &nwarn);
    CHECK(c && st_config_int(c, "mqtt.max_inflight") == 11);
    st_config_free(c);
}

static void test_short_forms(void)
{
    char *envp[] = {"EMQX_NODE_NAME=emqx@10.0.0.1", "STARLING_DISCOVERY_STRATEGY=static",
                    "STARLING_STATIC_DISCOVERY_NODES=s@10.0.0.1, s@10.0.0.2,s@10.0.0.3",
                    "EMQX_K8S_APP_NAME=emqx-broker", NULL};
    int nwarn;
    st_config *c = load("node.name = file@host\n", envp, &nwarn);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(st_config_str(c, "node.name"), "emqx@10.0.0.1");
    CHECK_STR(st_config_str(c, "cluster.discovery_strategy"), "static");
    CHECK_EQ(st_config_array_len(c, "cluster.static.seeds"), 3);
    CHECK_STR(st_config_array_str(c, "cluster.static.seeds", 2), "s@10.0.0.3");
    CHECK_STR(st_config_str(c, "cluster.k8s.app_name"), "emqx-broker"); /* the seed's form */
    CHECK_EQ(nwarn, 0);
    st_config_free(c);

    /* long form beats short form; STARLING_ beats EMQX_ */
    char *envp2[] = {
        "STARLING_NODE__NAME=long@h",  "STARLING_NODE_NAME=short@h",       "EMQX_NODE_NAME=emqx@h",
        "EMQX_DISCOVERY_STRATEGY=dns", "EMQX_STATIC_DISCOVERY_NODES=e@h1", NULL};
    c = load(NULL, envp2, &nwarn);
    CHECK(c != NULL);
    CHECK_STR(c ? st_config_str(c, "node.name") : NULL, "long@h");
    CHECK_STR(c ? st_config_str(c, "cluster.discovery_strategy") : NULL, "dns");
    CHECK(c && st_config_array_len(c, "cluster.static.seeds") == 1);
    st_config_free(c);
}

static void test_unknown(void)
{
    char *envp[] = {"STARLING_MQTT__NO_SUCH_KEY=1",
                    "EMQX_LISTENERS__TCP__DEFAULT__NOPE=1",
                    "EMQX_RPC__PORT_DISCOVERY=manual", /* root we do not have: ignored */
                    "EMQX_LOG_DIR=/var/log/emqx",      /* not a path: ignored */
                    "STARLING_CONFIG=/etc/x.conf",     /* not a path: ignored */
                    "STARLING_NODE____NAME=x",         /* empty segment under known root */
                    NULL};
    int nwarn;
    st_config *c = load(NULL, envp, &nwarn);
    CHECK(c != NULL);
    CHECK_EQ(nwarn, 3);
    CHECK_STR(warnings, "env EMQX_LISTENERS__TCP__DEFAULT__NOPE: listeners.tcp.default.nope: "
                        "unknown key, ignored\n"
                        "env STARLING_MQTT__NO_SUCH_KEY: mqtt.no_such_key: unknown key, ignored\n"
                        "env STARLING_NODE____NAME: node..name: unknown key, ignored");
    st_config_free(c);
}

static void test_errors(void)
{
    char *envp[] = {"STARLING_MQTT__MAX_INFLIGHT=lots", NULL};
    int nwarn;
    st_config *c = load(NULL, envp, &nwarn);
    CHECK(c == NULL);
    CHECK_STR(err, "env STARLING_MQTT__MAX_INFLIGHT: mqtt.max_inflight: expected integer, got "
                   "string \"lots\"");

    char *envp2[] = {"EMQX_MQTT__MAX_QOS_ALLOWED=7", NULL};
    c = load(NULL, envp2, &nwarn);
    CHECK(c == NULL);
    CHECK_STR(err, "env EMQX_MQTT__MAX_QOS_ALLOWED: mqtt.max_qos_allowed: value 7 out of range "
                   "0..2");

    /* an object value is checked key by key */
    char *envp3[] = {"STARLING_MQTT__MAX_INFLIGHT={x = 1}", NULL};
    c = load(NULL, envp3, &nwarn);
    CHECK(c == NULL);
    CHECK_STR(err, "env STARLING_MQTT__MAX_INFLIGHT: mqtt.max_inflight: expected integer, got "
                   "object");

    /* text that is not a HOCON value is a plain string */
    char *envp4[] = {"STARLING_NODE__COOKIE=a}b{c", NULL};
    c = load(NULL, envp4, &nwarn);
    CHECK_STR(c ? st_config_str(c, "node.cookie") : NULL, "a}b{c");
    st_config_free(c);

    /* nor is text in which HOCON would see a comment: URLs (EMQX's helm charts set these) */
    char *envp5[] = {"EMQX_CLUSTER__ETCD__SERVER=http://etcd-0:2379,http://etcd-1:2379",
                     "EMQX_CLUSTER__K8S__APISERVER=https://kubernetes.default.svc:443",
                     "STARLING_NODE__COOKIE=se#cret", NULL};
    c = load(NULL, envp5, &nwarn);
    CHECK(c != NULL);
    CHECK_EQ(c ? st_config_array_len(c, "cluster.etcd.server") : 0, 2);
    CHECK_STR(c ? st_config_array_str(c, "cluster.etcd.server", 1) : NULL, "http://etcd-1:2379");
    CHECK_STR(c ? st_config_str(c, "cluster.k8s.apiserver") : NULL,
              "https://kubernetes.default.svc:443");
    CHECK_STR(c ? st_config_str(c, "node.cookie") : NULL, "se#cret");
    st_config_free(c);
}

static void test_listener_from_env(void)
{
    char *envp[] = {"STARLING_LISTENERS__TCP__EXTRA__BIND=1885", NULL};
    int nwarn;
    st_config *c = load("listeners.tcp.default.bind = 1883\n", envp, &nwarn);
    CHECK(c != NULL);
    if (!c) return;
    const char *names[4];
    CHECK_EQ(st_config_names(c, "listeners.tcp", names, 4), 2);
    CHECK_STR(st_config_str(c, "listeners.tcp.extra.bind"), "0.0.0.0:1885");
    CHECK_STR(st_config_str(c, "listeners.tcp.default.bind"), "0.0.0.0:1883");
    st_config_free(c);
}

static void test_subst_env(void)
{
    char *envp[] = {"DATA=/srv/data", "INFLIGHT=64", NULL};
    int nwarn;
    st_config *c = load("node.data_dir = ${?DATA}\n"
                        "mqtt.max_inflight = ${?INFLIGHT}\n"
                        "mqtt.max_awaiting_rel = ${?NOT_SET}\n",
                        envp, &nwarn);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(st_config_str(c, "node.data_dir"), "/srv/data");
    CHECK_EQ(st_config_int(c, "mqtt.max_inflight"), 64);
    CHECK_EQ(st_config_int(c, "mqtt.max_awaiting_rel"), 100); /* unset -> default */
    st_config_free(c);

    c = load("node.data_dir = ${DATA_MISSING}\n", envp, &nwarn);
    CHECK(c == NULL);
    CHECK_STR(err, "e.conf:1: unresolved substitution ${DATA_MISSING}");
}

int main(void)
{
    RUN(test_long_form);
    RUN(test_emqx_alias_and_precedence);
    RUN(test_short_forms);
    RUN(test_unknown);
    RUN(test_errors);
    RUN(test_listener_from_env);
    RUN(test_subst_env);
    return TEST_END();
}
