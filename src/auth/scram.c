/* scram.c — the SCRAM server (scram.h). */
#include "auth/scram.h"
#include "core/base64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const EVP_MD *md(int sha512)
{
    return sha512 ? EVP_sha512() : EVP_sha256();
}

static size_t hmac(int sha512, const uint8_t *key, size_t klen, const void *msg, size_t n,
                   uint8_t *out)
{
    unsigned int len = 0;
    if (!HMAC(md(sha512), key, (int)klen, msg, n, out, &len)) return 0;
    return len;
}

static size_t hash(int sha512, const uint8_t *in, size_t n, uint8_t *out)
{
    unsigned int len = 0;
    if (EVP_Digest(in, n, out, &len, md(sha512), NULL) != 1) return 0;
    return len;
}

int st_scram_keys(int sha512, const char *pw, size_t plen, const char *salt, int iterations,
                  char *out, size_t cap)
{
    uint8_t salted[64], ck[64], sk[64], stored[64];
    size_t dl = sha512 ? 64 : 32;
    if (PKCS5_PBKDF2_HMAC(pw, (int)plen, (const unsigned char *)salt, (int)strlen(salt), iterations,
                          md(sha512), (int)dl, salted) != 1)
        return -1;
    int ok = hmac(sha512, salted, dl, "Client Key", 10, ck) == dl &&
             hmac(sha512, salted, dl, "Server Key", 10, sk) == dl && hash(sha512, ck, dl, stored);
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(ck, sizeof ck);
    if (!ok) return -1;
    long a = st_b64_encode(stored, dl, out, cap);
    if (a < 0 || (size_t)a + 2 > cap) return -1;
    out[a] = ':';
    long b = st_b64_encode(sk, dl, out + a + 1, cap - (size_t)a - 1);
    return b < 0 ? -1 : (int)(a + 1 + b);
}

/* The value of attribute `name` ("n=" ...) at *p in s[0..n), up to the next ','. */
static int attr(const char *s, size_t n, size_t *p, char name, const char **v, size_t *vl)
{
    if (*p + 2 > n || s[*p] != name || s[*p + 1] != '=') return -1;
    size_t start = *p + 2, e = start;
    while (e < n && s[e] != ',')
        e++;
    *v = s + start;
    *vl = e - start;
    *p = e < n ? e + 1 : e;
    return 0;
}

/* A saslname: "=2C" is ',', "=3D" is '='; any other '=' is malformed. */
static int unescape(const char *v, size_t n, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '=') {
            if (n - i < 3) return -1;
            if (v[i + 1] == '2' && v[i + 2] == 'C')
                c = ',';
            else if (v[i + 1] == '3' && v[i + 2] == 'D')
                c = '=';
            else
                return -1;
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = 0;
    *len = o;
    return 0;
}

/* A nonce: printable ASCII but ','. */
static int printable(const char *v, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',') return 0;
    return 1;
}

int st_scram_client_first(st_scram *s, int sha512, const uint8_t *msg, size_t n)
{
    const char *m = (const char *)msg, *v;
    size_t p = 0, vl;
    memset(s, 0, sizeof *s);
    s->sha512 = sha512;
    /* gs2-header: "n,," or "y,," (no channel binding, no authzid) */
    if (n < 3 || (m[0] != 'n' && m[0] != 'y') || m[1] != ',' || m[2] != ',') return -1;
    p = 3;
    size_t bare = p;
    if (n - bare >= sizeof s->bare) return -1;
    if (attr(m, n, &p, 'n', &v, &vl) < 0 ||
        unescape(v, vl, s->user, sizeof s->user, &s->ulen) < 0 || !s->ulen)
        return -1;
    if (attr(m, n, &p, 'r', &v, &vl) < 0 || !printable(v, vl) || vl + 33 > sizeof s->nonce)
        return -1;
    memcpy(s->nonce, v, vl);
    s->nonce_len = vl;
    memcpy(s->bare, m + bare, n - bare); /* extensions after r= are kept, not understood */
    s->bare_len = n - bare;
    return 0;
}

int st_scram_server_first(st_scram *s, const char *salt, int iterations, const char *stored,
                          char *out, size_t cap)
{
    uint8_t r[24];
    char snonce[33], salt64[128];
    size_t dl = s->sha512 ? 64 : 32;
    s->klen = dl;
    const char *colon = stored ? strchr(stored, ':') : NULL;
    if (!colon ||
        st_b64_decode(stored, (size_t)(colon - stored), s->stored, sizeof s->stored) != (long)dl ||
        st_b64_decode(colon + 1, strlen(colon + 1), s->server, sizeof s->server) != (long)dl) {
        if (RAND_bytes(s->stored, sizeof s->stored) != 1) return -1; /* nobody's keys */
        RAND_bytes(s->server, sizeof s->server);
    }
    if (RAND_bytes(r, sizeof r) != 1 || st_b64_encode(r, sizeof r, snonce, sizeof snonce) < 0)
        return -1;
    memcpy(s->nonce + s->nonce_len, snonce, 32);
    s->nonce_len += 32;
    if (st_b64_encode(salt, strlen(salt), salt64, sizeof salt64) < 0) return -1;
    int len =
        snprintf(out, cap, "r=%.*s,s=%s,i=%d", (int)s->nonce_len, s->nonce, salt64, iterations);
    if (len < 0 || (size_t)len >= cap || (size_t)len >= sizeof s->first) return -1;
    memcpy(s->first, out, (size_t)len);
    s->first_len = (size_t)len;
    return len;
}

int st_scram_client_final(st_scram *s, const uint8_t *msg, size_t n, char *out, size_t cap,
                          size_t *outlen)
{
    const char *m = (const char *)msg, *cb, *nonce, *proof;
    size_t p = 0, cbl, nl, pl;
    if (n >= ST_SCRAM_MSG || attr(m, n, &p, 'c', &cb, &cbl) < 0 ||
        attr(m, n, &p, 'r', &nonce, &nl) < 0)
        return -1;
    while (p < n && m[p] != 'p') /* extensions: skipped */
        if (attr(m, n, &p, m[p], &proof, &pl) < 0) return -1;
    if (p == 0 || p >= n) return -1;
    size_t without_proof = p - 1; /* "c=...,r=...[,ext]" */
    if (attr(m, n, &p, 'p', &proof, &pl) < 0 || p != n || m[n - 1] == ',') return -1;
    /* the channel binding is the gs2 header again ("biws" = "n,,", "eSws" = "y,,") */
    if (!((cbl == 4 && memcmp(cb, "biws", 4) == 0) || (cbl == 4 && memcmp(cb, "eSws", 4) == 0)))
        return -1;
    if (nl != s->nonce_len || memcmp(nonce, s->nonce, nl) != 0) return -1;
    uint8_t cproof[64], sig[64], key[64], check[64], ssig[64];
    size_t dl = s->klen;
    if (st_b64_decode(proof, pl, cproof, sizeof cproof) != (long)dl) return -1;
    char auth[3 * ST_SCRAM_MSG];
    int al = snprintf(auth, sizeof auth, "%.*s,%.*s,%.*s", (int)s->bare_len, s->bare,
                      (int)s->first_len, s->first, (int)without_proof, m);
    if (al < 0 || (size_t)al >= sizeof auth) return -1;
    if (hmac(s->sha512, s->stored, dl, auth, (size_t)al, sig) != dl) return -1;
    for (size_t i = 0; i < dl; i++)
        key[i] = cproof[i] ^ sig[i];
    if (hash(s->sha512, key, dl, check) != dl || CRYPTO_memcmp(check, s->stored, dl) != 0) return 0;
    if (hmac(s->sha512, s->server, dl, auth, (size_t)al, ssig) != dl) return -1;
    char v[100];
    if (st_b64_encode(ssig, dl, v, sizeof v) < 0) return -1;
    int len = snprintf(out, cap, "v=%s", v);
    if (len < 0 || (size_t)len >= cap) return -1;
    *outlen = (size_t)len;
    return 1;
}
