/* clock.h — monotonic and wall-clock time in milliseconds. */
#ifndef ST_CLOCK_H
#define ST_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

int64_t st_now_ms(void);  /* CLOCK_MONOTONIC */
int64_t st_wall_ms(void); /* CLOCK_REALTIME */

/* A condition variable whose timed waits count on CLOCK_MONOTONIC (a wall clock set back or
 * forward does not stretch or cut them). 0 or an errno. */
int st_cond_init_mono(pthread_cond_t *cv);
/* ms from now on CLOCK_MONOTONIC, for pthread_cond_timedwait on such a variable. */
struct timespec st_clock_deadline(int64_t ms);

#endif
