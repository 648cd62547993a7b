/* test_config_tree.c — a config written as text loads back to the same values (HOCON and
 * JSON alike), secrets are masked, a prefix selects a root, the overrides' layer sits between
 * the file and the environment, and the differences of two configs are the keys changed. */
#include "test.h"

#include "config/config.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

static const char base[] =
    "node.name = \"a@127.0.0.1\"\n"
    "node.cookie = \"s3cret\"\n"
    "mqtt { max_inflight = 64, retry_interval = 90s, max_packet_size = 2MB }\n"
    "listeners.tcp.default.bind = 1884\n"
    "listeners.tcp.other { bind = \"127.0.0.1:1999\", max_connections = 10 }\n"
    "authentication = [{mechanism = password_based, backend = "
    "built_in_database}]\n"
    "cluster.static.seeds = [\"a@127.0.0.1\", \"b@127.0.0.2\"]\n";

static st_config *load(const char *text, const char *name)
{
    st_config *c = NULL;
    int rc = st_config_load_buffer(text, strlen(text), name, NULL, NULL, NULL, &c, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    return c;
}

static char *written(const st_config *c, const char *prefix, int json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = st_config_write(c, prefix, json, f);
    fclose(f);
    if (rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void count(void *ctx, const char *key)
{
    int *n = ctx;
    n[0]++;

    if (strcmp(key, "node.cookie") == 0) n[1]++;
    if (strcmp(key, "mqtt.max_inflight") == 0) n[2]++;
}

static void test_round_trip(int json)
{
    st_config *a = load(base, "base.conf");
    CHECK(a != NULL);
    if (!a) return;
    char *text = written(a, NULL, json);
    CHECK(text != NULL);
    CHECK(strstr(text, "s3cret") == NULL); /* the cookie is masked */
    CHECK(strstr(text, ST_CONFIG_MASK) != NULL);
    st_config *b = text ? load(text, "written") : NULL;
    CHECK(b != NULL);
    if (b) {
        int n[3] = {0};
        CHECK_EQ(st_config_diff(a, b, count, n), 0);
        CHECK_EQ(n[0], 2); /* only the masked secrets differ: the cookie, the password */
        CHECK_EQ(n[1], 1);
        CHECK_STR(st_config_str(b, "listeners.tcp.other.bind"), "127.0.0.1:1999");
        CHECK_EQ(st_config_int(b, "mqtt.max_packet_size"), 2 << 20);
        CHECK_EQ(st_config_int(b, "mqtt.retry_interval"), 90000);
        CHECK_EQ(st_config_array_len(b, "cluster.static.seeds"), 2);
        CHECK_STR(st_config_str(b, "authentication.0.mechanism"), "password_based");
    }
    st_config_free(b);
    st_config_free(a);
    free(text);
}

static void test_hocon_round_trip(void)
{
    test_round_trip(0);
}

static void test_json_round_trip(void)
{
    test_round_trip(1);
}

static void test_prefix(void)
{
    st_config *a = load(base, "base.conf");
    if (!a) return;
    char *text = written(a, "mqtt", 0);
    CHECK(text && strncmp(text, "mqtt {\n", 7) == 0);
    CHECK(text && strstr(text, "max_inflight = 64\n") != NULL);
    CHECK(text && strstr(text, "listeners") == NULL);
    free(text);
    text = written(a, "mqtt.max_inflight", 1);
    CHECK(text && strstr(text, "\"max_inflight\": 64") != NULL);
    free(text);
    CHECK(written(a, "nosuchroot", 0) == NULL);
    CHECK(written(a, "mqt", 0) == NULL); /* a prefix is whole segments */
    st_config_free(a);
}

static void test_layer(void)
{
    FILE *f = fopen("/tmp/st_test_layer.conf", "w");
    if (!f) return;
    fputs(base, f);
    fclose(f);
    const char over[] = "mqtt.max_inflight = 10\nmqtt.max_mqueue_len = 5\n";
    struct st_config_layer l = {over, strlen(over), "cluster.hocon"};
    char *env[] = {"STARLING_MQTT__MAX_MQUEUE_LEN=7", NULL};
    st_config *c = NULL;
    CHECK_EQ(
        st_config_load_over("/tmp/st_test_layer.conf", &l, env, NULL, NULL, &c, err, sizeof err),
        0);
    if (c) {
        CHECK_EQ(st_config_int(c, "mqtt.max_inflight"), 10);      /* over the file */
        CHECK_EQ(st_config_int(c, "mqtt.max_mqueue_len"), 7);     /* the environment over it */
        CHECK_EQ(st_config_int(c, "mqtt.retry_interval"), 90000); /* the file's */
        CHECK_STR(st_config_origin(c, "mqtt.max_inflight"), "cluster.hocon:1");
    }
    st_config_free(c);
    const char bad[] = "mqtt {\n  max_inflight = lots\n}\n";
    struct st_config_layer lb = {bad, strlen(bad), "cluster.hocon"};
    c = NULL;
    CHECK_EQ(
        st_config_load_over("/tmp/st_test_layer.conf", &lb, NULL, NULL, NULL, &c, err, sizeof err),
        ST_ECONFIG);
    CHECK(strstr(err, "cluster.hocon:2: mqtt.max_inflight:") != NULL);
    const char inc[] = "include \"/etc/passwd\"\n";
    struct st_config_layer li = {inc, strlen(inc), "cluster.hocon"};
    CHECK(st_config_load_over("/tmp/st_test_layer.conf", &li, NULL, NULL, NULL, &c, err,
                              sizeof err) < 0);
    remove("/tmp/st_test_layer.conf");
}

static void test_diff(void)
{
    st_config *a = load(base, "a"),
              *b = load("node.name = \"a@127.0.0.1\"\nmqtt.max_inflight = 1\n", "b");
    if (!a || !b) return;
    int n[3] = {0};
    CHECK_EQ(st_config_diff(a, b, count, n), 0);
    CHECK(n[0] > 5); /* the listener other, seeds, authentication, ... */
    CHECK_EQ(n[1], 1);
    CHECK_EQ(n[2], 1);
    int none[3] = {0};
    CHECK_EQ(st_config_diff(a, a, count, none), 0);
    CHECK_EQ(none[0], 0);
    st_config_free(a);
    st_config_free(b);
}

int main(void)
{
    RUN(test_hocon_round_trip);
    RUN(test_json_round_trip);
    RUN(test_prefix);
    RUN(test_layer);
    RUN(test_diff);
    return TEST_END();
}
