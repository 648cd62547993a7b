/* acl_rules.h — private to acl.c and acl_parse.c: the rules of an acl.conf as parsed. */
#ifndef ST_ACL_RULES_H
#define ST_ACL_RULES_H

#include "auth/acl.h"

#include <regex.h>
#include <stdatomic.h>
#include <stdint.h>

enum acl_who_kind { W_ALL, W_USER, W_CID, W_IP, W_AND, W_OR, W_ATTR };

typedef struct acl_net {
    int v6;
    uint8_t addr[16];
    int bits;
} acl_net;

typedef struct acl_who {
    int kind;
    char *s; /* W_USER, W_CID: the exact value (NULL with a regex) */
    int has_re;
    regex_t re;
    acl_net *nets; /* W_IP */
    int nnets;
    struct acl_who *kids; /* W_AND, W_OR */
    int nkids;
} acl_who;

typedef struct acl_topic {
    uint8_t eq;          /* {eq, "t"} or "eq t": compared as a string */
    uint8_t placeholder; /* holds ${...}: expanded per client */
    char *s;
} acl_topic;

#define ACL_RETAIN_ALL 2

typedef struct acl_rule {
    uint8_t allow;
    uint8_t actions;     /* ST_ACL_PUBLISH | ST_ACL_SUBSCRIBE */
    uint8_t qos;         /* bit q: QoS q */
    uint8_t retain;      /* 0, 1, ACL_RETAIN_ALL */
    uint8_t all_topics;  /* Topics = all (also $-topics) */
    uint8_t placeholder; /* a topic holds ${...} */
    int line;
    acl_who who;
    acl_topic *topics;
    int ntopics;
} acl_rule;

struct st_acl {
    atomic_int refs; /* the owner's and one per compiled list */
    acl_rule *r;
    size_t n;
};

void st_acl_who_free(acl_who *w);

#endif
