/* test_dns.c — DNS queries and answers for discovery: a query's bytes, a real answer (as
 * dnsmasq sends it, with name compression), NXDOMAIN, server failure, and truncated or
 * foreign responses. */
#include "test.h"
#include "core/err.h"
#include "net/dns.h"

#include <string.h>

static void test_query(void)
{
    uint8_t q[64];
    long n = st_dns_query(0x1234, "starling.test", ST_DNS_A, q, sizeof q);
    static const uint8_t want[] = {0x12, 0x34, 1,   0,   0,   1,   0,   0,   0,   0,   0,
                                   0,    8,    's', 't', 'a', 'r', 'l', 'i', 'n', 'g', 4,
                                   't',  'e',  's', 't', 0,   0,   1,   0,   1};
    CHECK_EQ(n, (long)sizeof want);
    CHECK(memcmp(q, want, sizeof want) == 0);
    CHECK_EQ(st_dns_query(1, "starling.test.", ST_DNS_A, q, sizeof q), (long)sizeof want);
    CHECK_EQ(st_dns_query(1, "a..b", ST_DNS_A, q, sizeof q), ST_EINVAL);
    CHECK_EQ(st_dns_query(1, "", ST_DNS_A, q, sizeof q), ST_EINVAL);
    CHECK_EQ(st_dns_query(1, "starling.test", ST_DNS_A, q, 10), ST_ETOOLARGE);
}

/* dnsmasq's answer for starling.test with three A records */
static const uint8_t ANSWER[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x08, 0x73, 0x74, 0x61,
    0x72, 0x6c, 0x69, 0x6e, 0x67, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0,
    0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x04, 0xc0,
    0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x03, 0xc0,
    0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x02};

static void test_answers(void)
{
    uint8_t a[8][16];
    CHECK_EQ(st_dns_answers(ANSWER, sizeof ANSWER, 0x1234, ST_DNS_A, a, 8), 3);
    CHECK(a[0][0] == 127 && a[0][3] == 4 && a[2][3] == 2);
    CHECK_EQ(st_dns_answers(ANSWER, sizeof ANSWER, 0x1234, ST_DNS_A, a, 2), 2);
    CHECK_EQ(st_dns_answers(ANSWER, sizeof ANSWER, 0x1234, ST_DNS_AAAA, a, 8), 0);
    CHECK_EQ(st_dns_answers(ANSWER, sizeof ANSWER, 0x9999, ST_DNS_A, a, 8), ST_EMALFORMED);
    for (size_t cut = 0; cut < sizeof ANSWER; cut++) /* every truncation is caught */
        CHECK(st_dns_answers(ANSWER, cut, 0x1234, ST_DNS_A, a, 8) == ST_EMALFORMED);
    uint8_t r[sizeof ANSWER];
    memcpy(r, ANSWER, sizeof r);
    r[3] = 0x83; /* NXDOMAIN */
    CHECK_EQ(st_dns_answers(r, sizeof r, 0x1234, ST_DNS_A, a, 8), 0);
    r[3] = 0x82; /* SERVFAIL */
    CHECK_EQ(st_dns_answers(r, sizeof r, 0x1234, ST_DNS_A, a, 8), ST_EPROTO);
    memcpy(r, ANSWER, sizeof r);
    r[2] = 0x01; /* a query, not a response */
    CHECK_EQ(st_dns_answers(r, sizeof r, 0x1234, ST_DNS_A, a, 8), ST_EMALFORMED);
    memcpy(r, ANSWER, sizeof r);
    r[31] = 0x80; /* a reserved label type where a name should be */
    CHECK_EQ(st_dns_answers(r, sizeof r, 0x1234, ST_DNS_A, a, 8), ST_EMALFORMED);
}

/* dnsmasq's answer for SRV _starling._tcp.starling.test: two targets on port 4370, and their
 * addresses as additional records (srv-host and host-record lines) */
static const uint8_t SRV[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x09, 0x5f, 0x73,
    0x74, 0x61, 0x72, 0x6c, 0x69, 0x6e, 0x67, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x08, 0x73, 0x74,
    0x61, 0x72, 0x6c, 0x69, 0x6e, 0x67, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x21, 0x00,
    0x01, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00,
    0x00, 0x00, 0x11, 0x12, 0x02, 0x6e, 0x32, 0x08, 0x73, 0x74, 0x61, 0x72, 0x6c, 0x69, 0x6e,
    0x67, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x11, 0x12, 0x02, 0x6e, 0x31, 0x08, 0x73,
    0x74, 0x61, 0x72, 0x6c, 0x69, 0x6e, 0x67, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x64,
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x02, 0xc0,
    0x40, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x03,
};

static void test_srv(void)
{
    st_dns_rr r[8];
    CHECK_EQ(st_dns_records(SRV, sizeof SRV, 0x1234, r, 8), 4);
    CHECK(r[0].type == ST_DNS_SRV && r[0].port == 4370);
    CHECK_STR(r[0].name, "_starling._tcp.starling.test");
    CHECK_STR(r[0].target, "n2.starling.test");
    CHECK_STR(r[1].target, "n1.starling.test");
    CHECK(r[2].type == ST_DNS_A && r[2].addr[0] == 127 && r[2].addr[3] == 2);
    CHECK_STR(r[2].name, "n1.starling.test");
    CHECK_STR(r[3].name, "n2.starling.test");
    CHECK(r[3].addr[3] == 3);
    CHECK_EQ(st_dns_records(SRV, sizeof SRV, 0x1234, r, 1), 1);
    CHECK_EQ(st_dns_records(SRV, sizeof SRV, 0x1234, r, 0), 0);
    for (size_t cut = 0; cut < sizeof SRV; cut++) /* every truncation is caught */
        CHECK(st_dns_records(SRV, cut, 0x1234, r, 8) == ST_EMALFORMED);
    uint8_t loop[sizeof SRV];
    memcpy(loop, SRV, sizeof loop);
    loop[46] = 0xc0; /* the first answer's name points at itself: a loop, not a hang */
    loop[47] = 46;
    CHECK_EQ(st_dns_records(loop, sizeof loop, 0x1234, r, 8), ST_EMALFORMED);
    memset(r, 0x7f, sizeof r); /* what the reader leaves must not depend on what was there */
    CHECK_EQ(st_dns_records(ANSWER, sizeof ANSWER, 0x1234, r, 8), 3); /* A records too */
    CHECK_STR(r[0].name, "starling.test");
    CHECK(r[0].target[0] == 0 && r[0].port == 0);
}

int main(void)
{
    RUN(test_query);
    RUN(test_answers);
    RUN(test_srv);
    return TEST_END();
}
