/* clock.h — monotonic and wall-clock time in milliseconds. */
#ifndef ST_CLOCK_H
#define ST_CLOCK_H

#include <stdint.h>

int64_t st_now_ms(void);  /* CLOCK_MONOTONIC */
int64_t st_wall_ms(void); /* CLOCK_REALTIME */

#endif
