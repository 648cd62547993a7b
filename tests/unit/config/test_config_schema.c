/* test_config_schema.c — the schema: defaults, value formats (durations, byte sizes, bind
 * addresses, infinity/disabled), maps, getters, and exact "file:line: key: message" errors
 * for unknown keys, wrong types and out-of-range values. */
#include "test.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "config/schema.h"
#include "core/err.h"

static char err[2048];

static st_config *load(const char *text)
{
    st_config *c = NULL;
    if (st_config_load_buffer(text, strlen(text), "t.conf", NULL, NULL, NULL, &c, err,
                              sizeof(err)) < 0)
        return NULL;
    return c;
}

static void check_error(const char *text, const char *msg)
{
    st_config *c = NULL;
    int rc =
        st_config_load_buffer(text, strlen(text), "t.conf", NULL, NULL, NULL, &c, err, sizeof(err));
    CHECK_EQ(rc, ST_ECONFIG);
    CHECK(c == NULL);
    CHECK_STR(err, msg);
}

static void test_defaults(void)
{
    st_config *c = NULL;
    CHECK_EQ(st_config_load(NULL, NULL, NULL, NULL, &c, err, sizeof(err)), 0);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(st_config_str(c, "node.name"), "starling@127.0.0.1");
    CHECK_STR(st_config_str(c, "node.cookie"), "starlingsecretcookie");
    CHECK_STR(st_config_str(c, "node.data_dir"), "data");
    CHECK_STR(st_config_str(c, "node.role"), "core");
    CHECK_EQ(st_config_int(c, "node.role"), 0);
    CHECK_EQ(st_config_int(c, "node.worker_threads"), 0);
    CHECK_STR(st_config_str(c, "cluster.name"), "starlingcl");
    CHECK_STR(st_config_str(c, "cluster.discovery_strategy"), "manual");
    CHECK_EQ(st_config_array_len(c, "cluster.static.seeds"), 0);
    CHECK_STR(st_config_str(c, "cluster.listen"), "0.0.0.0:4370");
    CHECK_STR(st_config_str(c, "log.level"), "warning");
    CHECK_EQ(st_config_int(c, "log.level"), 3);
    CHECK_EQ(st_config_bool(c, "log.console.enable"), 1);
    CHECK_EQ(st_config_bool(c, "log.file.enable"), 0);
    CHECK_STR(st_config_str(c, "log.file.path"), "log/starling.log");
    CHECK_EQ(st_config_bool(c, "listeners.tcp.default.enable"), 1);
    CHECK_STR(st_config_str(c, "listeners.tcp.default.bind"), "0.0.0.0:1883");
    CHECK_EQ(st_config_int(c, "listeners.tcp.default.max_connections"), ST_CONFIG_INFINITY);
    CHECK_EQ(st_config_bool(c, "listeners.tcp.default.proxy_protocol"), 0);
    CHECK_EQ(st_config_int(c, "mqtt.max_packet_size"), 1048576);
    CHECK_EQ(st_config_int(c, "mqtt.max_clientid_len"), 65535);
    CHECK_EQ(st_config_int(c, "mqtt.max_topic_levels"), 128);
    CHECK_EQ(st_config_int(c, "mqtt.max_qos_allowed"), 2);
    CHECK_EQ(st_config_int(c, "mqtt.max_topic_alias"), 65535);
    CHECK_EQ(st_config_bool(c, "mqtt.retain_available"), 1);
    CHECK_EQ(st_config_bool(c, "mqtt.wildcard_subscription"), 1);
    CHECK_EQ(st_config_bool(c, "mqtt.shared_subscription"), 1);
    CHECK_STR(st_config_str(c, "mqtt.shared_subscription_strategy"), "round_robin");
    CHECK_EQ(st_config_bool(c, "mqtt.ignore_loop_deliver"), 0);
    CHECK_EQ(st_config_bool(c, "mqtt.strict_mode"), 0);
    CHECK_STR(st_config_str(c, "mqtt.response_information"), "");
    CHECK_EQ(st_config_int(c, "mqtt.server_keepalive"), 0);
    CHECK(st_config_float(c, "mqtt.keepalive_multiplier") == 1.5);
    CHECK_EQ(st_config_int(c, "mqtt.retry_interval"), ST_CONFIG_INFINITY);
    CHECK_EQ(st_config_int(c, "mqtt.max_inflight"), 32);
    CHECK_EQ(st_config_int(c, "mqtt.max_mqueue_len"), 1000);
    CHECK_EQ(st_config_bool(c, "mqtt.mqueue_store_qos0"), 1);
    CHECK_EQ(st_config_int(c, "mqtt.max_awaiting_rel"), 100);
    CHECK_EQ(st_config_int(c, "mqtt.await_rel_timeout"), 300000);
    CHECK_EQ(st_config_int(c, "mqtt.session_expiry_interval"), 7200000);
    CHECK_EQ(st_config_int(c, "mqtt.message_expiry_interval"), ST_CONFIG_INFINITY);
    CHECK_EQ(st_config_int(c, "mqtt.max_subscriptions"), ST_CONFIG_INFINITY);
    CHECK_EQ(st_config_bool(c, "mqtt.upgrade_qos"), 0);
    CHECK_EQ(st_config_int(c, "mqtt.idle_timeout"), 15000);
    CHECK_EQ(st_config_bool(c, "mqtt.use_username_as_clientid"), 0);
    CHECK_EQ(st_config_bool(c, "retainer.enable"), 1);
    CHECK_EQ(st_config_int(c, "retainer.max_retained_messages"), 0);
    CHECK_EQ(st_config_int(c, "retainer.max_payload_size"), 1048576);
    CHECK_EQ(st_config_int(c, "retainer.msg_expiry_interval"), 0);
    CHECK_STR(st_config_str(c, "dashboard.listeners.http.bind"), "0.0.0.0:18083");
    CHECK_STR(st_config_origin(c, "mqtt.max_inflight"), "default");
    const char *names[4];
    CHECK_EQ(st_config_names(c, "listeners.tcp", names, 4), 1);
    CHECK_STR(names[0], "default");
    st_config_free(c);
}

/* Every default in the table converts, and every key is reachable through its getter. */
static void test_table(void)
{
    size_t n;
    const struct st_schema_key *keys = st_schema_keys(&n);
    CHECK(n >= 48);
    for (size_t i = 0; i < n; i++) {
        CHECK(keys[i].desc && keys[i].desc[0]);
        CHECK(keys[i].def != NULL);
        CHECK((keys[i].type == ST_T_ENUM) == (keys[i].choices != NULL));
        const char *w = strchr(keys[i].path, '<');
        const char *w2 = w ? strchr(w + 1, '<') : NULL;
        const char *w3 = w2 ? strchr(w2 + 1, '<') : NULL;
        /* at most one map level per key; a map inside a list's element
         * (authentication.<#>.headers.<name>); a list inside a map's entry
         * (listeners.tcp.<name>.authentication.<#>), with maps in its elements */
        CHECK(!w2 || (strncmp(w, "<#>", 3) == 0 && !w3) ||
              (strncmp(w2, "<#>", 3) == 0 && (!w3 || !strchr(w3 + 1, '<'))));
    }
}

static void test_durations(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"30s", 30000},     {"2h", 7200000},   {"100ms", 100},  {"1d", 86400000},
              {"5m", 300000},     {"1w", 604800000}, {"500", 500},    {"0", 0},
              {"1h30m", 5400000}, {"10S", 10000},    {"1H", 3600000}, {"0s", 0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        CHECK_EQ(st_parse_duration(ok[i].s, &v), 0);
        CHECK_EQ(v, ok[i].ms);
    }
    static const char *const bad[] = {"",
                                      "s",
                                      "10x",
                                      "-1s",
                                      "1.5s",
                                      "10 s",
                                      "1h30",
                                      "99999999999999999999ms",
                                      "9999999999999999d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        CHECK_EQ(st_parse_duration(bad[i], &v), -1);
    }
}

static void test_bytesizes(void)
{
    static const struct {
        const char *s;
        int64_t b;
    } ok[] = {{"1MB", 1048576}, {"64KB", 65536}, {"1GB", 1073741824}, {"512", 512},
              {"1mb", 1048576}, {"64kb", 65536}, {"2Mb", 2097152},    {"10B", 10},
              {"1k", 1024},     {"0", 0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        CHECK_EQ(st_parse_bytesize(ok[i].s, &v), 0);
        CHECK_EQ(v, ok[i].b);
    }
    static const char *const bad[] = {"", "MB", "1XB", "-1MB", "1.5MB", "1 MB", "99999999999999GB"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        CHECK_EQ(st_parse_bytesize(bad[i], &v), -1);
    }
}

static void test_values(void)
{
    st_config *c = load("mqtt {\n"
                        "  max_packet_size = 64KB\n"
                        "  max_inflight = \"64\"\n"
                        "  retry_interval = 30s\n"
                        "  idle_timeout = 1500\n"
                        "  max_mqueue_len = 0\n"
                        "  max_awaiting_rel = infinity\n"
                        "  server_keepalive = 30\n"
                        "  keepalive_multiplier = 2\n"
                        "  upgrade_qos = on\n"
                        "  retain_available = \"false\"\n"
                        "  shared_subscription_strategy = sticky\n"
                        "  response_information = null\n"
                        "}\n"
                        "node.cookie = 12345\n"
                        "node.role = replicant\n"
                        "cluster.static.seeds = [\"s@h1\", s@h2]\n"
                        "cluster.listen = 4371\n"
                        "dashboard.listeners.http.bind = \"[::1]:18083\"\n");
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_EQ(st_config_int(c, "mqtt.max_packet_size"), 65536);
    CHECK_EQ(st_config_int(c, "mqtt.max_inflight"), 64);
    CHECK_EQ(st_config_int(c, "mqtt.retry_interval"), 30000);
    CHECK_EQ(st_config_int(c, "mqtt.idle_timeout"), 1500);
    CHECK_EQ(st_config_int(c, "mqtt.max_mqueue_len"), ST_CONFIG_INFINITY);
    CHECK_EQ(st_config_int(c, "mqtt.max_awaiting_rel"), ST_CONFIG_INFINITY);
    CHECK_EQ(st_config_int(c, "mqtt.server_keepalive"), 30);
    CHECK(st_config_float(c, "mqtt.keepalive_multiplier") == 2.0);
    CHECK_EQ(st_config_bool(c, "mqtt.upgrade_qos"), 1);
    CHECK_EQ(st_config_int(c, "mqtt.upgrade_qos"), 1);
    CHECK_EQ(st_config_bool(c, "mqtt.retain_available"), 0);
    CHECK_EQ(st_config_int(c, "mqtt.shared_subscription_strategy"), 3);
    CHECK_STR(st_config_str(c, "mqtt.response_information"), ""); /* null = default */
    CHECK_STR(st_config_str(c, "node.cookie"), "12345");
    CHECK_EQ(st_config_int(c, "node.role"), 1);
    CHECK_EQ(st_config_array_len(c, "cluster.static.seeds"), 2);
    CHECK_STR(st_config_array_str(c, "cluster.static.seeds", 1), "s@h2");
    CHECK_STR(st_config_str(c, "cluster.listen"), "0.0.0.0:4371");
    CHECK_STR(st_config_str(c, "dashboard.listeners.http.bind"), "[::1]:18083");
    CHECK_STR(st_config_origin(c, "mqtt.max_inflight"), "t.conf:3");
    st_config_free(c);

    c = load("cluster.static.seeds = \"a@h1, b@h2 ,c@h3\"\n");
    CHECK(c && st_config_array_len(c, "cluster.static.seeds") == 3);
    CHECK_STR(c ? st_config_array_str(c, "cluster.static.seeds", 2) : NULL, "c@h3");
    st_config_free(c);
}

static void test_listeners(void)
{
    st_config *c = load("listeners.tcp.a {}\n"
                        "listeners.tcp.b.bind = 2000\n"
                        "listeners.tcp.b.max_connections = 1024\n");
    CHECK(c != NULL);
    if (!c) return;
    const char *names[4];
    CHECK_EQ(st_config_names(c, "listeners.tcp", names, 4), 2);
    CHECK_STR(names[0], "a");
    CHECK_STR(names[1], "b");
    CHECK_EQ(st_config_names(c, "listeners.tcp", names, 1), 2); /* count beyond max */
    CHECK_STR(st_config_str(c, "listeners.tcp.a.bind"), "0.0.0.0:1883");
    CHECK_STR(st_config_str(c, "listeners.tcp.b.bind"), "0.0.0.0:2000");
    CHECK_EQ(st_config_int(c, "listeners.tcp.b.max_connections"), 1024);
    CHECK_EQ(st_config_bool(c, "listeners.tcp.b.enable"), 1);
    st_config_free(c);

    char text[700], key[700], name[301];
    memset(name, 'n', 300);
    name[300] = '\0';
    snprintf(text, sizeof(text), "listeners.tcp.%s.enable = false\n", name);
    snprintf(key, sizeof(key), "listeners.tcp.%s.bind", name);
    c = load(text);
    CHECK_STR(c ? st_config_str(c, key) : NULL, "0.0.0.0:1883"); /* long map names work */
    st_config_free(c);

    c = load("listeners.tcp.default.bind = \"127.0.0.1:1884\"\n");
    CHECK(c && st_config_names(c, "listeners.tcp", names, 4) == 1);
    CHECK_STR(c ? st_config_str(c, "listeners.tcp.default.bind") : NULL, "127.0.0.1:1884");
    st_config_free(c);
}

/* The seed document's `listeners.tcp.default = 1883` and `listeners.tcp.internal = 1884`
 * (EMQX 4's `listener.tcp.external = 0.0.0.0:1883` form): a listener given as a port or an
 * address is that listener's bind. */
static void test_listener_shorthand(void)
{
    st_config *c = load("listeners.tcp.default = 1883\n"
                        "listeners.tcp.internal = 1884\n"
                        "listeners.ws.w = \"127.0.0.1:8083\"\n");
    CHECK(c != NULL);
    if (!c) return;
    const char *names[4];
    CHECK_EQ(st_config_names(c, "listeners.tcp", names, 4), 2);
    CHECK_STR(st_config_str(c, "listeners.tcp.default.bind"), "0.0.0.0:1883");
    CHECK_STR(st_config_str(c, "listeners.tcp.internal.bind"), "0.0.0.0:1884");
    CHECK_EQ(st_config_bool(c, "listeners.tcp.internal.enable"), 1);
    CHECK_STR(st_config_str(c, "listeners.ws.w.bind"), "127.0.0.1:8083");
    st_config_free(c);
    check_error("listeners.tcp.default = \"nope\"\n",
                "t.conf:1: listeners.tcp.default.bind: invalid address \"nope\", expected ip:port "
                "or port");
    check_error("listeners.tcp.default = 70000\n",
                "t.conf:1: listeners.tcp.default.bind: invalid address \"70000\", expected "
                "ip:port or port");
}

/* Lists of objects (`<#>`): EMQX's `authentication = [{...}, ...]`. */
static void test_lists_of_objects(void)
{
    st_config *c = load("authentication = [\n"
                        "  {mechanism = password_based, backend = built_in_database},\n"
                        "  {mechanism = password_based, user_id_type = clientid\n"
                        "   password_hash_algorithm {name = bcrypt}}\n"
                        "]\n");
    CHECK(c != NULL);
    if (!c) return;
    const char *names[4];
    CHECK_EQ(st_config_names(c, "authentication", names, 4), 2);
    CHECK_STR(names[0], "0");
    CHECK_STR(names[1], "1");
    CHECK_STR(st_config_str(c, "authentication.0.backend"), "built_in_database");
    CHECK_STR(st_config_str(c, "authentication.1.backend"), ""); /* the element's default */
    CHECK_STR(st_config_str(c, "authentication.1.password_hash_algorithm.name"), "bcrypt");
    CHECK_STR(st_config_str(c, "authentication.0.password_hash_algorithm.name"), "sha256");
    CHECK_STR(st_config_origin(c, "authentication.1.user_id_type"), "t.conf:3");
    st_config_free(c);

    /* one object is a list of one; no list, none; the seed's plain key beside it */
    c = load("authentication {mechanism = password_based}\n");
    CHECK(c && st_config_names(c, "authentication", names, 4) == 1);
    CHECK_STR(c ? st_config_str(c, "authentication.0.mechanism") : NULL, "password_based");
    st_config_free(c);
    c = load("authentication.password_hash_salt = pepper\n");
    CHECK(c && st_config_names(c, "authentication", names, 4) == 0);
    CHECK_STR(c ? st_config_str(c, "authentication.password_hash_salt") : NULL, "pepper");
    st_config_free(c);
    c = load("authentication = []\n");
    CHECK(c && st_config_names(c, "authentication", names, 4) == 0);
    st_config_free(c);

    /* a map inside a list's element: made when it has an entry, none else */
    c = load("authentication = [{mechanism = jwt, verify_claims {sub = \"${clientid}\", "
             "aud = mqtt}}, {mechanism = jwt}]\n");
    CHECK(c && st_config_names(c, "authentication.0.verify_claims", names, 4) == 2);
    CHECK_STR(c ? names[0] : NULL, "sub");
    CHECK_STR(c ? st_config_str(c, "authentication.0.verify_claims.sub") : NULL, "${clientid}");
    CHECK_STR(c ? st_config_str(c, "authentication.0.verify_claims.aud") : NULL, "mqtt");
    CHECK(c && st_config_names(c, "authentication.1.verify_claims", names, 4) == 0);
    st_config_free(c);

    check_error("authentication = [{mechanism = password_based}, 5]\n",
                "t.conf:1: authentication: element 1: expected an object, got number");
    check_error("authentication = [{mechanism = password_based, colour = red}]\n",
                "t.conf:1: authentication.0.colour: unknown key");
    check_error("authentication = 5\n",
                "t.conf:1: authentication: expected an array of objects, got number");
}

static void test_errors(void)
{
    check_error("mqtt {\n  max_inflight = 10\n  no_such_key = 1\n}\n",
                "t.conf:3: mqtt.no_such_key: unknown key");
    check_error("nope = 1\n", "t.conf:1: nope: unknown key");
    check_error("listeners.tcp.default.bnd = 1\n",
                "t.conf:1: listeners.tcp.default.bnd: unknown key");
    check_error("mqtt.max_inflight = abc\n",
                "t.conf:1: mqtt.max_inflight: expected integer, got string \"abc\"");
    check_error("mqtt.max_inflight = 1.5\n",
                "t.conf:1: mqtt.max_inflight: expected integer, got number 1.5");
    check_error("\n\nmqtt.max_qos_allowed = 3\n",
                "t.conf:3: mqtt.max_qos_allowed: value 3 out of range 0..2");
    check_error("mqtt.max_packet_size = 512MB\n",
                "t.conf:1: mqtt.max_packet_size: value 536870912 out of range 1..268435456");
    check_error("mqtt.max_subscriptions = 0\n",
                "t.conf:1: mqtt.max_subscriptions: value 0 out of range (minimum 1)");
    check_error(
        "mqtt.max_subscriptions = lots\n",
        "t.conf:1: mqtt.max_subscriptions: expected integer | infinity, got string \"lots\"");
    check_error("mqtt.max_inflight = infinity\n",
                "t.conf:1: mqtt.max_inflight: expected integer, got string \"infinity\"");
    check_error("mqtt.upgrade_qos = 5\n",
                "t.conf:1: mqtt.upgrade_qos: expected bool, got number 5");
    check_error("log.level = loud\n",
                "t.conf:1: log.level: expected one of debug, info, notice, warning, error, "
                "critical, got string \"loud\"");
    check_error(
        "mqtt.idle_timeout = 10x\n",
        "t.conf:1: mqtt.idle_timeout: invalid duration string \"10x\" (e.g. 30s, 100ms, 2h, 1d)");
    check_error(
        "mqtt.max_packet_size = 1XB\n",
        "t.conf:1: mqtt.max_packet_size: invalid byte size string \"1XB\" (e.g. 512KB, 1MB)");
    check_error("mqtt.keepalive_multiplier = fast\n",
                "t.conf:1: mqtt.keepalive_multiplier: expected float, got string \"fast\"");
    check_error("listeners.tcp.default.bind = \"1.2.3.4\"\n",
                "t.conf:1: listeners.tcp.default.bind: invalid address \"1.2.3.4\", expected "
                "ip:port or port");
    check_error("listeners.tcp.default.bind = 70000\n",
                "t.conf:1: listeners.tcp.default.bind: invalid address \"70000\", expected ip:port "
                "or port");
    check_error("node.name = starling\n",
                "t.conf:1: node.name: invalid node name \"starling\", expected name@host");
    check_error("cluster.static.seeds = [a@b, {x = 1}]\n",
                "t.conf:1: cluster.static.seeds: element 2: expected string, got object");
    check_error("mqtt.max_inflight { a = 1 }\n",
                "t.conf:1: mqtt.max_inflight: expected integer, got object");
    check_error("mqtt = 5\n", "t.conf:1: mqtt: expected an object, got number");
    check_error("listeners.tcp.default = on\n",
                "t.conf:1: listeners.tcp.default: expected an object, got bool");
    /* all errors are reported, one per line */
    check_error("a = 1\nmqtt.max_inflight = 0\nlog.level = x\n",
                "t.conf:1: a: unknown key\n"
                "t.conf:2: mqtt.max_inflight: value 0 out of range 1..65535\n"
                "t.conf:3: log.level: expected one of debug, info, notice, warning, error, "
                "critical, got string \"x\"");
    /* syntax errors come without a key */
    check_error("mqtt {\n", "t.conf:2: unexpected end of file, expected '}' for object at line 1");
    /* a substituted value is reported where it is used */
    check_error("node.data_dir = abc\n\nmqtt.max_inflight = ${node.data_dir}\n",
                "t.conf:3: mqtt.max_inflight: expected integer, got string \"abc\"");
}

/* Run fn in a child; true if it died of SIGABRT. */
static int aborts(void (*fn)(const st_config *), const st_config *c)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(2);
        fn(c);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void get_unknown(const st_config *c)
{
    st_config_int(c, "mqtt.no_such_key");
}
static void get_wrong_type(const st_config *c)
{
    st_config_str(c, "mqtt.max_inflight");
}
static void get_wrong_type2(const st_config *c)
{
    st_config_int(c, "node.name");
}
static void get_missing_instance(const st_config *c)
{
    st_config_str(c, "listeners.tcp.nope.bind");
}
static void get_bad_index(const st_config *c)
{
    st_config_array_str(c, "cluster.static.seeds", 0);
}
static void get_bad_map(const st_config *c)
{
    const char *names[1];
    st_config_names(c, "mqtt", names, 1);
}

static void test_getter_aborts(void)
{
    st_config *c = NULL;
    CHECK_EQ(st_config_load(NULL, NULL, NULL, NULL, &c, err, sizeof(err)), 0);
    if (!c) return;
    CHECK(aborts(get_unknown, c));
    CHECK(aborts(get_wrong_type, c));
    CHECK(aborts(get_wrong_type2, c));
    CHECK(aborts(get_missing_instance, c));
    CHECK(aborts(get_bad_index, c));
    CHECK(aborts(get_bad_map, c));
    st_config_free(c);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_table);
    RUN(test_durations);
    RUN(test_bytesizes);
    RUN(test_values);
    RUN(test_listeners);
    RUN(test_listener_shorthand);
    RUN(test_lists_of_objects);
    RUN(test_errors);
    RUN(test_getter_aborts);
    return TEST_END();
}
