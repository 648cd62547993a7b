/* test_acl.c — acl.conf: EMQX's shipped file loads unchanged and decides as EMQX does; each
 * Who, Action option and Topic form; placeholders; the topic match's $ rule; errors name the
 * file and line. */
#include "test.h"
#include "auth/acl.h"

#include <stdlib.h>
#include <string.h>

#define PUB ST_ACL_PUBLISH
#define SUB ST_ACL_SUBSCRIBE

static st_acl *parse(const char *text)
{
    char err[256];
    st_acl *a = st_acl_parse(text, strlen(text), "acl.conf", err, sizeof err);
    if (!a) fprintf(stderr, "parse: %s\n", err);
    return a;
}

static int check(const st_acl *a, const st_acl_who *w, int action, const char *topic, int qos,
                 int retain)
{
    st_acl_list *l = st_acl_compile(a, w);
    int r = l ? st_acl_check(l, action, topic, strlen(topic), qos, retain) : -1;
    st_acl_list_free(l);
    return r;
}

static void test_emqx_default_file(void)
{
    char err[256];
    st_acl *a = st_acl_load("../../../etc/acl.conf", err, sizeof err);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_EQ(st_acl_count(a), 4);
    st_acl_who local = {"c1", NULL, "127.0.0.1", NULL};
    st_acl_who remote = {"c2", "bob", "10.1.2.3", NULL};
    st_acl_who dash = {"c3", "dashboard", "10.1.2.3", NULL};
    CHECK_EQ(check(a, &local, SUB, "#", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &local, SUB, "$SYS/brokers", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &remote, SUB, "#", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &remote, SUB, "+/#", 1, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &remote, SUB, "$SYS/#", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &remote, SUB, "a/#", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &remote, PUB, "$SYS/x", 0, 0), ST_ACL_ALLOW); /* only subscribe denied */
    CHECK_EQ(check(a, &dash, SUB, "$SYS/#", 0, 0), ST_ACL_ALLOW);
    st_acl_free(a);
}

static void test_who(void)
{
    st_acl *a = parse("{allow, {username, \"u1\"}, publish, [\"u\"]}.\n"
                      "{allow, {user, {re, \"^ad\"}}, publish, [\"re\"]}.\n"
                      "{allow, {clientid, \"c1\"}, publish, [\"c\"]}.\n"
                      "{allow, {client, {re, \"-x$\"}}, publish, [\"cre\"]}.\n"
                      "{allow, {ipaddr, \"10.0.0.0/8\"}, publish, [\"net\"]}.\n"
                      "{allow, {ipaddrs, [\"192.168.1.7\", \"fd00::/8\"]}, publish, [\"nets\"]}.\n"
                      "{allow, {'and', [{username, \"u1\"}, {clientid, \"c1\"}]}, publish, "
                      "[\"and\"]}.\n"
                      "{allow, {'or', [{username, \"zz\"}, {clientid, \"c1\"}]}, publish, "
                      "[\"or\"]}.\n"
                      "{allow, {client_attr, \"group\", \"g\"}, publish, [\"attr\"]}.\n"
                      "{deny, all}.\n");
    CHECK(a != NULL);
    if (!a) return;
    st_acl_who u1c1 = {"c1", "u1", "10.9.9.9", NULL};
    st_acl_who admin = {"a-x", "admin", "192.168.1.7", NULL};
    st_acl_who none = {"q", NULL, "::ffff:10.1.1.1", NULL};
    st_acl_who v6 = {"q", NULL, "fd12::1", NULL};
    CHECK_EQ(check(a, &u1c1, PUB, "u", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &admin, PUB, "u", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &admin, PUB, "re", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &u1c1, PUB, "re", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &none, PUB, "u", 0, 0), ST_ACL_DENY); /* no username: never matches */
    CHECK_EQ(check(a, &u1c1, PUB, "c", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &admin, PUB, "cre", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &u1c1, PUB, "net", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &none, PUB, "net", 0, 0), ST_ACL_ALLOW); /* a v4-mapped address */
    CHECK_EQ(check(a, &admin, PUB, "net", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &admin, PUB, "nets", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &v6, PUB, "nets", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &u1c1, PUB, "nets", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &u1c1, PUB, "and", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &admin, PUB, "and", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &u1c1, PUB, "or", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &admin, PUB, "attr", 0, 0), ST_ACL_DENY); /* no attributes here */
    st_acl_list *l = st_acl_compile(a, &u1c1);
    CHECK_EQ(st_acl_list_count(l), 6); /* u, c, net, and, or, {deny, all} */
    st_acl_list_free(l);
    st_acl_free(a);
}

static void test_actions_and_options(void)
{
    st_acl *a = parse("{deny, all, {publish, [{qos, [1, 2]}, {retain, true}]}, [\"x\"]}.\n"
                      "{deny, all, {subscribe, [{qos, 2}]}, [\"x\"]}.\n"
                      "{allow, all, all, [\"x\"]}.\n"
                      "{deny, all, subscribe, all}.\n");
    CHECK(a != NULL);
    if (!a) return;
    st_acl_who w = {"c", "u", "1.2.3.4", NULL};
    CHECK_EQ(check(a, &w, PUB, "x", 1, 1), ST_ACL_DENY);
    CHECK_EQ(check(a, &w, PUB, "x", 1, 0), ST_ACL_ALLOW); /* not retained */
    CHECK_EQ(check(a, &w, PUB, "x", 0, 1), ST_ACL_ALLOW); /* QoS 0 */
    CHECK_EQ(check(a, &w, SUB, "x", 2, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &w, SUB, "x", 1, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &w, SUB, "$SYS/y", 0, 0), ST_ACL_DENY); /* all: also $ topics */
    CHECK_EQ(check(a, &w, PUB, "y", 0, 0), ST_ACL_NOMATCH);
    st_acl_free(a);
}

static void test_topics_and_placeholders(void)
{
    st_acl *a =
        parse("% a comment line\n"
              "{allow, all, all, [\"users/${username}/#\", \"c/${clientid}\"]}.\n"
              "{allow, all, subscribe, [{eq, \"t/#\"}, \"eq q/+\"]}.\n"
              "{allow, all, publish, [\"cn/${cert_common_name}\", \"a/${client_attrs.x}\"]}."
              " % trailing\n"
              "{deny, all}.");
    CHECK(a != NULL);
    if (!a) return;
    st_acl_who w = {"c9", "ann", "1.2.3.4", "dev1"};
    st_acl_who anon = {"c9", NULL, "1.2.3.4", NULL};
    CHECK_EQ(check(a, &w, PUB, "users/ann/x/y", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &w, PUB, "users/ann", 0, 0), ST_ACL_ALLOW); /* # matches its parent */
    CHECK_EQ(check(a, &w, PUB, "users/bob/x", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &anon, PUB, "users//x", 0, 0), ST_ACL_DENY); /* missing: no match */
    CHECK_EQ(check(a, &anon, PUB, "users/${username}/x", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &w, SUB, "c/c9", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &w, SUB, "t/#", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &w, SUB, "t/x", 0, 0), ST_ACL_DENY); /* eq: the filter itself */
    CHECK_EQ(check(a, &w, SUB, "q/+", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &w, PUB, "cn/dev1", 0, 0), ST_ACL_ALLOW);
    CHECK_EQ(check(a, &anon, PUB, "cn/", 0, 0), ST_ACL_DENY);
    CHECK_EQ(check(a, &w, PUB, "a/", 0, 0), ST_ACL_DENY);
    st_acl_free(a);
}

static void test_topic_match(void)
{
#define M(s, f) st_acl_topic_match(s, strlen(s), f, strlen(f))
    CHECK(M("a/b/c", "a/+/c") && M("a/b/c", "a/#") && M("a", "a/#") && M("a/b", "#"));
    CHECK(!M("a/b/c", "a/+") && !M("a", "a/+") && !M("a/b", "a/b/c") && !M("b", "a"));
    CHECK(M("", "") && M("a//b", "a/+/b") && M("a/", "a/+"));
    CHECK(!M("$SYS/x", "#") && !M("$SYS/x", "+/x") && M("$SYS/x", "$SYS/#"));
    CHECK(M("a/#", "a/+") && M("a/+", "a/+") && M("#", "#")); /* a filter as the subject */
#undef M
}

static void test_errors(void)
{
    static const struct {
        const char *text, *want;
    } v[] = {
        {"{allow, all}", "acl.conf:1: expected '.'"},
        {"\n{allow, all, publish, \"t/#\"}.", "acl.conf:2: Topics are a list"},
        {"{permit, all}.", "acl.conf:1: a Permission is allow or deny"},
        {"{allow, {username, {re, \"(\"}}, all, [\"t\"]}.", "does not compile"},
        {"{allow, {ipaddr, \"10.0.0.0/33\"}, all, [\"t\"]}.", "expected an IP address"},
        {"{allow, all, {publish, [{qos, 3}]}, [\"t\"]}.", "a QoS is 0, 1 or 2"},
        {"{allow, all, {subscribe, [{retain, true}]}, [\"t\"]}.", "unknown option"},
        {"{allow, all, write, [\"t\"]}.", "unknown Action"},
        {"{allow, nobody, all, [\"t\"]}.", "unknown Who"},
        {"{allow, all, all, [\"t\"}.", "expected ',' or ']'"},
        {"{allow, all, all, [\"t]}.", "a string is not closed"},
        {"\n\n{allow, all, all}.", "acl.conf:3: a rule is"},
        {"{allow, {'and', []}, all, all}.", "'and' and 'or' take a list"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char err[256] = "";
        st_acl *a = st_acl_parse(v[i].text, strlen(v[i].text), "acl.conf", err, sizeof err);
        CHECK(a == NULL);
        if (!strstr(err, v[i].want)) fprintf(stderr, "error %zu: \"%s\"\n", i, err);
        CHECK(strstr(err, v[i].want) != NULL);
        st_acl_free(a);
    }
    char err[256];
    CHECK(st_acl_load("/nonexistent/acl.conf", err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/acl.conf: No such file") != NULL);
}

int main(void)
{
    RUN(test_emqx_default_file);
    RUN(test_who);
    RUN(test_actions_and_options);
    RUN(test_topics_and_placeholders);
    RUN(test_topic_match);
    RUN(test_errors);
    return TEST_END();
}
