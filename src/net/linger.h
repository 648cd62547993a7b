/* linger.h — lingering close (as nginx's): a connection the server ends while the peer may
 * still be writing (a DISCONNECT with a reason, a refused CONNECT) is not close()d with
 * unread input, which makes the kernel send a reset that can destroy the reason before
 * the peer reads it. Instead: shutdown(SHUT_WR) (the peer reads our last bytes, then EOF),
 * then read and discard until the peer closes, ST_LINGER_MS pass or ST_LINGER_BYTES were
 * discarded, and only then close. Bounded: at most ST_LINGER_MAX sockets linger per set
 * (past that they are closed at once); each costs one small record. */
#ifndef ST_NET_LINGER_H
#define ST_NET_LINGER_H

#include "core/loop.h"

#include <stdint.h>

#define ST_LINGER_MS 2000
#define ST_LINGER_BYTES (256 * 1024)
#define ST_LINGER_MAX 1024

typedef struct st_linger st_linger;

typedef struct st_linger_set {
    st_loop *loop;
    st_linger *head;
    uint32_t n;
} st_linger_set;

void st_linger_init(st_linger_set *s, st_loop *loop);
/* Take fd over (not registered with the loop): linger on it, or close it now. */
void st_linger_close(st_linger_set *s, int fd, int64_t now);
/* Close those past their time. */
void st_linger_tick(st_linger_set *s, int64_t now);
/* Close all (the loop is going away). */
void st_linger_free(st_linger_set *s);

#endif
