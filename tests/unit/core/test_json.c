/* test_json.c — the strict JSON reader. */
#include "test.h"
#include "core/err.h"
#include "core/json.h"

#include <string.h>

static st_jtok t[64];

static int parse(const char *s)
{
    return st_json_parse(s, strlen(s), t, 64);
}

static void test_values_and_lookup(void)
{
    const char *s = " {\"running_nodes\":[\"a@h\",\"b@h\"],\"stopped_nodes\":[],"
                    "\"n\":-1.5e3,\"ok\":true,\"no\":false,\"z\":null,\"o\":{\"k\":\"v\"}} ";
    int n = parse(s);
    CHECK(n > 0);
    CHECK_EQ(t[0].type, ST_J_OBJECT);
    CHECK_EQ(t[0].size, 7u);
    int run = st_json_get(s, t, 0, "running_nodes");
    CHECK(run > 0 && t[run].type == ST_J_ARRAY && t[run].size == 2);
    char buf[32];
    CHECK_EQ(st_json_str(s, &t[st_json_at(t, (uint32_t)run, 1)], buf, sizeof buf), 3);
    CHECK_STR(buf, "b@h");
    CHECK_EQ(st_json_at(t, (uint32_t)run, 2), -1);
    int st = st_json_get(s, t, 0, "stopped_nodes");
    CHECK(st > 0 && t[st].size == 0);
    int num = st_json_get(s, t, 0, "n");
    CHECK(num > 0 && t[num].type == ST_J_NUMBER && t[num].end - t[num].start == 6);
    CHECK_EQ(t[st_json_get(s, t, 0, "ok")].type, ST_J_TRUE);
    CHECK_EQ(t[st_json_get(s, t, 0, "z")].type, ST_J_NULL);
    int o = st_json_get(s, t, 0, "o");
    CHECK(o > 0 && st_json_eq(s, &t[st_json_get(s, t, (uint32_t)o, "k")], "v"));
    CHECK_EQ(st_json_get(s, t, 0, "k"), -1); /* not a top-level member */
    CHECK_EQ(st_json_get(s, t, 0, "missing"), -1);
}

static void test_escapes(void)
{
    const char *s = "\"a\\\"b\\\\c\\/d\\n\\u00e9\\u20ac\\ud83d\\ude00\"";
    CHECK_EQ(parse(s), 1);
    char buf[64];
    int n = st_json_str(s, &t[0], buf, sizeof buf);
    CHECK_STR(buf, "a\"b\\c/d\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    CHECK_EQ(n, 17);
    CHECK_EQ(st_json_str(s, &t[0], buf, 5), ST_EFULL);
    CHECK_EQ(parse("\"caf\xc3\xa9\""), 1); /* raw UTF-8 */
}

static void test_malformed(void)
{
    const char *bad[] = {"",
                         "{",
                         "[1,]",
                         "{\"a\":}",
                         "{\"a\" 1}",
                         "{a:1}",
                         "[1 2]",
                         "01",
                         "1.",
                         "-",
                         "1e",
                         "tru",
                         "nul",
                         "\"abc",
                         "\"\\x\"",
                         "\"\\u12\"",
                         "\"\\ud800\"",
                         "\"\\udc00\"",
                         "\"\x01\"",
                         "\"\xc0\xaf\"",
                         "\"\xed\xa0\x80\"",
                         "[]]",
                         "{} {}",
                         "[1,2",
                         "'a'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i]);
        CHECK(rc < 0);
        if (rc >= 0) printf("  accepted: %s\n", bad[i]);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    static st_jtok many[256];
    CHECK_EQ(st_json_parse(deep, 200, many, 256), ST_EMALFORMED); /* deeper than 64 */
    CHECK(st_json_parse(deep + 40, 120, many, 256) > 0);          /* 60 levels are fine */
    CHECK_EQ(parse("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
                   "29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,"
                   "55,56,57,58,59,60,61,62,63,64]"),
             ST_EFULL);
}

int main(void)
{
    RUN(test_values_and_lookup);
    RUN(test_escapes);
    RUN(test_malformed);
    return TEST_END();
}
