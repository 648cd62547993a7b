/* test_proxy.c — PROXY protocol headers: v1 TCP4/TCP6/UNKNOWN, v2 PROXY over IPv4 and IPv6
 * (with TLVs, as haproxy sends them), LOCAL, partial headers ("more"), and what is refused:
 * plain MQTT, bad addresses and ports, a v1 line without its end, v2 with a bad version. */
#include "test.h"
#include "core/err.h"
#include "net/proxy.h"

#include <string.h>
#include <sys/socket.h>

static long parse(const char *s, st_proxy_hdr *h)
{
    return st_proxy_parse((const uint8_t *)s, strlen(s), h);
}

static void test_v1(void)
{
    st_proxy_hdr h;
    const char *line = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 1883\r\n";
    char buf[128];
    snprintf(buf, sizeof buf, "%s\x10\x0c", line); /* then a CONNECT's first bytes */
    CHECK_EQ(parse(buf, &h), (long)strlen(line));
    CHECK(h.version == 1 && h.family == AF_INET && !h.local);
    CHECK_STR(h.src, "192.0.2.7:56324");
    CHECK_STR(h.dst, "198.51.100.1:1883");
    for (size_t cut = 0; cut < strlen(line); cut++) /* every prefix asks for more */
        CHECK_EQ(st_proxy_parse((const uint8_t *)line, cut, &h), 0);
    CHECK_EQ(parse("PROXY TCP6 2001:db8::1 ::1 65535 1883\r\n", &h), 39);
    CHECK_STR(h.src, "[2001:db8::1]:65535");
    CHECK_EQ(parse("PROXY UNKNOWN\r\n", &h), 15);
    CHECK(h.local && h.src[0] == 0);
    CHECK_EQ(parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &h), 35);
    static const char *bad[] = {
        "PROXY TCP4 192.0.2.7 198.51.100.1 56324 1883\n",     /* LF without CR */
        "PROXY TCP4 192.0.2.777 198.51.100.1 56324 1883\r\n", /* not an address */
        "PROXY TCP4 2001:db8::1 198.51.100.1 56324 1883\r\n", /* v6 under TCP4 */
        "PROXY TCP4 192.0.2.7 198.51.100.1 65536 1883\r\n",   /* port too big */
        "PROXY TCP4 192.0.2.7 198.51.100.1 056 1883\r\n",     /* leading zero */
        "PROXY TCP4 192.0.2.7 198.51.100.1 -1 1883\r\n",
        "PROXY TCP4 192.0.2.7  198.51.100.1 1 1883\r\n", /* two spaces */
        "PROXY TCP4 192.0.2.7 198.51.100.1 1 1883 x\r\n",
        "PROXY UDP4 192.0.2.7 198.51.100.1 1 1883\r\n",
        "PROXY TCP4\r\n",
        "\x10\x0c\x00\x04MQTT\x05\x02\x00\x3c", /* plain MQTT: no load balancer in front */
        "proxy TCP4 192.0.2.7 198.51.100.1 1 2\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(parse(bad[i], &h), ST_EPROTO);
    char longline[200];
    memset(longline, 'a', sizeof longline);
    memcpy(longline, "PROXY ", 6);
    CHECK_EQ(st_proxy_parse((const uint8_t *)longline, sizeof longline, &h), ST_EPROTO);
}

/* haproxy 2.6 `send-proxy-v2` for 127.0.0.6:40000 -> 127.0.0.5:1883, with a NOOP TLV */
static const uint8_t V2_4[] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55,
                               0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x10, 127,  0,
                               0,    6,    127,  0,    0,    5,    0x9c, 0x40, 0x07,
                               0x5b, 0x04, 0x00, 0x01, 0x00, 0x10, 0x0c};

static void test_v2(void)
{
    st_proxy_hdr h;
    CHECK_EQ(st_proxy_parse(V2_4, sizeof V2_4, &h), 32);
    CHECK(h.version == 2 && h.family == AF_INET && !h.local);
    CHECK_STR(h.src, "127.0.0.6:40000");
    CHECK_STR(h.dst, "127.0.0.5:1883");
    for (size_t cut = 0; cut < 32; cut++)
        CHECK_EQ(st_proxy_parse(V2_4, cut, &h), 0);
    uint8_t v6[16 + 36];
    memcpy(v6, V2_4, 12);
    v6[12] = 0x21;
    v6[13] = 0x21;
    v6[14] = 0;
    v6[15] = 36;
    memset(v6 + 16, 0, 36);
    v6[31] = 1;    /* src ::1 */
    v6[48] = 0x07; /* src port 1883 */
    v6[49] = 0x5b;
    CHECK_EQ(st_proxy_parse(v6, sizeof v6, &h), 52);
    CHECK_STR(h.src, "[::1]:1883");
    uint8_t local[16];
    memcpy(local, V2_4, 16);
    local[12] = 0x20; /* LOCAL: a health check from the balancer itself */
    local[13] = 0;
    local[15] = 0;
    CHECK_EQ(st_proxy_parse(local, 16, &h), 16);
    CHECK(h.local && h.src[0] == 0);
    uint8_t bad[sizeof V2_4];
    memcpy(bad, V2_4, sizeof bad);
    bad[12] = 0x11; /* version 1 in a v2 header */
    CHECK_EQ(st_proxy_parse(bad, sizeof bad, &h), ST_EPROTO);
    memcpy(bad, V2_4, sizeof bad);
    bad[15] = 8; /* IPv4 addresses need 12 bytes */
    CHECK_EQ(st_proxy_parse(bad, sizeof bad, &h), ST_EPROTO);
    memcpy(bad, V2_4, sizeof bad);
    bad[11] = 0x0b; /* the signature is exact */
    CHECK_EQ(st_proxy_parse(bad, sizeof bad, &h), ST_EPROTO);
}

int main(void)
{
    RUN(test_v1);
    RUN(test_v2);
    return TEST_END();
}
