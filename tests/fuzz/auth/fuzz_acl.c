/* fuzz_acl.c — libFuzzer target for authorization's rules: the input parsed as acl.conf (it
 * either loads or names a line), as the built-in database's JSON (what it makes whole reads
 * back the same) and as a JWT's acl claim; what loads compiled for clients and checked
 * against topics; the topic match on the input split at its first NUL. */
#include "auth/acl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decide(const st_acl *a, const st_acl_who *w, const char *t, size_t n)
{
    st_acl_list *l = st_acl_compile(a, w);
    if (!l) return;
    if (st_acl_list_count(l) > st_acl_count(a)) abort();
    for (int action = ST_ACL_PUBLISH; action <= ST_ACL_SUBSCRIBE; action++)
        for (int q = 0; q < 3; q++) {
            int v = st_acl_check(l, action, t, n, q, q & 1);
            if (v != ST_ACL_NOMATCH && v != ST_ACL_ALLOW && v != ST_ACL_DENY) abort();
        }
    st_acl_list_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        size_t a = (size_t)(nul - data);
        int m = st_acl_topic_match(s, a, s + a + 1, size - a - 1);
        if (m != 0 && m != 1) abort();
        if (a == size - a - 1 && memcmp(s, s + a + 1, a) == 0 && !memchr(s, '+', a) &&
            !memchr(s, '#', a) && !m)
            abort(); /* a topic without wildcards matches itself */
    }
    char err[300], *normal = NULL;
    int legacy;
    st_acl *j = st_acl_from_json(s, size, 100, &normal, err, sizeof err);
    if (j) { /* what it makes whole reads back the same */
        char *again = NULL;
        st_acl *k = st_acl_from_json(normal, strlen(normal), 100, &again, err, sizeof err);
        if (!k || strcmp(normal, again) != 0) abort();
        st_acl_who w = {"dev-1", "ann", "10.1.2.3", NULL};
        decide(k, &w, "a/b", 3);
        st_acl_free(k);
        free(again);
        st_acl_free(j);
    }
    free(normal);
    st_acl *claim = st_acl_from_claim(s, size, &legacy, err, sizeof err);
    if (claim) {
        st_acl_who w = {"dev-1", NULL, "::1", NULL};
        decide(claim, &w, "d/dev-1", 7);
        st_acl_free(claim);
    }
    st_acl *acl = st_acl_parse(s, size, "fuzz.conf", err, sizeof err);
    if (!acl) {
        if (strncmp(err, "fuzz.conf:", 10) != 0) abort();
        return 0;
    }
    st_acl_who u = {"dev-1", "ann", "10.1.2.3", "cn1"}, anon = {"x", NULL, "::1", NULL};
    size_t n = size < 64 ? size : 64;
    decide(acl, &u, s, n);
    decide(acl, &anon, "a/b/c", 5);
    decide(acl, &anon, "$SYS/x", 6);
    st_acl_free(acl);
    return 0;
}
