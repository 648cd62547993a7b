/* proxy.c — PROXY protocol v1 and v2 headers (proxy.h). */
#include "net/proxy.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t V2_SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* "ip:port" or "[ip6]:port" into out (47 characters at most: inet_ntop's longest IPv6
 * form is 39). -1 if it would not fit (it cannot, but out's size is not trusted to it). */
static int fmt(char *out, size_t cap, int family, const void *addr, unsigned port)
{
    char ip[INET6_ADDRSTRLEN], s[64];
    inet_ntop(family, addr, ip, sizeof ip);
    int n = snprintf(s, sizeof s, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
    if (n < 0 || (size_t)n >= cap) return -1;
    memcpy(out, s, (size_t)n + 1);
    return 0;
}

/* A port: 1 to 5 digits, no sign, no leading zero (the spec's form), <= 65535. */
static int port_of(const char *s, unsigned *port)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n) return -1;
    *port = (unsigned)atoi(s);
    return *port <= 65535 ? 0 : -1;
}

/* "PROXY TCP4 src dst sport dport\r\n" or "PROXY UNKNOWN...\r\n" */
static long parse_v1(const uint8_t *buf, size_t len, st_proxy_hdr *h)
{
    size_t n = len < ST_PROXY_V1_MAX ? len : ST_PROXY_V1_MAX;
    const uint8_t *cr = memchr(buf, '\r', n), *lf = memchr(buf, '\n', n);
    if (lf && (!cr || lf < cr)) return ST_EPROTO; /* a line must end with CRLF */
    if (!cr) return len < ST_PROXY_V1_MAX ? 0 : ST_EPROTO;
    size_t line = (size_t)(cr - buf);
    if (line + 1 >= len) return 0;
    if (cr[1] != '\n' || memchr(buf, 0, line)) return ST_EPROTO;
    char s[ST_PROXY_V1_MAX + 1];
    memcpy(s, buf, line);
    s[line] = 0;
    h->version = 1;
    if (strncmp(s, "PROXY UNKNOWN", 13) == 0 && (s[13] == 0 || s[13] == ' ')) {
        h->local = 1;
        return (long)line + 2;
    }
    char proto[8], src[48], dst[48], sp[8], dp[8], extra;
    unsigned sport, dport;
    uint8_t a[16], b[16];
    if (sscanf(s, "PROXY %7s %47s %47s %7s %7s%c", proto, src, dst, sp, dp, &extra) != 5)
        return ST_EPROTO;
    int fam = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
    if (!fam || inet_pton(fam, src, a) != 1 || inet_pton(fam, dst, b) != 1 ||
        port_of(sp, &sport) < 0 || port_of(dp, &dport) < 0)
        return ST_EPROTO;
    for (size_t i = 0; i < line; i++) /* single spaces only, as the spec writes it */
        if (s[i] == ' ' && (i + 1 == line || s[i + 1] == ' ')) return ST_EPROTO;
    h->family = fam;
    if (fmt(h->src, sizeof h->src, fam, a, sport) < 0 ||
        fmt(h->dst, sizeof h->dst, fam, b, dport) < 0)
        return ST_EPROTO;
    return (long)line + 2;
}

static long parse_v2(const uint8_t *buf, size_t len, st_proxy_hdr *h)
{
    if (len < 16) return 0;
    unsigned ver = buf[12] >> 4, cmd = buf[12] & 0x0F, fam = buf[13] >> 4, proto = buf[13] & 0x0F;
    size_t body = (size_t)buf[14] << 8 | buf[15];
    if (ver != 2 || cmd > 1) return ST_EPROTO;
    if (len < 16 + body) return 0;
    h->version = 2;
    const uint8_t *p = buf + 16;
    if (cmd == 0 || fam == 0 || proto != 1) { /* LOCAL, UNSPEC, or not a stream: no client */
        h->local = 1;
        return (long)(16 + body);
    }
    if (fam == 1 && body >= 12) {
        h->family = AF_INET;
        if (fmt(h->src, sizeof h->src, AF_INET, p, (unsigned)(p[8] << 8 | p[9])) < 0 ||
            fmt(h->dst, sizeof h->dst, AF_INET, p + 4, (unsigned)(p[10] << 8 | p[11])) < 0)
            return ST_EPROTO;
    } else if (fam == 2 && body >= 36) {
        h->family = AF_INET6;
        if (fmt(h->src, sizeof h->src, AF_INET6, p, (unsigned)(p[32] << 8 | p[33])) < 0 ||
            fmt(h->dst, sizeof h->dst, AF_INET6, p + 16, (unsigned)(p[34] << 8 | p[35])) < 0)
            return ST_EPROTO;
    } else if (fam == 3) { /* AF_UNIX: nothing an MQTT client is identified by */
        h->local = 1;
    } else {
        return ST_EPROTO; /* addresses shorter than their family needs */
    }
    return (long)(16 + body); /* TLVs after the addresses are skipped */
}

long st_proxy_parse(const uint8_t *buf, size_t len, st_proxy_hdr *h)
{
    memset(h, 0, sizeof *h);
    size_t n = len < sizeof V2_SIG ? len : sizeof V2_SIG;
    if (memcmp(buf, V2_SIG, n) == 0) return len < sizeof V2_SIG ? 0 : parse_v2(buf, len, h);
    n = len < 6 ? len : 6;
    if (memcmp(buf, "PROXY ", n) == 0) return len < 6 ? 0 : parse_v1(buf, len, h);
    return ST_EPROTO;
}
