/* test_config_hocon.c — HOCON syntax: every construct the parser accepts, merging, line numbers and
 * syntax errors with their exact "file:line: message". */
#include "test.h"

#include <stdlib.h>

#include "config/hocon.h"
#include "core/err.h"

static st_hocon_doc *doc;
static char err[512];

/* Parse and resolve text (no environment); NULL on error (message in err). */
static st_hocon_node *parse(const char *text)
{
    st_hocon_node *root = NULL;
    err[0] = '\0';
    if (st_hocon_parse_buffer(doc, text, strlen(text), "t.conf", NULL, &root, err, sizeof(err)) < 0)
        return NULL;
    if (st_hocon_resolve(root, NULL, err, sizeof(err)) < 0) {
        st_hocon_node_free(root);
        return NULL;
    }
    return root;
}

static const st_hocon_node *get(const st_hocon_node *root, const char *path)
{
    return root ? st_hocon_get(root, path) : NULL;
}

static long long get_int(const st_hocon_node *root, const char *path)
{
    const st_hocon_node *n = get(root, path);
    return n && n->kind == ST_HOCON_NUMBER && n->is_int ? n->inum : -999999;
}

static const char *get_str(const st_hocon_node *root, const char *path)
{
    const st_hocon_node *n = get(root, path);
    return n && n->kind == ST_HOCON_STRING ? n->str : NULL;
}

/* Expect a parse error with exactly this message. */
static void check_error(const char *text, const char *msg)
{
    st_hocon_node *root = parse(text);
    CHECK(root == NULL);
    CHECK_STR(err, msg);
    st_hocon_node_free(root);
}

static void test_objects(void)
{
    st_hocon_node *r = parse("a { b = 1 }\n"
                             "c = { d = 2 }\n"
                             "e : { f : 3 }\n"
                             "g{h=4}\n"
                             "i { j { k = 5 } }\n");
    CHECK(r != NULL);
    CHECK_EQ(get_int(r, "a.b"), 1);
    CHECK_EQ(get_int(r, "c.d"), 2);
    CHECK_EQ(get_int(r, "e.f"), 3);
    CHECK_EQ(get_int(r, "g.h"), 4);
    CHECK_EQ(get_int(r, "i.j.k"), 5);
    CHECK_EQ(r->n, 5);
    st_hocon_node_free(r);

    r = parse("{\n  a = 1\n}\n");
    CHECK_EQ(get_int(r, "a"), 1);
    st_hocon_node_free(r);

    r = parse("");
    CHECK(r && r->kind == ST_HOCON_OBJECT && r->n == 0);
    st_hocon_node_free(r);
}

static void test_keys(void)
{
    st_hocon_node *r = parse("a.b.c = 1\n"
                             "\"x.y\" = 2\n"
                             "p.\"q.r\".s = 3\n"
                             "\"quoted key\" = 4\n"
                             "with-dash_and_underscore = 5\n");
    CHECK_EQ(get_int(r, "a.b.c"), 1);
    const st_hocon_node *xy = r ? st_hocon_obj_get(r, "x.y") : NULL;
    CHECK(xy && xy->inum == 2);
    const st_hocon_node *p = get(r, "p");
    const st_hocon_node *qr = p ? st_hocon_obj_get(p, "q.r") : NULL;
    CHECK(qr && qr->kind == ST_HOCON_OBJECT && st_hocon_obj_get(qr, "s")->inum == 3);
    CHECK(r && st_hocon_obj_get(r, "quoted key") != NULL);
    CHECK_EQ(get_int(r, "with-dash_and_underscore"), 5);
    st_hocon_node_free(r);
}

static void test_merge(void)
{
    st_hocon_node *r = parse("a { x = 1, y = 2, n { p = 1 } }\n"
                             "a { y = 3, z = 4, n { q = 2 } }\n"
                             "a.w = 5\n"
                             "b = { x = 1 }\n"
                             "b = 7\n"
                             "c = 7\n"
                             "c { x = 1 }\n"
                             "d = 1\n"
                             "d = 2\n");
    CHECK_EQ(get_int(r, "a.x"), 1);
    CHECK_EQ(get_int(r, "a.y"), 3);
    CHECK_EQ(get_int(r, "a.z"), 4);
    CHECK_EQ(get_int(r, "a.w"), 5);
    CHECK_EQ(get_int(r, "a.n.p"), 1);
    CHECK_EQ(get_int(r, "a.n.q"), 2);
    CHECK_EQ(get_int(r, "b"), 7);
    CHECK_EQ(get_int(r, "c.x"), 1);
    CHECK_EQ(get_int(r, "d"), 2);
    CHECK_EQ(get(r, "d") ? get(r, "d")->line : 0, 9); /* the winning value's line */
    /* key order is first appearance */
    CHECK(r && r->n == 4 && !strcmp(r->keys[0], "a") && !strcmp(r->keys[3], "d"));
    st_hocon_node_free(r);
}

static void test_arrays(void)
{
    st_hocon_node *r = parse("a = [1, 2, \"x\"]\n"
                             "b = [\n  1\n  2\n\n  3,\n]\n"
                             "c = [{ n = 1 }, { n = 2 }]\n"
                             "d = []\n"
                             "e = [[1, 2], [3]]\n"
                             "f = [ starling@h1, starling@h2 ]  # comment\n"
                             "g = [\n  { x = 1 }\n  { x = 2 }\n]\n");
    const st_hocon_node *a = get(r, "a");
    CHECK(a && a->kind == ST_HOCON_ARRAY && a->n == 3);
    CHECK(a && a->items[2]->kind == ST_HOCON_STRING && !strcmp(a->items[2]->str, "x"));
    const st_hocon_node *b = get(r, "b");
    CHECK(b && b->n == 3 && b->items[2]->inum == 3 && b->items[1]->line == 4);
    const st_hocon_node *c = get(r, "c");
    CHECK(c && c->n == 2 && c->items[1]->kind == ST_HOCON_OBJECT);
    CHECK(c && st_hocon_obj_get(c->items[1], "n")->inum == 2);
    CHECK(get(r, "d") && get(r, "d")->n == 0);
    const st_hocon_node *e = get(r, "e");
    CHECK(e && e->n == 2 && e->items[0]->kind == ST_HOCON_ARRAY && e->items[0]->n == 2);
    const st_hocon_node *f = get(r, "f");
    CHECK(f && f->n == 2 && !strcmp(f->items[1]->str, "starling@h2"));
    const st_hocon_node *g = get(r, "g");
    CHECK(g && g->n == 2 && st_hocon_obj_get(g->items[1], "x")->inum == 2);
    st_hocon_node_free(r);
}

static void test_strings(void)
{
    st_hocon_node *r =
        parse("a = \"tab\\there \\\"q\\\" back\\\\slash \\/ \\u00e9 \\ud83d\\ude00\"\n"
              "b = starling@127.0.0.1\n"
              "c = 0.0.0.0:1883\n"
              "d = \"\"\"line one\n  \"quoted\" line two\"\"\"\n"
              "e = foo bar  baz\n"
              "f = \"a\" b \"c\"\n"
              "g = \"\"\n"
              "h = 10s\n"
              "i = \"true\"\n"
              "j = http://example.com/x\n"
              "k = \"\"\"\"\"x\"\"\"\"\"\n"
              "l = a=b\n");
    CHECK_STR(get_str(r, "a"), "tab\there \"q\" back\\slash / \xc3\xa9 \xf0\x9f\x98\x80");
    CHECK_STR(get_str(r, "b"), "starling@127.0.0.1");
    CHECK_STR(get_str(r, "c"), "0.0.0.0:1883");
    CHECK_STR(get_str(r, "d"), "line one\n  \"quoted\" line two");
    CHECK_STR(get_str(r, "e"), "foo bar  baz");
    CHECK_STR(get_str(r, "f"), "a b c");
    CHECK_STR(get_str(r, "g"), "");
    CHECK_STR(get_str(r, "h"), "10s");
    CHECK_STR(get_str(r, "i"), "true");
    CHECK_STR(get_str(r, "j"), "http:"); /* // starts a comment, as in HOCON */
    CHECK_STR(get_str(r, "k"), "\"\"x\"\"");
    CHECK_STR(get_str(r, "l"), "a=b");
    CHECK_EQ(get(r, "e") ? get(r, "e")->line : 0, 6);
    CHECK_EQ(get(r, "h") ? get(r, "h")->line : 0, 9); /* lines count inside """ strings */
    st_hocon_node_free(r);
}

static void test_scalars(void)
{
    st_hocon_node *r = parse("t = true, f = false, on = on, off = off\n"
                             "n = null\n"
                             "i = 42, neg = -7, big = 9223372036854775807\n"
                             "fl = 1.5, ex = 1e3\n"
                             "ver = 1.2.3\n"
                             "huge = 99999999999999999999\n");
    const st_hocon_node *n;
    CHECK((n = get(r, "t")) && n->kind == ST_HOCON_BOOL && n->boolean == 1);
    CHECK((n = get(r, "f")) && n->kind == ST_HOCON_BOOL && n->boolean == 0);
    CHECK((n = get(r, "on")) && n->kind == ST_HOCON_BOOL && n->boolean == 1);
    CHECK((n = get(r, "off")) && n->kind == ST_HOCON_BOOL && n->boolean == 0);
    CHECK((n = get(r, "n")) && n->kind == ST_HOCON_NULL);
    CHECK_EQ(get_int(r, "i"), 42);
    CHECK_EQ(get_int(r, "neg"), -7);
    CHECK_EQ(get_int(r, "big"), 9223372036854775807LL);
    CHECK((n = get(r, "fl")) && n->kind == ST_HOCON_NUMBER && !n->is_int && n->num == 1.5);
    CHECK((n = get(r, "ex")) && n->kind == ST_HOCON_NUMBER && n->num == 1000.0);
    CHECK_STR(get_str(r, "ver"), "1.2.3");
    CHECK((n = get(r, "huge")) && n->kind == ST_HOCON_NUMBER && !n->is_int);
    st_hocon_node_free(r);
}

static void test_comments_and_commas(void)
{
    st_hocon_node *r = parse("# leading comment\n"
                             "// another\n"
                             "a = 1 # trailing\n"
                             "b = 2 // trailing\n"
                             "c = 3, d = 4,\n"
                             "e { x = 1 # in object\n"
                             "  y = 2 }\n"
                             "f = [1, # in array\n 2 // also\n]\n");
    CHECK_EQ(get_int(r, "a"), 1);
    CHECK_EQ(get_int(r, "b"), 2);
    CHECK_EQ(get_int(r, "c"), 3);
    CHECK_EQ(get_int(r, "d"), 4);
    CHECK_EQ(get_int(r, "e.y"), 2);
    CHECK(get(r, "f") && get(r, "f")->n == 2);
    st_hocon_node_free(r);
}

static void test_lines(void)
{
    st_hocon_node *r = parse("\n\na = 1\nb {\n  c = x\n}\nd = [\n  1,\n  2\n]\n");
    CHECK_EQ(get(r, "a") ? get(r, "a")->line : 0, 3);
    CHECK_EQ(get(r, "b") ? get(r, "b")->line : 0, 4);
    CHECK_EQ(get(r, "b.c") ? get(r, "b.c")->line : 0, 5);
    CHECK_EQ(get(r, "d") ? get(r, "d")->items[1]->line : 0, 9);
    CHECK_STR(get(r, "a") ? get(r, "a")->file : NULL, "t.conf");
    st_hocon_node_free(r);
}

static void test_syntax_errors(void)
{
    check_error("a = 1\nb = \"open\n", "t.conf:2: unterminated string");
    check_error("a = 1\n\nb = \"\"\"never closed\n\n",
                "t.conf:3: unterminated triple-quoted string");
    check_error("a = \"bad \\q escape\"", "t.conf:1: invalid escape in string");
    check_error("a = \"\\u12\"", "t.conf:1: invalid \\u escape in string");
    check_error("a = 1\nb =\n", "t.conf:3: expected a value, found end of file");
    check_error("a {\n  b = 1\n",
                "t.conf:3: unexpected end of file, expected '}' for object at line 1");
    check_error("a = [1, 2\n", "t.conf:2: unexpected end of file in array opened at line 1");
    check_error("a = [1 {b = 1}]", "t.conf:1: expected ',' or ']' in array, found '{'");
    check_error("x = 1\ny z\n", "t.conf:2: expected '=', ':' or '{' after key 'y', found text");
    check_error("a = 1\n}\n", "t.conf:2: unexpected '}', expected a key");
    check_error("a = 1 }", "t.conf:1: expected ',' or newline after value, found '}'");
    check_error("a..b = 1", "t.conf:1: empty key segment in 'a..b'");
    check_error("a. = 1", "t.conf:1: key ends with '.'");
    check_error("[1, 2]", "t.conf:1: the root of a config must be an object, not an array");
    check_error("{ a = 1 } b", "t.conf:1: unexpected text after the root object");
    check_error("a += 1", "t.conf:1: '+=' is not supported");
    check_error("a = ${}", "t.conf:1: empty substitution '${}'");
    check_error("a = ${b", "t.conf:1: unterminated substitution '${'");
    check_error("a = {b = 1} c", "t.conf:1: expected ',' or newline after value, found text");
}

static void test_depth_limit(void)
{
    char buf[2000];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a = ");
    for (int i = 0; i < 300; i++)
        buf[n++] = '[';
    buf[n] = '\0';
    check_error(buf, "t.conf:1: nesting too deep (limit 128)");

    n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k.");
    snprintf(buf + n, sizeof(buf) - n, "k = 1");
    check_error(buf, "t.conf:1: nesting too deep (limit 128)");
}

static void test_parse_value(void)
{
    st_hocon_node *v = NULL;
    CHECK_EQ(st_hocon_parse_value(doc, "[a, b]", 6, "env X", &v, err, sizeof(err)), 0);
    CHECK(v && v->kind == ST_HOCON_ARRAY && v->n == 2 && !strcmp(v->items[1]->str, "b"));
    st_hocon_node_free(v);
    CHECK_EQ(st_hocon_parse_value(doc, "\"x y\"", 5, "env X", &v, err, sizeof(err)), 0);
    CHECK(v && v->kind == ST_HOCON_STRING && !strcmp(v->str, "x y"));
    st_hocon_node_free(v);
    CHECK_EQ(st_hocon_parse_value(doc, "127.0.0.1:1884", 14, "env X", &v, err, sizeof(err)), 0);
    CHECK(v && v->kind == ST_HOCON_STRING && !strcmp(v->str, "127.0.0.1:1884"));
    st_hocon_node_free(v);
    CHECK(st_hocon_parse_value(doc, "a]", 2, "env X", &v, err, sizeof(err)) < 0);
    CHECK(v == NULL);
}

int main(void)
{
    doc = st_hocon_doc_new();
    RUN(test_objects);
    RUN(test_keys);
    RUN(test_merge);
    RUN(test_arrays);
    RUN(test_strings);
    RUN(test_scalars);
    RUN(test_comments_and_commas);
    RUN(test_lines);
    RUN(test_syntax_errors);
    RUN(test_depth_limit);
    RUN(test_parse_value);
    st_hocon_doc_free(doc);
    return TEST_END();
}
