/* Output queue: arena + referenced segments come out of a socket in order, partial
 * writes resume where they stopped, references are released exactly once, and the
 * buffers are freed when the queue drains. Also bind-string parsing. */
#include "test.h"
#include "core/err.h"
#include "net/listen.h"
#include "net/outq.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int released;
static void unref(void *p)
{
    released++;
}

static size_t drain(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = read(fd, buf + got, cap - got)) > 0)
        got += (size_t)r;
    return got;
}

static void test_order_and_refs(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    st_outq q = {0};
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    CHECK_EQ(st_outq_append(&q, "head", 4), 0);
    CHECK_EQ(st_outq_push_ref(&q, big, sizeof big, (void *)1), 0);
    CHECK_EQ(st_outq_append(&q, "tail", 4), 0);
    CHECK_EQ(q.bytes, 8 + sizeof big);
    released = 0;
    static uint8_t got[400000];
    size_t n = 0;
    int rc;
    int rounds = 0;
    while ((rc = st_outq_flush(&q, sv[0], unref)) == 0) { /* socket full: read some */
        n += drain(sv[1], got + n, sizeof got - n);
        rounds++;
    }
    CHECK_EQ(rc, 1);
    CHECK(rounds > 0); /* the payload is larger than the socket buffer */
    n += drain(sv[1], got + n, sizeof got - n);
    CHECK_EQ(n, 8 + sizeof big);
    CHECK(memcmp(got, "head", 4) == 0);
    CHECK(memcmp(got + 4, big, sizeof big) == 0);
    CHECK(memcmp(got + 4 + sizeof big, "tail", 4) == 0);
    CHECK_EQ(released, 1);
    CHECK(q.arena == NULL && q.segs == NULL && q.bytes == 0);
    close(sv[0]);
    close(sv[1]);
}

static void test_clear_releases(void)
{
    st_outq q = {0};
    released = 0;
    st_outq_push_ref(&q, (const uint8_t *)"x", 1, (void *)1);
    st_outq_push_ref(&q, (const uint8_t *)"y", 1, (void *)2);
    st_outq_clear(&q, unref);
    CHECK_EQ(released, 2);
    CHECK(q.segs == NULL);
}

static void test_closed_peer(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    st_outq q = {0};
    st_outq_append(&q, "abc", 3);
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(st_outq_flush(&q, sv[0], unref), ST_EIO);
    st_outq_clear(&q, unref);
    close(sv[0]);
}

static void test_parse_bind(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    CHECK_EQ(st_parse_bind("0.0.0.0:1883", &ss, &len), 0);
    CHECK_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 1883);
    CHECK_EQ(st_parse_bind("1884", &ss, &len), 0);
    CHECK_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 1884);
    CHECK_EQ(st_parse_bind(":1885", &ss, &len), 0);
    CHECK_EQ(st_parse_bind("[::1]:1886", &ss, &len), 0);
    CHECK_EQ(ss.ss_family, AF_INET6);
    CHECK_EQ(st_parse_bind("127.0.0.2:1887", &ss, &len), 0);
    CHECK_EQ(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x7F000002);
    CHECK_EQ(st_parse_bind("127.0.0.1:99999", &ss, &len), ST_EINVAL);
    CHECK_EQ(st_parse_bind("nohost:1883", &ss, &len), ST_EINVAL);
    CHECK_EQ(st_parse_bind("1.2.3.4:", &ss, &len), ST_EINVAL);
}

int main(void)
{
    RUN(test_order_and_refs);
    RUN(test_clear_releases);
    RUN(test_closed_peer);
    RUN(test_parse_bind);
    return TEST_END();
}
