/* dns.h — the little DNS (RFC 1035) that cluster discovery needs, pure (no I/O): build an
 * A or AAAA query, and read the addresses out of a response. Responses come from the
 * network, so the reader checks every length and follows at most a few compression
 * pointers (it only skips names; it never needs their text). Fuzzed. */
#ifndef ST_NET_DNS_H
#define ST_NET_DNS_H

#include <stddef.h>
#include <stdint.h>

enum { ST_DNS_A = 1, ST_DNS_AAAA = 28, ST_DNS_SRV = 33 };

/* A query for name (dotted, no trailing dot needed) of type with id into buf (recursion
 * desired). Returns its size, or ST_EINVAL (an empty label, a label over 63 bytes, a name
 * over 253) or ST_ETOOLARGE (cap too small). */
long st_dns_query(uint16_t id, const char *name, uint16_t type, uint8_t *buf, size_t cap);

/* Read a response to query id of type: up to max addresses into addr (4 bytes used for A,
 * 16 for AAAA). Returns how many were found (0 for an empty answer or a "no such name"),
 * or ST_EMALFORMED (truncated, bad pointers, not a response, another id) or ST_EPROTO (the
 * server failed: an rcode other than 0 or 3). */
int st_dns_answers(const uint8_t *p, size_t n, uint16_t id, uint16_t type, uint8_t (*addr)[16],
                   int max);

/* One A, AAAA or SRV record of a response's answer or additional section (class IN). */
typedef struct st_dns_rr {
    uint16_t type;
    char name[256];   /* the owner, dotted, without the trailing dot */
    uint8_t addr[16]; /* A (4 bytes) / AAAA */
    uint16_t port;    /* SRV */
    char target[256]; /* SRV: the host, dotted */
} st_dns_rr;

/* Read the A, AAAA and SRV records of a response to query id, answers then additional
 * records (a server puts the addresses of SRV targets there), up to max. Names are
 * decompressed (at most 128 labels or pointers each). Returns how many, or as
 * st_dns_answers. */
int st_dns_records(const uint8_t *p, size_t n, uint16_t id, st_dns_rr *out, int max);

#endif
