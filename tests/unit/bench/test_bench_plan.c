/* test_bench_plan.c — the command line, topic templates, MQTT topic matching, and the
 * delivery plan (which subscriber checks which publisher's stream, shared groups). */
#include "bench/opts.h"
#include "bench/plan.h"
#include "core/err.h"
#include "test.h"

static int parse(bench_cfg *cfg, int argc, char **argv)
{
    char err[256];
    return bench_opts_parse(argc, argv, cfg, err, sizeof err);
}

static void test_opts(void)
{
    bench_cfg cfg;
    char *a1[] = {
        "bench",  "pubsub", "--pubs", "200",        "--subs=100", "-t",
        "p2p/%i", "-q",     "1",      "--inflight", "10",         "-s",
        "16",     "-d",     "2.5",    "--json",     "--ifaddr",   "127.0.0.2-127.0.0.4,127.0.0.9"};
    CHECK_EQ(parse(&cfg, 18, a1), 0);
    CHECK_EQ(cfg.scenario, BENCH_PUBSUB);
    CHECK_EQ(cfg.pubs, 200);
    CHECK_EQ(cfg.subs, 100);
    CHECK_STR(cfg.sub_topic, "p2p/%i"); /* defaults to the publish topic */
    CHECK_EQ(cfg.sub_qos, 1);
    CHECK_EQ(cfg.json, 1);
    CHECK_EQ(cfg.n_ifaddrs, 4);
    CHECK(cfg.duration_s == 2.5);
    char *a2[] = {"bench", "conn", "-c", "20"};
    CHECK_EQ(parse(&cfg, 4, a2), 0);
    CHECK_EQ(cfg.subs, 20);
    CHECK_EQ(cfg.pubs, 0);
    CHECK(cfg.sub_topic == NULL);
    char *a3[] = {"bench", "pub", "-n", "100"};
    CHECK_EQ(parse(&cfg, 4, a3), 0);
    CHECK(cfg.duration_s < 0); /* a count without a duration runs until done */
    char *bad[][4] = {{"bench", "pub", "-s", "8"},
                      {"bench", "pub", "-q", "3"},
                      {"bench", "nope", "-c", "1"},
                      {"bench", "pub", "--pubs", "2"},
                      {"bench", "sub", "--what", "1"}};
    for (int i = 0; i < 5; i++)
        CHECK_EQ(parse(&cfg, 4, bad[i]), ST_EINVAL);
}

static void test_expand(void)
{
    char buf[64];
    CHECK_EQ(bench_expand("a/%i/%c/%%", 42, "cid", buf, sizeof buf), 10);
    CHECK_STR(buf, "a/42/cid/%");
    CHECK_EQ(bench_expand("abcdef", 0, "", buf, 6), -1);
    CHECK_EQ(bench_expand("abcde", 0, "", buf, 6), 5);
}

static void test_match(void)
{
    CHECK(bench_topic_match("a/b", "a/b"));
    CHECK(!bench_topic_match("a/b", "a/bc"));
    CHECK(bench_topic_match("a/+", "a/b"));
    CHECK(bench_topic_match("a/+", "a/"));
    CHECK(!bench_topic_match("a/+", "a/b/c"));
    CHECK(bench_topic_match("a/#", "a"));
    CHECK(bench_topic_match("a/#", "a/b/c"));
    CHECK(bench_topic_match("#", "x/y"));
    CHECK(!bench_topic_match("#", "$SYS/x"));
    CHECK(!bench_topic_match("+/x", "$SYS/x"));
    CHECK(bench_topic_match("+/+/c", "a/b/c"));
    CHECK(!bench_topic_match("a/b/c", "a/b"));
    int shared;
    CHECK_STR(bench_filter_body("$share/g/t/#", &shared), "t/#");
    CHECK_EQ(shared, 1);
    CHECK_STR(bench_filter_body("$queue/t", &shared), "t");
    CHECK_EQ(shared, 1);
    CHECK_STR(bench_filter_body("t/#", &shared), "t/#");
    CHECK_EQ(shared, 0);
}

static int build(bench_plan *plan, int argc, char **argv)
{
    bench_cfg cfg;
    char err[256];
    if (parse(&cfg, argc, argv) != 0) return -1;
    return bench_plan_build(&cfg, plan, err, sizeof err);
}

static void test_plan(void)
{
    bench_plan p;
    char *p2p[] = {"bench", "pubsub", "--pubs", "200", "--subs", "200", "-t", "p2p/%i"};
    CHECK_EQ(build(&p, 8, p2p), 0);
    CHECK_EQ(p.npairs, 200);
    CHECK_EQ(p.pair_pub[p.sub_first[17]], 17);
    CHECK_EQ(p.sub_group[17], -1);
    bench_plan_free(&p);

    char *fan[] = {"bench", "pubsub", "--pubs", "5",           "--subs",
                   "100",   "-t",     "f/%i",   "--sub-topic", "f/+"};
    CHECK_EQ(build(&p, 10, fan), 0);
    CHECK_EQ(p.npairs, 500);
    CHECK_EQ(p.sub_first[3], 15);
    for (uint32_t i = 0; i < 5; i++)
        CHECK_EQ(p.pair_pub[p.sub_first[99] + i], i); /* sorted by publisher */
    bench_plan_free(&p);

    char *shr[] = {"bench", "pubsub", "--pubs", "20",          "--subs",
                   "10",    "-t",     "s/%i",   "--sub-topic", "$share/g%i/s/#"};
    CHECK_EQ(build(&p, 10, shr), 0);
    CHECK_EQ(p.ngroups, 10); /* %i in the group name: one group per subscriber */
    bench_plan_free(&p);
    shr[9] = "$share/g/s/#";
    CHECK_EQ(build(&p, 10, shr), 0);
    CHECK_EQ(p.ngroups, 1);
    CHECK_EQ(p.sub_group[9], 0);
    CHECK_EQ(p.npairs, 200);
    bench_plan_free(&p);

    char *none[] = {"bench", "pubsub", "--pubs", "3",           "--subs",
                    "2",     "-t",     "a",      "--sub-topic", "b/#"};
    CHECK_EQ(build(&p, 10, none), 0);
    CHECK_EQ(p.npairs, 0);
    bench_plan_free(&p);

    char *sub[] = {"bench", "sub", "-c", "5"};
    CHECK_EQ(build(&p, 4, sub), 0);
    CHECK_EQ(p.tracked, 0);
    bench_plan_free(&p);
}

int main(void)
{
    RUN(test_opts);
    RUN(test_expand);
    RUN(test_match);
    RUN(test_plan);
    return TEST_END();
}
