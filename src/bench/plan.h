/* plan.h — private to src/bench: who should receive whom. Computed once, before any
 * process forks, from the configuration alone: every subscriber's filter is matched against
 * every publisher's topic (MQTT wildcard rules), and subscribers whose filter is the same
 * $share/<group>/... string form one shared-subscription group. The result is a list of
 * (subscriber, publisher) pairs — each pair is one sequence stream the subscriber checks —
 * kept sorted by publisher id per subscriber so a delivery finds its pair by binary search. */
#ifndef ST_BENCH_PLAN_H
#define ST_BENCH_PLAN_H

#include "bench/opts.h"

#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_PAIRS 50000000u

typedef struct bench_plan {
    int tracked; /* 0: no publishers in this run, so nothing to check streams against */
    uint32_t nsubs, npubs;
    uint32_t npairs;
    uint32_t *sub_first; /* [nsubs + 1]: pairs of subscriber s are [sub_first[s], [s+1]) */
    int32_t *sub_group;  /* [nsubs]: shared group id, or -1 */
    uint32_t ngroups;
    uint32_t *pair_pub; /* [npairs]: publisher id of each pair */
} bench_plan;

/* Build the plan for cfg (pubsub only; other scenarios get an untracked plan).
 * 0, or ST_ENOMEM / ST_EFULL / ST_EINVAL with a message in err. */
int bench_plan_build(const bench_cfg *cfg, bench_plan *plan, char *err, size_t errlen);
void bench_plan_free(bench_plan *plan);

/* MQTT matching of a topic name against a filter (no $share prefix). 1 on a match. */
int bench_topic_match(const char *filter, const char *topic);

/* The part of a filter that is matched: after "$share/<group>/" or "$queue/". Sets
 * *shared to 1 when the filter is a shared subscription. */
const char *bench_filter_body(const char *filter, int *shared);

#endif
