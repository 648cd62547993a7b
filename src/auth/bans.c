/* bans.c — the banned table's copy on a node (bans.h). */
#include "auth/bans.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/regex.h"
#include "net/cidr.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BANS 100000

typedef struct entry {
    st_ban ban;
    regex_t re;  /* *_RE */
    st_cidr net; /* PEERHOST_NET */
} entry;

struct st_bans {
    pthread_rwlock_t lock;
    entry **all;
    size_t n, cap;
};

static const char *const AS[] = {"clientid",    "username",    "peerhost",
                                 "clientid_re", "username_re", "peerhost_net"};

int st_ban_as_of(const char *name)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(name, AS[i]) == 0) return i;
    return -1;
}

const char *st_ban_as_name(int as)
{
    return as >= 0 && as < 6 ? AS[as] : "?";
}

int st_ban_check(int as, const char *who, char *err, size_t errlen)
{
    if (!*who || strlen(who) >= 256) {
        snprintf(err, errlen, "who: 1 to 255 bytes");
        return -1;
    }
    if (as == ST_BAN_CLIENTID_RE || as == ST_BAN_USERNAME_RE) {
        regex_t re;
        if (st_regcomp(&re, who) != 0) {
            snprintf(err, errlen, "who: not a regular expression: %s", who);
            return -1;
        }
        regfree(&re);
    }
    st_cidr net;
    if (as == ST_BAN_PEERHOST_NET && (st_cidr_parse(who, &net) < 0 || net.all)) {
        snprintf(err, errlen, "who: not an address/prefix (CIDR): %s", who);
        return -1;
    }
    return 0;
}

st_bans *st_bans_new(void)
{
    st_bans *b = calloc(1, sizeof *b);
    if (b) pthread_rwlock_init(&b->lock, NULL);
    return b;
}

static void entry_free(entry *e)
{
    if (!e) return;
    if (e->ban.as == ST_BAN_CLIENTID_RE || e->ban.as == ST_BAN_USERNAME_RE) regfree(&e->re);
    free(e);
}

void st_bans_clear(st_bans *b)
{
    pthread_rwlock_wrlock(&b->lock);
    for (size_t i = 0; i < b->n; i++)
        entry_free(b->all[i]);
    b->n = 0;
    pthread_rwlock_unlock(&b->lock);
}

void st_bans_free(st_bans *b)
{
    if (!b) return;
    st_bans_clear(b);
    free(b->all);
    pthread_rwlock_destroy(&b->lock);
    free(b);
}

static size_t find(const st_bans *b, int as, const char *who)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->all[i]->ban.as == as && strcmp(b->all[i]->ban.who, who) == 0) return i;
    return b->n;
}

int st_bans_put(st_bans *b, const st_ban *ban)
{
    char why[200];
    if (ban->as < 0 || ban->as > 5 || st_ban_check(ban->as, ban->who, why, sizeof why) < 0)
        return ST_EINVAL;
    entry *e = calloc(1, sizeof *e);
    if (!e) return ST_ENOMEM;
    e->ban = *ban;
    if ((ban->as == ST_BAN_CLIENTID_RE || ban->as == ST_BAN_USERNAME_RE) &&
        st_regcomp(&e->re, ban->who) != 0) {
        free(e);
        return ST_EINVAL;
    }
    if (ban->as == ST_BAN_PEERHOST_NET) st_cidr_parse(ban->who, &e->net);
    pthread_rwlock_wrlock(&b->lock);
    size_t i = find(b, ban->as, ban->who);
    int rc = 0;
    if (i < b->n) {
        entry_free(b->all[i]);
        b->all[i] = e;
    } else if (b->n == MAX_BANS) {
        rc = ST_EFULL;
    } else {
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            entry **all = realloc(b->all, cap * sizeof *all);
            if (!all) rc = ST_ENOMEM;
            if (all) b->all = all, b->cap = cap;
        }
        if (rc == 0) b->all[b->n++] = e;
    }
    pthread_rwlock_unlock(&b->lock);
    if (rc < 0) entry_free(e);
    return rc;
}

int st_bans_del(st_bans *b, int as, const char *who)
{
    pthread_rwlock_wrlock(&b->lock);
    size_t i = find(b, as, who);
    int found = i < b->n;
    if (found) {
        entry_free(b->all[i]);
        b->all[i] = b->all[--b->n];
    }
    pthread_rwlock_unlock(&b->lock);
    return found;
}

static int holds(const entry *e, const char *cid, size_t cl, const char *user, size_t ul,
                 const char *peer, int64_t now)
{
    const st_ban *ban = &e->ban;
    if (ban->until_ms && ban->until_ms <= now) return 0;
    char buf[512];
    switch (ban->as) {
    case ST_BAN_CLIENTID:
        return cid && strlen(ban->who) == cl && memcmp(ban->who, cid, cl) == 0;
    case ST_BAN_USERNAME:
        return user && strlen(ban->who) == ul && memcmp(ban->who, user, ul) == 0;
    case ST_BAN_PEERHOST:
        return peer && strcmp(ban->who, peer) == 0;
    case ST_BAN_CLIENTID_RE:
    case ST_BAN_USERNAME_RE: {
        const char *s = ban->as == ST_BAN_CLIENTID_RE ? cid : user;
        size_t n = ban->as == ST_BAN_CLIENTID_RE ? cl : ul;
        if (!s || n >= sizeof buf || memchr(s, 0, n)) return 0;
        memcpy(buf, s, n);
        buf[n] = 0;
        return regexec(&e->re, buf, 0, NULL, 0) == 0;
    }
    case ST_BAN_PEERHOST_NET:
        return peer && st_cidr_match_text(&e->net, peer);
    }
    return 0;
}

int st_bans_match(st_bans *b, const char *clientid, size_t cidlen, const char *username,
                  size_t ulen, const char *peerhost, st_ban *out)
{
    int64_t now = st_wall_ms();
    pthread_rwlock_rdlock(&b->lock);
    int hit = 0;
    for (size_t i = 0; !hit && i < b->n; i++)
        if (holds(b->all[i], clientid, cidlen, username, ulen, peerhost, now)) {
            hit = 1;
            if (out) *out = b->all[i]->ban;
        }
    pthread_rwlock_unlock(&b->lock);
    return hit;
}

size_t st_bans_list(st_bans *b, size_t from, size_t max, st_ban *out, size_t *got)
{
    pthread_rwlock_rdlock(&b->lock);
    size_t n = b->n, k = 0;
    for (size_t i = from; i < n && k < max; i++)
        out[k++] = b->all[i]->ban;
    pthread_rwlock_unlock(&b->lock);
    *got = k;
    return n;
}

int st_bans_get(st_bans *b, int as, const char *who, st_ban *out)
{
    pthread_rwlock_rdlock(&b->lock);
    size_t i = find(b, as, who);
    int found = i < b->n;
    if (found) *out = b->all[i]->ban;
    pthread_rwlock_unlock(&b->lock);
    return found;
}

static size_t put_u64(uint8_t *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
    return 8;
}

size_t st_ban_key(const st_ban *ban, uint8_t *out)
{
    const char *as = st_ban_as_name(ban->as);
    size_t a = strlen(as), w = strlen(ban->who);
    memcpy(out, as, a);
    out[a] = 0;
    memcpy(out + a + 1, ban->who, w);
    return a + 1 + w;
}

size_t st_ban_value(const st_ban *ban, uint8_t *out)
{
    size_t n = st_put_str16(out, ban->by);
    n += st_put_str16(out + n, ban->reason);
    n += put_u64(out + n, (uint64_t)ban->at_ms);
    n += put_u64(out + n, (uint64_t)ban->until_ms);
    return n;
}

int st_ban_decode(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, st_ban *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *nul = memchr(key, 0, klen);
    char as[32];
    size_t al = nul ? (size_t)(nul - key) : 0, wl = nul ? klen - al - 1 : 0;
    if (!nul || al >= sizeof as || wl == 0 || wl >= sizeof out->who) return -1;
    memcpy(as, key, al);
    as[al] = 0;
    out->as = st_ban_as_of(as);
    memcpy(out->who, nul + 1, wl);
    if (out->as < 0 || !val) return out->as < 0 ? -1 : 0;
    size_t a = st_get_str16(val, vlen, out->by, sizeof out->by);
    size_t b = a ? st_get_str16(val + a, vlen - a, out->reason, sizeof out->reason) : 0;
    if (!a || !b || a + b + 16 != vlen) return -1;
    for (int i = 0; i < 8; i++) {
        out->at_ms = (int64_t)((uint64_t)out->at_ms << 8 | val[a + b + i]);
        out->until_ms = (int64_t)((uint64_t)out->until_ms << 8 | val[a + b + 8 + i]);
    }
    return 0;
}
