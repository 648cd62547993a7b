/* acl.h — EMQX's acl.conf (docs/security.md §9): the file's rules, parsed all or nothing,
 * and one client's share of them, compiled at CONNECT and matched at SUBSCRIBE and PUBLISH.
 *
 * A rule is {Permission, Who, Action, Topics}. or {Permission, all}. Who is matched once per
 * client (st_acl_compile keeps the rules that can apply to it, with ${username},
 * ${clientid} and ${cert_common_name} expanded); what is left is matched per topic. */
#ifndef ST_ACL_H
#define ST_ACL_H

#include <stddef.h>

typedef struct st_acl st_acl;

/* Parse acl.conf text; NULL with "file:line: why" in err. */
st_acl *st_acl_parse(const char *text, size_t len, const char *file, char *err, size_t errlen);
/* Rules as JSON, the built-in database's (EMQX's: [{"topic", "permission", "action", "qos",
 * "retain"}]), each for every client (the row they are kept in says who); at most max_rules.
 * NULL with "rule N: why" in err. *normal (when normal is not NULL): the same rules with
 * every field, as JSON (malloc'd). */
st_acl *st_acl_from_json(const char *json, size_t len, int max_rules, char **normal, char *err,
                         size_t errlen);
/* The acl an authenticator gives a client (a JWT's claim, an HTTP service's "acl"), EMQX's
 * two forms: a list [{"permission", "action" (pub, sub too), "topic" or "topics", "qos"
 * (also "0,1"), "retain" (also 0, 1)}], or the legacy {"pub": [...], "sub": [...], "all":
 * [...]} (*legacy = 1: allow lists; what they do not name is denied). NULL with why in err. */
st_acl *st_acl_from_claim(const char *json, size_t len, int *legacy, char *err, size_t errlen);
/* Read and parse a file. */
st_acl *st_acl_load(const char *path, char *err, size_t errlen);
/* Another reference (any thread); st_acl_free drops one, the last frees. */
st_acl *st_acl_ref(st_acl *a);
void st_acl_free(st_acl *a);
size_t st_acl_count(const st_acl *a);

/* Who a client is; NULL for what it does not have. */
typedef struct st_acl_who {
    const char *clientid;
    const char *username;
    const char *peerhost; /* without the port */
    const char *cn;       /* its certificate's common name */
} st_acl_who;

/* The rules that may apply to this client, in the file's order (never NULL but when out of
 * memory). */
typedef struct st_acl_list st_acl_list;
st_acl_list *st_acl_compile(const st_acl *a, const st_acl_who *who);
void st_acl_list_free(st_acl_list *l);
size_t st_acl_list_count(const st_acl_list *l);

enum { ST_ACL_PUBLISH = 1, ST_ACL_SUBSCRIBE = 2 };
enum { ST_ACL_NOMATCH = 0, ST_ACL_ALLOW = 1, ST_ACL_DENY = 2 };

/* The first rule that matches decides. topic: a PUBLISH's topic, or a SUBSCRIBE's filter
 * (without $share/<group>/), matched against the rule's filters as EMQX does; qos: the
 * message's or the requested one; retain: the PUBLISH's flag (0 for SUBSCRIBE). */
int st_acl_check(const st_acl_list *l, int action, const char *topic, size_t len, int qos,
                 int retain);

/* EMQX's topic match, for a filter against a topic or a subscription's filter: `+` and `#`
 * match any level(s), but not a first level starting with '$'. 1 on a match. */
int st_acl_topic_match(const char *subject, size_t slen, const char *filter, size_t flen);

#endif
