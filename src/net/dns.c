/* dns.c — DNS queries and answers for discovery (dns.h). */
#include "net/dns.h"
#include "core/err.h"

#include <string.h>

long st_dns_query(uint16_t id, const char *name, uint16_t type, uint8_t *buf, size_t cap)
{
    size_t nlen = strlen(name);
    if (nlen && name[nlen - 1] == '.') nlen--;
    if (!nlen || nlen > 253) return ST_EINVAL;
    size_t need = 12 + nlen + 2 + 4;
    if (cap < need) return ST_ETOOLARGE;
    uint8_t hdr[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(buf, hdr, 12);
    size_t o = 12, start = 0;
    for (size_t i = 0; i <= nlen; i++) {
        if (i < nlen && name[i] != '.') continue;
        size_t l = i - start;
        if (l == 0 || l > 63) return ST_EINVAL;
        buf[o++] = (uint8_t)l;
        memcpy(buf + o, name + start, l);
        o += l;
        start = i + 1;
    }
    buf[o++] = 0;
    buf[o++] = (uint8_t)(type >> 8);
    buf[o++] = (uint8_t)type;
    buf[o++] = 0;
    buf[o++] = 1; /* class IN */
    return (long)o;
}

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Skip a (possibly compressed) name at *o; 0 or -1. */
static int skip_name(const uint8_t *p, size_t n, size_t *o)
{
    for (int labels = 0; labels < 128; labels++) {
        if (*o >= n) return -1;
        uint8_t l = p[*o];
        if ((l & 0xC0) == 0xC0) { /* a pointer ends the name here */
            if (*o + 2 > n) return -1;
            *o += 2;
            return 0;
        }
        if (l & 0xC0) return -1; /* reserved label types */
        *o += 1u + l;
        if (l == 0) return 0;
    }
    return -1;
}

/* Read the (possibly compressed) name at *o as dotted text into out; *o moves past it. */
static int read_name(const uint8_t *p, size_t n, size_t *o, char *out, size_t cap)
{
    size_t pos = *o, len = 0;
    int jumped = 0;
    for (int hops = 0; hops < 128; hops++) {
        if (pos >= n) return -1;
        uint8_t l = p[pos];
        if ((l & 0xC0) == 0xC0) {
            if (pos + 2 > n) return -1;
            if (!jumped) *o = pos + 2;
            jumped = 1;
            pos = (size_t)(l & 0x3F) << 8 | p[pos + 1];
            continue;
        }
        if (l & 0xC0) return -1;
        if (l == 0) {
            if (!jumped) *o = pos + 1;
            out[len] = 0;
            return 0;
        }
        if (pos + 1 + l > n || len + l + 2 > cap) return -1;
        if (len) out[len++] = '.';
        memcpy(out + len, p + pos + 1, l);
        len += l;
        pos += 1u + l;
    }
    return -1;
}

/* The header checks and the question section: the offset of the first answer, or <0. */
static long answers_at(const uint8_t *p, size_t n, uint16_t id)
{
    if (n < 12 || u16(p) != id || !(p[2] & 0x80)) return ST_EMALFORMED;
    unsigned rcode = p[3] & 0x0F;
    if (rcode == 3) return 0; /* NXDOMAIN */
    if (rcode) return ST_EPROTO;
    size_t o = 12;
    for (unsigned i = 0, qd = u16(p + 4); i < qd; i++) {
        if (skip_name(p, n, &o) < 0 || o + 4 > n) return ST_EMALFORMED;
        o += 4;
    }
    return (long)o;
}

/* One record's rdata into r (if it is one we read): 1 kept, 0 skipped, -1 malformed. */
static int read_rr(const uint8_t *p, size_t n, size_t o, uint16_t t, uint16_t rdlen, st_dns_rr *r)
{
    r->type = t;
    r->port = 0; /* every field defined, whatever the type */
    r->target[0] = 0;
    memset(r->addr, 0, sizeof r->addr);
    if (t == ST_DNS_A || t == ST_DNS_AAAA) {
        if (rdlen != (t == ST_DNS_A ? 4 : 16)) return -1;
        memset(r->addr, 0, sizeof r->addr);
        memcpy(r->addr, p + o, rdlen);
        return 1;
    }
    if (t != ST_DNS_SRV) return 0;
    if (rdlen < 7) return -1;
    r->port = u16(p + o + 4);
    size_t to = o + 6;
    return read_name(p, n, &to, r->target, sizeof r->target) < 0 || to > o + rdlen ? -1 : 1;
}

int st_dns_records(const uint8_t *p, size_t n, uint16_t id, st_dns_rr *out, int max)
{
    long at = answers_at(p, n, id);
    if (at <= 0 || max <= 0) return at < 0 ? (int)at : 0;
    size_t o = (size_t)at;
    unsigned an = u16(p + 6), ns = u16(p + 8), ar = u16(p + 10);
    int found = 0;
    for (unsigned i = 0; i < an + ns + ar; i++) {
        st_dns_rr *r = &out[found < max ? found : max - 1];
        char scratch[256];
        if (read_name(p, n, &o, found < max ? r->name : scratch, 256) < 0 || o + 10 > n)
            return ST_EMALFORMED;
        uint16_t t = u16(p + o), cls = u16(p + o + 2), rdlen = u16(p + o + 8);
        o += 10;
        if (o + rdlen > n) return ST_EMALFORMED;
        int kept =
            cls == 1 && (i < an || i >= an + ns) && found < max ? read_rr(p, n, o, t, rdlen, r) : 0;
        if (kept < 0) return ST_EMALFORMED;
        found += kept;
        o += rdlen;
    }
    return found;
}

int st_dns_answers(const uint8_t *p, size_t n, uint16_t id, uint16_t type, uint8_t (*addr)[16],
                   int max)
{
    long at = answers_at(p, n, id);
    if (at <= 0) return (int)at;
    unsigned an = u16(p + 6);
    size_t o = (size_t)at;
    int found = 0;
    size_t alen = type == ST_DNS_A ? 4 : 16;
    for (unsigned i = 0; i < an; i++) {
        if (skip_name(p, n, &o) < 0 || o + 10 > n) return ST_EMALFORMED;
        uint16_t t = u16(p + o), cls = u16(p + o + 2), rdlen = u16(p + o + 8);
        o += 10;
        if (o + rdlen > n) return ST_EMALFORMED;
        if (t == type && cls == 1 && rdlen == alen && found < max) {
            memset(addr[found], 0, 16);
            memcpy(addr[found], p + o, alen);
            found++;
        }
        o += rdlen;
    }
    return found;
}
