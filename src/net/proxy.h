/* proxy.h — the PROXY protocol header a load balancer (haproxy `send-proxy` /
 * `send-proxy-v2`, AWS NLB, ...) puts before a client's bytes, versions 1 (text) and 2
 * (binary), as specified in haproxy's doc/proxy-protocol.txt. Pure and fuzzed: it reads
 * the header from the start of a buffer and says where the client's own bytes begin. */
#ifndef ST_NET_PROXY_H
#define ST_NET_PROXY_H

#include <stddef.h>
#include <stdint.h>

#define ST_PROXY_V1_MAX 107 /* the longest v1 line, CRLF included */

typedef struct st_proxy_hdr {
    int version;  /* 1 or 2 */
    int local;    /* v2 LOCAL (a health check) or v1 UNKNOWN: keep the socket's addresses */
    int family;   /* AF_INET / AF_INET6 when addresses were given, else 0 */
    char src[48]; /* the client's address as "ip:port" ("[ip6]:port": 47 at most), "" if none */
    char dst[48]; /* the address the client connected to */
} st_proxy_hdr;

/* Read a header at the start of buf. Returns its length (> 0; the client's bytes follow),
 * 0 when more bytes are needed, or ST_EPROTO when buf does not start with a valid header
 * (a client talking MQTT straight to a listener that expects a load balancer). */
long st_proxy_parse(const uint8_t *buf, size_t len, st_proxy_hdr *h);

#endif
