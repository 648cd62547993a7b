/* alarm.h — this node's alarms (EMQX's model, docs/operations.md): a condition that needs an
 * operator is raised by name with a message and details, logged, listed by the API while it
 * lasts, and cleared when the condition ends; a cleared alarm stays in the history (the
 * newest ST_ALARM_HISTORY) until the API deletes it. Any thread. */
#ifndef ST_CORE_ALARM_H
#define ST_CORE_ALARM_H

#include "core/log.h"

#include <stddef.h>
#include <stdint.h>

#define ST_ALARM_HISTORY 1000

typedef struct st_alarms st_alarms;

typedef struct st_alarm {
    char name[64];
    char message[256];
    char details[512];        /* a JSON object */
    int64_t activate_at_ms;   /* wall clock */
    int64_t deactivate_at_ms; /* 0 while active */
} st_alarm;

st_alarms *st_alarms_new(const st_log *log);
void st_alarms_free(st_alarms *a);
/* name is active from now (logged once); raised again while active, its message and details
 * are updated. details: a JSON object, or NULL for {}. a may be NULL (nothing happens). */
void st_alarm_raise(st_alarms *a, const char *name, const char *message, const char *details);
/* name is no longer active (logged; into the history). 0, or -1 if it was not active. */
int st_alarm_clear(st_alarms *a, const char *name);
/* Copies of the active alarms (activated 1) or of the history (0), oldest first, at most max;
 * the count of them all. */
size_t st_alarms_list(st_alarms *a, int activated, st_alarm *out, size_t max);
/* Who hears of an alarm raised (active 1) or cleared (0): fn is called with the alarms' lock
 * held (so it returns at once and does not call back into a); after st_alarms_sink(a, NULL,
 * NULL) returns, no call is under way. */
typedef void (*st_alarm_sink)(void *ctx, const st_alarm *al, int active);
void st_alarms_sink(st_alarms *a, st_alarm_sink fn, void *ctx);
/* The history is forgotten. */
void st_alarms_forget_history(st_alarms *a);

#endif
