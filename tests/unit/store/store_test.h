/* store_test.h — what the store's tests share: a config in the test's temporary directory, a
 * silent log, and waiting for a ticket to settle. */
#ifndef ST_TEST_STORE_TEST_H
#define ST_TEST_STORE_TEST_H

#include "store/store.h"

#include <stdio.h>
#include <time.h>

extern char store_test_root[256]; /* the test's temporary directory */

static inline st_store_cfg cfg_of(const char *name, int64_t interval)
{
    st_store_cfg c = {0};
    snprintf(c.dir, sizeof c.dir, "%s/%s", store_test_root, name);
    snprintf(c.node, sizeof c.node, "starling@127.0.0.1");
    c.sync_interval_ms = interval;
    c.max_bytes = 64u << 20;
    c.retry_ms = 50;
    return c;
}

static inline const st_log *quiet(void)
{
    static const st_log lg = {ST_LOG_CRITICAL + 1, -1, -1};
    return &lg;
}

static inline void pause_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* Wait (up to 10 s) until ticket t is durable or failed: 1 durable, -1 failed, 0 neither. */
static inline int settle(st_store *s, uint64_t t)
{
    for (int i = 0; i < 10000; i++) {
        if (t <= st_store_durable(s)) return 1;
        if (t <= st_store_failed(s)) return -1;
        pause_ms(1);
    }
    return 0;
}

#endif
