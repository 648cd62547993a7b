/* call.h — a function run on the workers for another thread (the API's questions about
 * clients and sessions, which only their worker may read): posted to each worker's inbox
 * (ST_IM_CALL), run there between two events, its result left in that worker's slot. The
 * caller waits a bounded time; a worker that answers late still runs it, and the call is
 * freed by whoever is last (the caller's release or the last worker). */
#ifndef ST_BROKER_CALL_H
#define ST_BROKER_CALL_H

#include "broker/worker.h"

#include <stddef.h>
#include <stdint.h>

typedef struct st_call st_call;
/* On worker w: its answer to arg (a malloc'd result, or NULL). */
typedef void *(*st_call_fn)(st_worker *w, const void *arg);

/* Post fn to worker `only`, or to every worker (only -1); arg (len bytes) is copied.
 * free_result frees a result nobody took; free_arg (NULL: nothing) is called with the copy of
 * arg when the call is freed (after every worker ran it or dropped it): what arg refers to
 * stays valid for the workers however late they run. NULL: out of memory (free_arg is not
 * called). */
st_call *st_call_post(st_broker *b, int only, st_call_fn fn, const void *arg, size_t len,
                      void (*free_result)(void *), void (*free_arg)(void *));
/* Wait until every worker posted to has run it, or timeout_ms: 1 all answered, 0 not. */
int st_call_wait(st_call *c, int64_t timeout_ms);
/* Worker i's result, taken (the caller frees it); NULL: none, or it has not run. */
void *st_call_take(st_call *c, int i);
/* The caller is done with it (results not taken are freed). */
void st_call_release(st_call *c);

/* fn on worker w alone (arg copied, as st_call_post), waited for: its result (the caller
 * frees it with free_result's kind), NULL with *rc = 0 when fn returned NULL, or NULL with *rc
 * ST_ENOMEM / ST_EAGAIN (the worker did not run it within timeout_ms; it still will). */
void *st_call_one(st_broker *b, int w, st_call_fn fn, const void *arg, size_t len,
                  void (*free_result)(void *), void (*free_arg)(void *), int64_t timeout_ms,
                  int *rc);

/* A call whose work is long (a pass over every session) runs in slices: fn returns
 * ST_CALL_AGAIN to be run again once the worker has handled the events that came meanwhile,
 * and keeps what it has done in *st_call_state(w) (NULL at its first run; its final result
 * is returned as usual; a state left when the call is dropped is freed with free_result). */
extern const char st_call_again;
#define ST_CALL_AGAIN ((void *)&st_call_again)
void **st_call_state(st_worker *w);

/* The worker side (worker.c, for ST_IM_CALL): run it (1: it asks to run again later: the
 * worker keeps the item in w->later), or (the worker is gone) drop it. */
int st_call_run(st_worker *w, void *call);
void st_call_drop(st_worker *w, void *call);

#endif
