/* test_regex.c — PCRE's forms (what EMQX users write) against the answers PCRE gives, and
 * the forms POSIX cannot take refused. */
#include "test.h"
#include "core/regex.h"

static int matches(const char *re, const char *s)
{
    regex_t r;
    if (st_regcomp(&r, re) != 0) return -1;
    int m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

static void test_pcre_forms(void)
{
    static const struct {
        const char *re, *s;
        int want;
    } cases[] = {
        {"^dev_\\d+$", "dev_42", 1},
        {"^dev_\\d+$", "dev_4x", 0},
        {"^\\w+$", "a_B9", 1},
        {"^\\w+$", "a-b", 0},
        {"^a\\sb$", "a b", 1},
        {"^a\\Sb$", "a b", 0},
        {"^\\D+$", "abc", 1},
        {"^\\D+$", "ab1", 0},
        {"^\\W$", "-", 1},
        {"^[\\w-]+$", "a-b_c", 1},
        {"^[\\d.]+$", "10.0.0.1", 1},
        {"^[\\d.]+$", "10.0.0.x", 0},
        {"\\Asensor\\z", "sensor", 1},
        {"\\Asensor\\Z", "sensors", 0},
        {"^(?:ab)+$", "abab", 1},
        {"^a.*?b$", "axxb", 1},
        {"^a+?$", "aaa", 1},
        {"^a{2,3}?$", "aaa", 1},
        {"^x\\.y$", "x.y", 1},
        {"^x\\.y$", "xzy", 0},
        {"^[[:alpha:]]+$", "abc", 1},
        {"^[]a]$", "]", 1},
        {"^a\\??$", "a?", 1},
        {"^a\\??$", "a", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = matches(cases[i].re, cases[i].s);
        CHECK_EQ(got, cases[i].want);
        if (got != cases[i].want) printf("  %s on %s\n", cases[i].re, cases[i].s);
    }
}

static void test_refused(void)
{
    regex_t r;
    CHECK(st_regcomp(&r, "^(a") != 0);
    CHECK(st_regcomp(&r, "^[a") != 0);
}

int main(void)
{
    RUN(test_pcre_forms);
    RUN(test_refused);
    return TEST_END();
}
