/* pool.c — authentication threads (pool.h). */
#include "auth/pool.h"
#include "core/err.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POOL_THREADS_MAX 8
#define POOL_QUEUE_MAX 10000

struct st_auth_pool {
    st_auth *a;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    st_auth_job *head, *tail;
    size_t queued;
    int stopping, nthreads;
    pthread_t th[POOL_THREADS_MAX];
};

st_auth_job *st_auth_job_new(const st_credentials *cr, size_t extra)
{
    size_t hl = cr->peerhost ? strlen(cr->peerhost) : 0;
    size_t ll = cr->listener ? strlen(cr->listener) : 0, cl = cr->cn ? strlen(cr->cn) : 0;
    size_t len =
        (cr->cidlen + cr->ulen + cr->plen + hl + ll + cl + 6 + 15) & ~(size_t)15; /* aligned */
    st_auth_job *j = calloc(1, sizeof *j + len + extra);
    if (!j) return NULL;
    char *p = j->text;
    j->cr = *cr;
    j->len = len;
    j->cr.clientid = memcpy(p, cr->clientid ? cr->clientid : "", cr->cidlen);
    p += cr->cidlen + 1;
    j->cr.username = cr->username ? memcpy(p, cr->username, cr->ulen) : NULL;
    p += cr->ulen + 1;
    j->cr.password = cr->password ? memcpy(p, cr->password, cr->plen) : NULL;
    p += cr->plen + 1;
    j->cr.peerhost = cr->peerhost ? memcpy(p, cr->peerhost, hl + 1) : NULL;
    p += hl + 1;
    j->cr.listener = cr->listener ? memcpy(p, cr->listener, ll + 1) : NULL;
    p += ll + 1;
    j->cr.cn = cr->cn ? memcpy(p, cr->cn, cl + 1) : NULL;
    j->ud = j->text + len;
    atomic_init(&j->refs, 2);
    atomic_init(&j->cancelled, 0);
    return j;
}

void st_auth_job_unref(st_auth_job *j)
{
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
    st_acl_free(j->res.own.acl); /* not taken: its client went away */
    OPENSSL_cleanse(j->text, j->len);
    free(j);
}

static void *run(void *arg)
{
    st_auth_pool *p = arg;
    /* below the workers: a storm of logins must not slow the clients already in */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping) break;
        st_auth_job *j = p->head;
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        if (atomic_load(&j->cancelled))
            st_auth_job_unref(j);
        else {
            if (j->work)
                j->work(p->a, j);
            else
                st_auth_check(p->a, &j->cr, &j->res);
            j->done(j);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

st_auth_pool *st_auth_pool_new(st_auth *a, int threads)
{
    st_auth_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->a = a;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = threads > 0 ? threads : cores > 2 ? (int)(cores / 2) : 1;
    if (n > POOL_THREADS_MAX) n = POOL_THREADS_MAX;
    for (int i = 0; i < n; i++)
        if (pthread_create(&p->th[p->nthreads], NULL, run, p) == 0) p->nthreads++;
    if (!p->nthreads) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return NULL;
    }
    return p;
}

int st_auth_pool_submit(st_auth_pool *p, st_auth_job *j)
{
    pthread_mutex_lock(&p->mu);
    int full = p->stopping || p->queued >= POOL_QUEUE_MAX;
    if (!full) {
        j->next = NULL;
        if (p->tail)
            p->tail->next = j;
        else
            p->head = j;
        p->tail = j;
        p->queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return full ? ST_EFULL : 0;
}

void st_auth_pool_stop(st_auth_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    int was = p->stopping;
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (was) return;
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_lock(&p->mu);
    while (p->head) {
        st_auth_job *j = p->head;
        p->head = j->next;
        st_auth_job_unref(j);
    }
    p->tail = NULL;
    pthread_mutex_unlock(&p->mu);
}

void st_auth_pool_free(st_auth_pool *p)
{
    if (!p) return;
    st_auth_pool_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
