#include "test.h"
#include "core/err.h"

static void test_strerror(void)
{
    CHECK_STR(st_strerror(0), "ok");
    CHECK_STR(st_strerror(ST_EMALFORMED), "malformed packet");
    CHECK(ST_ENOMEM < 0 && ST_ESYS < 0);
    CHECK_STR(st_strerror(12345), "unknown error");
}

int main(void)
{
    RUN(test_strerror);
    return TEST_END();
}
