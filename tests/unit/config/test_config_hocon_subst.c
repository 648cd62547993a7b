/* test_config_hocon_subst.c — ${path} / ${?path} substitutions (config values, the passed envp,
 * chains, concatenation, cycles, blow-up limits) and `include` (relative paths, nesting,
 * missing files). Fixtures live in fixtures/ (tests run in tests/unit/config). */
#include "test.h"

#include <stdlib.h>

#include "config/hocon.h"
#include "core/err.h"

static st_hocon_doc *doc;
static char err[512];

static st_hocon_node *parse_env(const char *text, char *const *envp)
{
    st_hocon_node *root = NULL;
    err[0] = '\0';
    if (st_hocon_parse_buffer(doc, text, strlen(text), "s.conf", NULL, &root, err, sizeof(err)) < 0)
        return NULL;
    if (st_hocon_resolve(root, envp, err, sizeof(err)) < 0) {
        st_hocon_node_free(root);
        return NULL;
    }
    return root;
}

static st_hocon_node *parse(const char *text)
{
    return parse_env(text, NULL);
}

static st_hocon_node *parse_file(const char *path)
{
    st_hocon_node *root = NULL;
    err[0] = '\0';
    if (st_hocon_parse_file(doc, path, NULL, &root, err, sizeof(err)) < 0) return NULL;
    if (st_hocon_resolve(root, NULL, err, sizeof(err)) < 0) {
        st_hocon_node_free(root);
        return NULL;
    }
    return root;
}

static const char *get_str(const st_hocon_node *r, const char *path)
{
    const st_hocon_node *n = r ? st_hocon_get(r, path) : NULL;
    return n && n->kind == ST_HOCON_STRING ? n->str : NULL;
}

static long long get_int(const st_hocon_node *r, const char *path)
{
    const st_hocon_node *n = r ? st_hocon_get(r, path) : NULL;
    return n && n->kind == ST_HOCON_NUMBER ? n->inum : -999999;
}

static void check_error(const char *text, const char *msg)
{
    st_hocon_node *r = parse(text);
    CHECK(r == NULL);
    CHECK_STR(err, msg);
    st_hocon_node_free(r);
}

static void test_paths(void)
{
    st_hocon_node *r = parse("a = 1\n"
                             "b = ${a}\n"
                             "x { y = hello }\n"
                             "z = ${x.y}\n"
                             "base { p = 1, q { r = 2 } }\n"
                             "copy = ${base}\n"
                             "copy.p = 10\n"
                             "later = ${defined_after}\n"
                             "defined_after = 5\n"
                             "\"dotted.key\" = dk\n"
                             "dk = ${\"dotted.key\"}\n");
    CHECK(r != NULL);
    CHECK_EQ(get_int(r, "b"), 1);
    CHECK_EQ(st_hocon_get(r, "b") ? st_hocon_get(r, "b")->line : 0, 2); /* line of the use */
    CHECK_STR(get_str(r, "z"), "hello");
    CHECK_EQ(get_int(r, "copy.p"), 10);
    CHECK_EQ(get_int(r, "copy.q.r"), 2);
    CHECK_EQ(get_int(r, "base.p"), 1); /* a copy, not an alias */
    CHECK_EQ(get_int(r, "later"), 5);
    CHECK_STR(get_str(r, "dk"), "dk");
    st_hocon_node_free(r);

    /* a field set to a substitution still merges with later fields and objects */
    r = parse("base { p = 1, q = 1 }\n"
              "over { q = 2 }\n"
              "m = ${base}\n"
              "m { r = 3 }\n"
              "m = ${over}\n"
              "n { keep = 1 }\n"
              "n = ${base}\n"
              "s = ${base}\n"
              "s = 7\n"
              "t = ${?nothing}\n"
              "t.u = 1\n");
    CHECK(r != NULL);
    CHECK_EQ(get_int(r, "m.p"), 1);
    CHECK_EQ(get_int(r, "m.q"), 2);
    CHECK_EQ(get_int(r, "m.r"), 3);
    CHECK_EQ(get_int(r, "n.keep"), 1);
    CHECK_EQ(get_int(r, "n.p"), 1);
    CHECK_EQ(get_int(r, "s"), 7);
    CHECK_EQ(get_int(r, "t.u"), 1);
    st_hocon_node_free(r);
}

static void test_chains_and_concat(void)
{
    st_hocon_node *r = parse("a = ${b}\n"
                             "b = ${c}\n"
                             "c = 5\n"
                             "host = example.com\n"
                             "port = 8080\n"
                             "url = \"http://\"${host}\":\"${port}/path\n"
                             "spaced = ${host} and ${port}\n"
                             "flag = on\n"
                             "text = value-${flag}\n"
                             "obj { u = ${url} }\n");
    CHECK_EQ(get_int(r, "a"), 5);
    CHECK_STR(get_str(r, "url"), "http://example.com:8080/path");
    CHECK_STR(get_str(r, "spaced"), "example.com and 8080");
    CHECK_STR(get_str(r, "text"), "value-true");
    CHECK_STR(get_str(r, "obj.u"), "http://example.com:8080/path");
    st_hocon_node_free(r);
}

static void test_env(void)
{
    char *envp[] = {"MY_HOME=/home/me", "PORT_X=1999", "EMPTY=", NULL};
    st_hocon_node *r = parse_env("home = ${?MY_HOME}\n"
                                 "home2 = ${MY_HOME}\n"
                                 "port = ${?PORT_X}\n"
                                 "gone = ${?NOT_SET_ANYWHERE}\n"
                                 "keep = 1\n"
                                 "keep = ${?NOT_SET_ANYWHERE}\n"
                                 "arr = [1, ${?NOT_SET_ANYWHERE}, 2]\n"
                                 "empty = ${?EMPTY}\n"
                                 "path = ${MY_HOME}/data\n"
                                 "opt_path = x${?NOT_SET_ANYWHERE}y\n",
                                 envp);
    CHECK(r != NULL);
    CHECK_STR(get_str(r, "home"), "/home/me");
    CHECK_STR(get_str(r, "home2"), "/home/me");
    CHECK_STR(get_str(r, "port"), "1999"); /* environment values are strings */
    CHECK(r && st_hocon_get(r, "gone") == NULL);
    CHECK(r && st_hocon_get(r, "keep") == NULL); /* an unset ${?x} removes the field */
    CHECK(r && st_hocon_get(r, "arr")->n == 2);
    CHECK_STR(get_str(r, "empty"), "");
    CHECK_STR(get_str(r, "path"), "/home/me/data");
    CHECK_STR(get_str(r, "opt_path"), "xy");
    st_hocon_node_free(r);

    /* The process environment is never read: only envp counts. */
    setenv("ST_TEST_PROCESS_ONLY", "x", 1);
    r = parse_env("a = ${?ST_TEST_PROCESS_ONLY}\n", NULL);
    CHECK(r && st_hocon_get(r, "a") == NULL);
    st_hocon_node_free(r);
    check_error("a = 1\n\nb = ${ST_TEST_PROCESS_ONLY}\n",
                "s.conf:3: unresolved substitution ${ST_TEST_PROCESS_ONLY}");

    /* config paths win over the environment */
    char *envp2[] = {"a=from_env", NULL};
    r = parse_env("a = from_file\nb = ${a}\n", envp2);
    CHECK_STR(get_str(r, "b"), "from_file");
    st_hocon_node_free(r);
}

static void test_errors(void)
{
    check_error("a = 1\nb = ${missing.path}\n",
                "s.conf:2: unresolved substitution ${missing.path}");
    check_error("a = ${b}\nb = ${a}\n", "s.conf:1: substitution cycle involving ${b}");
    check_error("a = ${a}\n", "s.conf:1: substitution cycle involving ${a}");
    check_error("a { b = ${a} }\n", "s.conf:1: substitution cycle involving ${a}");
    check_error("o { x = 1 }\ns = x${o}\n", "s.conf:2: cannot concatenate an object with text");
}

/* Exponential copies and long chains must end in an error, not exhaust memory or stack. */
static void test_limits(void)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "l0 = [1, 2, 3, 4]\n");
    for (int i = 1; i < 30; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "l%d = [${l%d}, ${l%d}, ${l%d}]\n", i,
                              i - 1, i - 1, i - 1);
    st_hocon_node *r = parse(buf);
    CHECK(r == NULL);
    CHECK(strstr(err, "substitutions expand to too many values") != NULL);
    st_hocon_node_free(r);

    n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "c%d = ${c%d}\n", i, i + 1);
    snprintf(buf + n, sizeof(buf) - n, "c100 = end\n");
    r = parse(buf);
    CHECK(r == NULL);
    CHECK(strstr(err, "substitutions nested too deeply") != NULL);
    st_hocon_node_free(r);
}

static void test_include(void)
{
    st_hocon_node *r = parse_file("fixtures/main.conf");
    CHECK(r != NULL);
    CHECK_EQ(get_int(r, "a"), 3); /* main's later a = 3 wins over the child's */
    CHECK_STR(get_str(r, "c"), "from_child");
    CHECK_STR(get_str(r, "b"), "from_child"); /* substitution sees included values */
    CHECK_STR(get_str(r, "g"), "grand");      /* nested include, relative to inc/ */
    CHECK_EQ(get_int(r, "nested.x"), 1);      /* include inside an object */
    CHECK_EQ(get_int(r, "nested.y"), 2);
    const st_hocon_node *g = r ? st_hocon_get(r, "g") : NULL;
    CHECK_STR(g ? g->file : NULL, "fixtures/inc/grand.conf");
    CHECK_EQ(g ? g->line : 0, 1);
    st_hocon_node_free(r);

    r = parse_file("fixtures/missing_include.conf");
    CHECK(r == NULL);
    CHECK_STR(err, "fixtures/missing_include.conf:2: cannot open include file "
                   "'fixtures/nope.conf': No such file or directory");

    r = parse_file("fixtures/bad_include.conf");
    CHECK(r == NULL);
    CHECK_STR(err, "fixtures/inc/bad.conf:2: unterminated string");

    r = parse_file("fixtures/loop.conf");
    CHECK(r == NULL);
    CHECK_STR(err, "fixtures/loop.conf:1: includes nested too deeply (limit 16)");

    r = parse_file("fixtures/does_not_exist.conf");
    CHECK(r == NULL);
    CHECK_STR(err, "fixtures/does_not_exist.conf: cannot open: No such file or directory");

    struct st_hocon_opts no_inc = {.no_include = 1};
    const char *text = "include \"x.conf\"";
    CHECK(st_hocon_parse_buffer(doc, text, strlen(text), "m.conf", &no_inc, &r, err, sizeof(err)) <
          0);
    CHECK_STR(err, "m.conf:1: include is not allowed here");

    /* "include" is still usable as an ordinary key */
    r = parse("include = 5\n");
    CHECK_EQ(get_int(r, "include"), 5);
    st_hocon_node_free(r);
}

int main(void)
{
    doc = st_hocon_doc_new();
    RUN(test_paths);
    RUN(test_chains_and_concat);
    RUN(test_env);
    RUN(test_errors);
    RUN(test_limits);
    RUN(test_include);
    st_hocon_doc_free(doc);
    return TEST_END();
}
