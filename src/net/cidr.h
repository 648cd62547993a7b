/* cidr.h — address ranges ("10.0.0.0/8", "fd00::/8", a bare address, "all") for the
 * listeners' access_rules and the peerhost_net bans. */
#ifndef ST_NET_CIDR_H
#define ST_NET_CIDR_H

#include <stdint.h>
#include <sys/socket.h>

typedef struct st_cidr {
    uint8_t net[16];
    uint8_t bits, v6, all;
} st_cidr;

/* 0, or -1 when s is none of the forms. */
int st_cidr_parse(const char *s, st_cidr *out);
/* Is the address (a socket address, or its text) in the range? */
int st_cidr_match(const st_cidr *c, const struct sockaddr *sa);
int st_cidr_match_text(const st_cidr *c, const char *ip);

#endif
