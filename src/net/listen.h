/* listen.h — opening listening sockets from EMQX-style bind strings. */
#ifndef ST_LISTEN_H
#define ST_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* Parse "host:port", "[v6]:port", ":port" or "port" into a sockaddr. 0 or ST_EINVAL. */
int st_parse_bind(const char *bind, struct sockaddr_storage *ss, socklen_t *len);
/* Open a non-blocking listening TCP socket. reuseport: set SO_REUSEPORT so every worker
 * can hold its own socket on the same address. Returns the fd, or a negative ST_E* with a
 * message in err. */
int st_listen_tcp(const char *bind, int reuseport, int backlog, char *err, size_t errlen);
/* Check that nobody listens on addr yet, by binding it without SO_REUSEPORT: another
 * process (a second broker) could otherwise join our SO_REUSEPORT group and silently take
 * a share of the connections. 0, or <0 with a message in err ("Address already in use"). */
int st_listen_probe(const char *addr, char *err, size_t errlen);
/* "ip:port" of a connected socket's peer into buf. */
void st_peer_name(int fd, char *buf, size_t len);

#endif
