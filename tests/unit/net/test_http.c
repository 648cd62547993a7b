/* test_http.c — the admin API's request-head parser. */
#include "test.h"
#include "net/http.h"

#include <string.h>

static int parse(const char *s, st_http_req *r)
{
    return st_http_parse(s, strlen(s), r);
}

static void test_complete(void)
{
    st_http_req r;
    CHECK_EQ(parse("GET /api/v5/nodes HTTP/1.1\r\nHost: x\r\n\r\n", &r), 1);
    CHECK_STR(r.method, "GET");
    CHECK_STR(r.path, "/api/v5/nodes");
    CHECK_EQ(parse("GET /status?x=1 HTTP/1.0\r\n\r\n", &r), 1);
    CHECK_STR(r.path, "/status");
}

static void test_incomplete_and_malformed(void)
{
    st_http_req r;
    const char *full = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t k = 0; k < strlen(full); k++)
        CHECK_EQ(st_http_parse(full, k, &r), 0);
    CHECK_EQ(parse("garbage\r\n\r\n", &r), -1);
    CHECK_EQ(parse("GET status HTTP/1.1\r\n\r\n", &r), -1);
    CHECK_EQ(parse("GET /status FTP/1.0\r\n\r\n", &r), -1);
    CHECK_EQ(parse("VERYLONGMETHOD / HTTP/1.1\r\n\r\n", &r), -1);
    CHECK_EQ(parse(" / HTTP/1.1\r\n\r\n", &r), -1);
    CHECK_EQ(st_http_parse("\0\0GET / HTTP/1.1\r\n\r\n", 22, &r), -1); /* found by fuzzing */
    CHECK_EQ(parse("get / HTTP/1.1\r\n\r\n", &r), -1);
    CHECK_EQ(parse("GET /a\tb HTTP/1.1\r\n\r\n", &r), -1);
    char longpath[700] = "GET /";
    memset(longpath + 5, 'a', 600);
    strcpy(longpath + 605, " HTTP/1.1\r\n\r\n");
    CHECK_EQ(parse(longpath, &r), -1);
}

int main(void)
{
    RUN(test_complete);
    RUN(test_incomplete_and_malformed);
    return TEST_END();
}
