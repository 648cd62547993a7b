/* test_config_file.c — loading real files: the shipped etc/starling.conf must load cleanly,
 * errors inside included files name that file and line, a missing file is reported. */
#include "test.h"

#include "config/config.h"
#include "core/err.h"

static char err[1024];

static void count(void *ctx, const char *msg)
{
    (*(int *)ctx)++;
    fprintf(stderr, "warning: %s\n", msg);
}

static void test_shipped_config(void)
{
    st_config *c = NULL;
    int nwarn = 0;
    int rc =
        st_config_load("../../../etc/starling.conf", NULL, count, &nwarn, &c, err, sizeof(err));
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ(nwarn, 0);
    if (!c) return;
    CHECK_STR(st_config_str(c, "node.name"), "starling@127.0.0.1");
    CHECK_STR(st_config_str(c, "node.cookie"), "starlingsecretcookie");
    CHECK_STR(st_config_str(c, "log.level"), "warning");
    CHECK_STR(st_config_str(c, "listeners.tcp.default.bind"), "0.0.0.0:1883");
    const char *names[4];
    CHECK_EQ(st_config_names(c, "listeners.tcp", names, 4), 1);
    CHECK_STR(st_config_origin(c, "listeners.tcp.default.bind"), "../../../etc/starling.conf:45");
    st_config_free(c);
}

static void test_include_errors(void)
{
    st_config *c = NULL;
    int rc = st_config_load("fixtures/schema_error.conf", NULL, NULL, NULL, &c, err, sizeof(err));
    CHECK_EQ(rc, ST_ECONFIG);
    CHECK_STR(err, "fixtures/inc/listeners.conf:3: listeners.tcp.default.max_connections: value "
                   "-5 out of range (minimum 1)");

    rc = st_config_load("fixtures/no_such.conf", NULL, NULL, NULL, &c, err, sizeof(err));
    CHECK_EQ(rc, ST_ECONFIG);
    CHECK_STR(err, "fixtures/no_such.conf: cannot open: No such file or directory");
    CHECK(c == NULL);
}

static void test_small_error_buffer(void)
{
    st_config *c = NULL;
    char small[16];
    const char *text = "a = 1\nb = 2\nc = 3\n";
    int rc = st_config_load_buffer(text, strlen(text), "t.conf", NULL, NULL, NULL, &c, small,
                                   sizeof(small));
    CHECK_EQ(rc, ST_ECONFIG);
    CHECK_EQ(strlen(small), sizeof(small) - 1);
    CHECK(strncmp(small, "t.conf:1: a: un", 15) == 0);
}

int main(void)
{
    RUN(test_shipped_config);
    RUN(test_include_errors);
    RUN(test_small_error_buffer);
    return TEST_END();
}
