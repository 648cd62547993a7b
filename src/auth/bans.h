/* bans.h — who may not connect at all (EMQX's banned table, docs/security.md §3): by client
 * id, username or address, exactly, by regular expression (clientid_re, username_re) or by
 * network (peerhost_net, CIDR), until a time or for ever. Checked at CONNECT before the
 * authenticators (CONNACK 0x8A; 3.1.1: 5). The rows are the cluster's (the replicated
 * table's namespace 4); this is each node's copy. Any thread (a read-write lock). */
#ifndef ST_AUTH_BANS_H
#define ST_AUTH_BANS_H

#include <stddef.h>
#include <stdint.h>

enum st_ban_as {
    ST_BAN_CLIENTID,
    ST_BAN_USERNAME,
    ST_BAN_PEERHOST,
    ST_BAN_CLIENTID_RE,
    ST_BAN_USERNAME_RE,
    ST_BAN_PEERHOST_NET
};

typedef struct st_ban {
    int as;
    char who[256];
    char by[128];
    char reason[256];
    int64_t at_ms, until_ms; /* until 0: for ever */
} st_ban;

typedef struct st_bans st_bans;

st_bans *st_bans_new(void);
void st_bans_free(st_bans *b);
/* "clientid" ... "peerhost_net" → ST_BAN_*, or -1. */
int st_ban_as_of(const char *name);
const char *st_ban_as_name(int as);
/* Is who a valid value for as (a regular expression that compiles, a CIDR)? 0, or -1 with
 * why in err. */
int st_ban_check(int as, const char *who, char *err, size_t errlen);
/* Add or replace / remove (by as and who). */
int st_bans_put(st_bans *b, const st_ban *ban);
int st_bans_del(st_bans *b, int as, const char *who);
void st_bans_clear(st_bans *b);
/* A ban that holds now for this client (NULL arguments: not known): 1 (why in *out if
 * given), 0 none. */
int st_bans_match(st_bans *b, const char *clientid, size_t cidlen, const char *username,
                  size_t ulen, const char *peerhost, st_ban *out);
/* Up to max bans from the from-th, into out; returns how many bans there are in all. */
size_t st_bans_list(st_bans *b, size_t from, size_t max, st_ban *out, size_t *got);
int st_bans_get(st_bans *b, int as, const char *who, st_ban *out);

/* A row of the table: key = as name ‖ NUL ‖ who; value = str by, str reason, u64 at, u64
 * until. */
size_t st_ban_key(const st_ban *ban, uint8_t *out);   /* out: 300 bytes */
size_t st_ban_value(const st_ban *ban, uint8_t *out); /* out: 420 bytes */
int st_ban_decode(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, st_ban *out);

#endif
