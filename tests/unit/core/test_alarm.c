/* test_alarm.c — this node's alarms: raised once (raised again: its message updated), listed
 * oldest first, cleared into the history (at most ST_ALARM_HISTORY, the oldest dropped),
 * the history forgotten; a NULL table does nothing. */
#include "test.h"
#include "core/alarm.h"

#include <stdio.h>
#include <stdlib.h>

static const st_log *quiet(void)
{
    static const st_log lg = {ST_LOG_CRITICAL + 1, -1, -1};
    return &lg;
}

static void test_raise_list_clear_forget(void)
{
    st_alarms *a = st_alarms_new(quiet());
    st_alarm v[4];
    st_alarm_raise(a, "durable_storage_full", "full", "{\"path\":\"/d\"}");
    st_alarm_raise(a, "node_down", "n2 is down", NULL);
    st_alarm_raise(a, "durable_storage_full", "still full", "{\"path\":\"/e\"}");
    CHECK_EQ(st_alarms_list(a, 1, v, 4), 2);
    CHECK_STR(v[0].name, "durable_storage_full");
    CHECK_STR(v[0].message, "still full");
    CHECK_STR(v[0].details, "{\"path\":\"/e\"}");
    CHECK_STR(v[1].details, "{}");
    CHECK(v[0].activate_at_ms > 0 && v[0].deactivate_at_ms == 0);
    CHECK_EQ(st_alarms_list(a, 1, v, 1), 2); /* the count of all, one copied */
    CHECK_EQ(st_alarm_clear(a, "durable_storage_full"), 0);
    CHECK_EQ(st_alarm_clear(a, "durable_storage_full"), -1); /* not active any more */
    CHECK_EQ(st_alarms_list(a, 1, v, 4), 1);
    CHECK_STR(v[0].name, "node_down");
    CHECK_EQ(st_alarms_list(a, 0, v, 4), 1);
    CHECK_STR(v[0].name, "durable_storage_full");
    CHECK(v[0].deactivate_at_ms >= v[0].activate_at_ms);
    st_alarms_forget_history(a);
    CHECK_EQ(st_alarms_list(a, 0, v, 4), 0);
    CHECK_EQ(st_alarms_list(a, 1, v, 4), 1);
    st_alarms_free(a);
}

static void test_the_history_keeps_the_newest(void)
{
    st_alarms *a = st_alarms_new(quiet());
    char name[32];
    for (int i = 0; i < ST_ALARM_HISTORY + 5; i++) {
        snprintf(name, sizeof name, "a%d", i);
        st_alarm_raise(a, name, "m", NULL);
        CHECK_EQ(st_alarm_clear(a, name), 0);
    }
    st_alarm *v = calloc(ST_ALARM_HISTORY, sizeof *v);
    CHECK_EQ(st_alarms_list(a, 0, v, ST_ALARM_HISTORY), ST_ALARM_HISTORY);
    CHECK_STR(v[0].name, "a5");
    CHECK_STR(v[ST_ALARM_HISTORY - 1].name, "a1004");
    free(v);
    st_alarms_free(a);
}

static void test_no_table_does_nothing(void)
{
    st_alarm_raise(NULL, "x", "y", NULL);
    CHECK_EQ(st_alarm_clear(NULL, "x"), -1);
    CHECK_EQ(st_alarms_list(NULL, 1, NULL, 0), 0);
    st_alarms_forget_history(NULL);
    st_alarms_free(NULL);
}

int main(void)
{
    RUN(test_raise_list_clear_forget);
    RUN(test_the_history_keeps_the_newest);
    RUN(test_no_table_does_nothing);
    return TEST_END();
}
