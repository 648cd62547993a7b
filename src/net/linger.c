/* linger.c — lingering close (linger.h). One record per lingering socket, on a list the
 * owner's tick walks; the loop reports input, which is read and dropped. */
#include "net/linger.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct st_linger {
    st_io io;
    st_linger_set *set;
    int64_t until;
    size_t left; /* bytes still to be discarded */
    st_linger *prev, *next;
};

void st_linger_init(st_linger_set *s, st_loop *loop)
{
    s->loop = loop;
    s->head = NULL;
    s->n = 0;
}

static void finish(st_linger *l)
{
    st_linger_set *s = l->set;
    st_loop_del(s->loop, &l->io);
    close(l->io.fd);
    if (l->prev)
        l->prev->next = l->next;
    else
        s->head = l->next;
    if (l->next) l->next->prev = l->prev;
    s->n--;
    free(l);
}

/* Read and drop what is there: 1 when the lingering is over (EOF, error, or enough). */
static int drain(int fd, size_t *left)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
            if ((size_t)r >= *left) return 1;
            *left -= (size_t)r;
            continue;
        }
        return !(r < 0 && (errno == EAGAIN || errno == EINTR));
    }
}

static void on_io(st_io *io, uint32_t events)
{
    st_linger *l = io->ud;
    (void)events;
    if (drain(io->fd, &l->left)) finish(l);
}

void st_linger_close(st_linger_set *s, int fd, int64_t now)
{
    size_t left = ST_LINGER_BYTES;
    if (shutdown(fd, SHUT_WR) < 0 || s->n >= ST_LINGER_MAX || drain(fd, &left)) {
        close(fd);
        return;
    }
    st_linger *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return;
    }
    l->io = (st_io){.fd = fd, .cb = on_io, .ud = l};
    l->set = s;
    l->until = now + ST_LINGER_MS;
    l->left = left;
    if (st_loop_add(s->loop, &l->io, EPOLLIN | EPOLLRDHUP) < 0) {
        close(fd);
        free(l);
        return;
    }
    l->next = s->head;
    if (s->head) s->head->prev = l;
    s->head = l;
    s->n++;
}

void st_linger_tick(st_linger_set *s, int64_t now)
{
    st_linger *next;
    for (st_linger *l = s->head; l; l = next) {
        next = l->next;
        if (now >= l->until) finish(l);
    }
}

void st_linger_free(st_linger_set *s)
{
    while (s->head)
        finish(s->head);
}
