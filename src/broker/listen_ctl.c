/* listen_ctl.c — listeners stopped and started at run time (listen_ctl.h). */
#include "broker/listen_ctl.h"
#include "broker/call.h"
#include "broker/client.h"
#include "core/err.h"
#include "net/listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS_MS 5000

typedef struct op {
    int li, fd; /* start: this worker's socket (the call goes to one worker) */
} op;

static void *stop_on(st_worker *w, const void *arg)
{
    const op *o = arg;
    st_io *io = &w->lio[o->li];
    if (io->fd >= 0) {
        st_loop_del(w->loop, io);
        close(io->fd);
        io->fd = -1;
    }
    w->rate[o->li].paused = 0;
    st_client *next;
    for (st_client *c = w->clients; c; c = next) {
        next = c->next;
        if (c->listener != o->li) continue;
        if (c->state == ST_CS_CONNECTED)
            st_client_disconnect(c, MQTT_RC_SERVER_SHUTTING_DOWN, 1);
        else
            st_client_close(c, 0);
    }
    return NULL;
}

static void *start_on(st_worker *w, const void *arg)
{
    const op *o = arg;
    if (st_worker_listen(w, o->li, o->fd) < 0) close(o->fd);
    return NULL;
}

static int wait_done(st_call *c)
{
    if (!c) return ST_ENOMEM;
    int all = st_call_wait(c, WORKERS_MS);
    st_call_release(c);
    return all ? 0 : ST_EAGAIN;
}

static int start(st_broker *b, int li, char *err, size_t errlen)
{
    const char *bind = b->cfg.listeners[li].bind;
    int rc = st_listen_probe(bind, err, errlen);
    for (int i = 0; rc == 0 && i < b->nw; i++) {
        op o = {li, st_listen_tcp(bind, 1, 4096, err, errlen)};
        if (o.fd < 0) {
            rc = o.fd;
            break;
        }
        rc = wait_done(st_call_post(b, i, start_on, &o, sizeof o, NULL, NULL));
        if (rc < 0) snprintf(err, errlen, "worker %d did not answer", i);
    }
    return rc;
}

int st_listener_set(st_broker *b, int li, int on, char *err, size_t errlen)
{
    if (li < 0 || li >= b->cfg.n_listeners) return ST_EINVAL;
    if (st_listener_running(b, li) == on) return 0;
    const st_listener_conf *l = &b->cfg.listeners[li];
    op o = {li, -1};
    int rc = on ? start(b, li, err, errlen)
                : wait_done(st_call_post(b, -1, stop_on, &o, sizeof o, NULL, NULL));
    if (rc < 0 && !on) snprintf(err, errlen, "a worker did not answer");
    if (rc < 0 && on) /* what did open closes again: all or nothing */
        wait_done(st_call_post(b, -1, stop_on, &o, sizeof o, NULL, NULL));
    if (rc == 0) atomic_store(&b->listener_stopped[li], !on);
    if (rc == 0)
        LOG_NOTICE(b->log, "listener %s:%s on %s %s", st_listener_type(l), l->name, l->bind,
                   on ? "started" : "stopped");
    return rc;
}

int st_listener_running(const st_broker *b, int li)
{
    return li >= 0 && li < b->cfg.n_listeners && !atomic_load(&b->listener_stopped[li]);
}
