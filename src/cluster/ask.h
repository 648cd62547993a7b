/* ask.h — the API's questions to every node of the cluster (ASK / ANSWER on the CONTROL
 * links, docs/cluster.md §3.3): "your listeners and their connections", later the clients,
 * subscriptions and metrics of issue 18. A question goes to every member with a live link;
 * each answers on its cluster thread with what the answerer function (the API's) makes of
 * it; the asker waits, up to a timeout, for all of them. Any thread asks; the cluster
 * thread sends, receives and answers. */
#ifndef ST_CLUSTER_ASK_H
#define ST_CLUSTER_ASK_H

#include "core/log.h"

#include <stddef.h>
#include <stdint.h>

typedef struct st_links st_links;
typedef struct st_asks st_asks;
typedef struct st_ask st_ask;

/* One node's answer: its name and the answerer's bytes (malloc'd). */
typedef struct st_answer {
    char node[256];
    char *body;
    size_t len;
} st_answer;

/* The answerer: what this node says to question `what` with argument arg: a malloc'd body
 * and its length in *len, or NULL for a question it does not know. Called on the asker's
 * thread for its own answer, on the cluster thread for other nodes'. */
typedef char *(*st_answer_fn)(void *ctx, uint8_t what, const char *arg, size_t arglen, size_t *len);

typedef struct st_asks_env {
    const st_log *log;
    st_links *links;
    void *ctx;
    int (*is_member)(void *ctx, const char *node); /* only members are asked */
} st_asks_env;

st_asks *st_asks_new(const st_asks_env *env); /* registers ASK and ANSWER with the links */
void st_asks_free(st_asks *a);
/* Set (or clear, fn NULL) the answerer; any thread. Once it returns, the old one is not
 * called any more. */
void st_asks_answerer(st_asks *a, st_answer_fn fn, void *ctx);
/* The cluster's own questions (what >= ST_ASK_OWN) go to fn instead, on the cluster thread;
 * set once, before the links run. */
#define ST_ASK_OWN 64
void st_asks_own(st_asks *a, st_answer_fn fn, void *ctx);

/* Any thread: a question, its answers to go to out (room for max); NULL when out of memory
 * (or arg is over 4 KiB). */
st_ask *st_ask_new(st_asks *a, uint8_t what, const char *arg, size_t arglen, st_answer *out,
                   size_t max, int64_t timeout_ms);
/* The asker, when the cluster thread is not there to send it: only this node answers. */
void st_ask_unsent(st_ask *q);
/* The cluster thread: send it to every member with a live link (st_ask_new's caller posts
 * it here). */
void st_asks_send(st_asks *a, st_ask *q, int64_t now);
/* The cluster thread: questions past their time are given up. */
void st_asks_tick(st_asks *a, int64_t now);
/* The cluster thread, at stop: every open question is given up. */
void st_asks_stop(st_asks *a);
/* The cluster thread as the asker (its own questions, sent with st_asks_send; it does not
 * answer itself): 1 once every node asked has answered or the time is up, with the count
 * of answers in *n; then st_ask_release. */
int st_ask_over(st_ask *q, size_t *n);
/* The asker lets go of q (over or not: answers stop going into its array). */
void st_ask_release(st_ask *q);
/* The asker: this node's own answer (the answerer, on this thread), then wait until every
 * node asked has answered or the time is up; returns how many answers are in out (in the
 * order they came). q is freed (st_answers_free frees the bodies). */
size_t st_ask_wait(st_asks *a, st_ask *q, const char *self);
void st_answers_free(st_answer *out, size_t n);

#endif
