/* listen.c — bind-string parsing and listening sockets (SO_REUSEPORT for per-worker
 * accept, so the kernel spreads new connections over the workers without a handoff). */
#include "net/listen.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 65535) return ST_EINVAL;
    *port = (uint16_t)v;
    return 0;
}

int st_parse_bind(const char *bind, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256] = "0.0.0.0";
    const char *port_s = bind;
    uint16_t port;
    memset(ss, 0, sizeof *ss);
    if (bind[0] == '[') {
        const char *rb = strchr(bind, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - bind - 1) >= sizeof host) return ST_EINVAL;
        memcpy(host, bind + 1, (size_t)(rb - bind - 1));
        host[rb - bind - 1] = 0;
        port_s = rb + 2;
    } else {
        const char *colon = strrchr(bind, ':');
        if (colon) {
            size_t hl = (size_t)(colon - bind);
            if (hl >= sizeof host) return ST_EINVAL;
            if (hl) {
                memcpy(host, bind, hl);
                host[hl] = 0;
            }
            port_s = colon + 1;
        }
    }
    if (parse_port(port_s, &port) < 0) return ST_EINVAL;
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        *len = sizeof *s4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        *len = sizeof *s6;
        return 0;
    }
    if (strcmp(host, "localhost") == 0) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *s4;
        return 0;
    }
    return ST_EINVAL;
}

int st_listen_tcp(const char *addr, int reuseport, int backlog, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (st_parse_bind(addr, &ss, &sl) < 0) {
        snprintf(err, errlen, "invalid bind address '%s' (want host:port)", addr);
        return ST_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return ST_ESYS;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, backlog) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return ST_ESYS;
    }
    return fd;
}

int st_listen_probe(const char *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (st_parse_bind(addr, &ss, &sl) < 0) {
        snprintf(err, errlen, "invalid bind address '%s' (want host:port)", addr);
        return ST_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return ST_ESYS;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&ss, sl);
    int e = errno;
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(e));
        return ST_ESYS;
    }
    return 0;
}

void st_peer_name(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            port = ntohs(s4->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            port = ntohs(s6->sin6_port);
        }
    }
    snprintf(buf, len, "%s:%d", host, port);
}
