/* pool.h — the slow part of authentication off the event loops (docs/security.md §4): a
 * few low-priority threads run the chain for a CONNECT when it may meet a slow hash
 * (bcrypt, pbkdf2 with many rounds), and hand the result back through the job's done
 * function. A job is shared by its submitter and the pool (a reference each); the
 * submitter cancels it when its client goes away meanwhile. */
#ifndef ST_AUTH_POOL_H
#define ST_AUTH_POOL_H

#include "auth/auth.h"

#include <stdatomic.h>
#include <stddef.h>

typedef struct st_auth_job st_auth_job;
struct st_auth_job {
    st_auth_job *next;
    st_credentials cr; /* its strings are copies, in text */
    st_auth_result res;
    void (*done)(st_auth_job *j); /* the pool's thread, once res is set; takes the pool's
                                   * reference */
    void (*work)(st_auth *a, st_auth_job *j); /* other work than the chain (NULL: the chain) */
    void *ud;                                 /* the submitter's: extra bytes after text */
    atomic_int refs;
    atomic_int cancelled;
    size_t len;
    char text[];
};

/* A job for these credentials with `extra` bytes for the submitter (at j->ud), two
 * references; NULL when out of memory. */
st_auth_job *st_auth_job_new(const st_credentials *cr, size_t extra);
void st_auth_job_unref(st_auth_job *j); /* the last one frees it (the password wiped) */

/* The pool itself (auth.c owns it). */
typedef struct st_auth_pool st_auth_pool;
/* threads: how many (0: half the cores, at least one: the slow hashes' share of the CPU) */
st_auth_pool *st_auth_pool_new(st_auth *a, int threads);
int st_auth_pool_submit(st_auth_pool *p, st_auth_job *j);
void st_auth_pool_stop(st_auth_pool *p); /* joins the threads; later submits fail */
void st_auth_pool_free(st_auth_pool *p);

/* Does the chain need the pool (an enabled authenticator with a slow hash)? */
int st_auth_slow(const st_auth *a);
/* Run j on the pool: 0, or ST_EFULL (too many waiting: the caller refuses the client
 * with "server busy") / ST_ENOMEM. */
int st_auth_submit(st_auth *a, st_auth_job *j);
/* Stop the pool's threads (before the submitters' memory goes; st_auth_submit fails from
 * then on): jobs not run yet lose the pool's reference and are never done. */
void st_auth_stop(st_auth *a);

#endif
