/* cidr.c — address ranges (cidr.h). */
#include "net/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int st_cidr_parse(const char *s, st_cidr *out)
{
    char addr[64];
    memset(out, 0, sizeof *out);
    if (strcmp(s, "all") == 0) {
        out->all = 1;
        return 0;
    }
    const char *slash = strchr(s, '/');
    size_t al = slash ? (size_t)(slash - s) : strlen(s);
    if (al == 0 || al >= sizeof addr) return -1;
    memcpy(addr, s, al);
    addr[al] = 0;
    out->v6 = strchr(addr, ':') != NULL;
    if (inet_pton(out->v6 ? AF_INET6 : AF_INET, addr, out->net) != 1) return -1;
    int max = out->v6 ? 128 : 32;
    char *end;
    long b = slash ? strtol(slash + 1, &end, 10) : max;
    if (slash && (*end || !slash[1] || b < 0 || b > max)) return -1;
    out->bits = (uint8_t)b;
    return 0;
}

static int in_range(const st_cidr *c, const uint8_t *a, int v6)
{
    if (c->all) return 1;
    if (v6 != c->v6) return 0;
    for (int i = 0; i < c->bits; i++) {
        int byte = i / 8, bit = 7 - i % 8;
        if (((a[byte] >> bit) & 1) != ((c->net[byte] >> bit) & 1)) return 0;
    }
    return 1;
}

int st_cidr_match(const st_cidr *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return in_range(c, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr, 0);
    if (sa->sa_family != AF_INET6) return c->all;
    const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0) return in_range(c, a + 12, 0); /* ::ffff:10.1.2.3 */
    return in_range(c, a, 1);
}

int st_cidr_match_text(const st_cidr *c, const char *ip)
{
    uint8_t a[16] = {0};
    int v6 = strchr(ip, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, a) != 1) return c->all;
    return in_range(c, a, v6);
}
