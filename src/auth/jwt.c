/* jwt.c — JWT checking with OpenSSL (jwt.h). */
#include "auth/jwt.h"
#include "core/base64.h"
#include "core/clock.h"
#include "core/json.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_jwt_key(st_jwt *j, const char *secret, int b64, const char *public_key, char *err,
               size_t errlen)
{
    if (!j->public_key) {
        long n = b64 ? st_b64_decode(secret, strlen(secret), j->secret, sizeof j->secret)
                     : (long)strlen(secret);
        if (n <= 0 || (size_t)n > sizeof j->secret) {
            snprintf(err, errlen, "secret: %s", b64 ? "not base64" : "empty or too long");
            return -1;
        }
        if (!b64) memcpy(j->secret, secret, (size_t)n);
        j->secret_len = (size_t)n;
        return 0;
    }
    BIO *bio = strstr(public_key, "-----BEGIN")
                   ? BIO_new_mem_buf(public_key, -1)
                   : BIO_new_file(public_key, "r"); /* EMQX: PEM text, or a file's path */
    j->pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!j->pkey) {
        snprintf(err, errlen, "public_key: not a PEM public key (or a file holding one)");
        return -1;
    }
    return 0;
}

void st_jwt_free(st_jwt *j)
{
    EVP_PKEY_free(j->pkey);
    j->pkey = NULL;
    OPENSSL_cleanse(j->secret, sizeof j->secret);
}

static const EVP_MD *md_of(const char *alg)
{
    const char *bits = alg + 2;
    return strcmp(bits, "256") == 0   ? EVP_sha256()
           : strcmp(bits, "384") == 0 ? EVP_sha384()
           : strcmp(bits, "512") == 0 ? EVP_sha512()
                                      : NULL;
}

/* ES*: JWS's r ‖ s into DER (what OpenSSL verifies). Its length, or 0. */
static size_t ecdsa_der(const unsigned char *sig, size_t n, unsigned char *out, size_t cap)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(n / 2), NULL), *s = BN_bin2bn(sig + n / 2, (int)(n / 2), NULL);
    size_t len = 0;
    if (es && r && s && n % 2 == 0 && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL;
        int need = i2d_ECDSA_SIG(es, NULL);
        unsigned char *p = out;
        if (need > 0 && (size_t)need <= cap) len = (size_t)i2d_ECDSA_SIG(es, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len;
}

/* Is sig right for msg under the token's alg? */
static int signature_ok(const st_jwt *j, const char *alg, const char *msg, size_t n,
                        const unsigned char *sig, size_t sl)
{
    const EVP_MD *md = strlen(alg) == 5 ? md_of(alg) : NULL;
    if (!md) return 0; /* "none", and everything else we do not know */
    if (!j->public_key) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int ml = 0;
        if (strncmp(alg, "HS", 2) != 0 ||
            !HMAC(md, j->secret, (int)j->secret_len, (const unsigned char *)msg, n, mac, &ml))
            return 0;
        return ml == sl && CRYPTO_memcmp(mac, sig, ml) == 0;
    }
    int rsa = strncmp(alg, "RS", 2) == 0, ec = strncmp(alg, "ES", 2) == 0;
    int type = EVP_PKEY_get_base_id(j->pkey);
    if (!(rsa && type == EVP_PKEY_RSA) && !(ec && type == EVP_PKEY_EC)) return 0;
    unsigned char der[160];
    if (ec && !(sl = ecdsa_der(sig, sl, der, sizeof der))) return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, j->pkey) == 1 &&
             EVP_DigestVerify(ctx, ec ? der : sig, sl, (const unsigned char *)msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* A claim's value as text: a string's characters, anything else as written. */
static int claim_text(const char *json, const st_jtok *t, int k, char *out, size_t cap)
{
    if (t[k].type == ST_J_STRING) return st_json_str(json, &t[k], out, cap) < 0 ? -1 : 0;
    size_t n = t[k].end - t[k].start;
    if (n >= cap) return -1;
    memcpy(out, json + t[k].start, n);
    out[n] = 0;
    return 0;
}

/* ${clientid} and ${username} in tmpl, for a claim's expected value. */
static void expand(const char *tmpl, const char *cid, size_t cl, const char *user, size_t ul,
                   char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < cap;) {
        const char *v = NULL;
        size_t vl = 0, skip = 1;
        if (strncmp(p, "${clientid}", 11) == 0) v = cid, vl = cl, skip = 11;
        if (strncmp(p, "${username}", 11) == 0) v = user, vl = ul, skip = 11;
        if (skip == 1) {
            out[o++] = *p;
        } else {
            for (size_t i = 0; v && i < vl && o + 1 < cap; i++)
                out[o++] = v[i];
        }
        p += skip;
    }
    out[o] = 0;
}

/* EMQX's truthy is_superuser: true, "true", "1", a number >= 1. */
static int truthy(const char *json, const st_jtok *t, int k)
{
    char v[32];
    if (k < 0) return 0;
    if (t[k].type == ST_J_TRUE) return 1;
    if (claim_text(json, t, k, v, sizeof v) < 0) return 0;
    return strcmp(v, "true") == 0 || atof(v) >= 1;
}

static double num_claim(const char *json, const st_jtok *t, int k, int *bad)
{
    char v[32], *end;
    if (claim_text(json, t, k, v, sizeof v) < 0) return *bad = 1, 0;
    double d = strtod(v, &end);
    if (*end || !*v) *bad = 1;
    return d;
}

int st_jwt_check(const st_jwt *j, const char *token, size_t len, const char *clientid, size_t cl,
                 const char *username, size_t ul, int *superuser, char *why, size_t whylen)
{
    char header[1024], claims[8192], alg[16] = "";
    unsigned char sig[512];
    st_jtok t[512];
    *superuser = 0;
    const char *d1 = memchr(token, '.', len),
               *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
        snprintf(why, whylen, "not a JWT");
        return ST_JWT_IGNORE;
    }
    long hl = st_b64url_decode(token, (size_t)(d1 - token), (uint8_t *)header, sizeof header - 1);
    long pl = st_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (uint8_t *)claims, sizeof claims - 1);
    long sl = st_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof sig);
    int nh = hl > 0 ? st_json_parse(header, (size_t)hl, t, 512) : -1;
    int a = nh > 0 && t[0].type == ST_J_OBJECT ? st_json_get(header, t, 0, "alg") : -1;
    if (pl <= 0 || sl < 0 || a < 0 || st_json_str(header, &t[a], alg, sizeof alg) < 0 ||
        !signature_ok(j, alg, token, (size_t)(d2 - token), sig, (size_t)sl)) {
        snprintf(why, whylen, "its signature does not verify (alg %s)", alg[0] ? alg : "?");
        return ST_JWT_IGNORE;
    }
    int nc = st_json_parse(claims, (size_t)pl, t, 512);
    if (nc <= 0 || t[0].type != ST_J_OBJECT) {
        snprintf(why, whylen, "its claims are not a JSON object");
        return ST_JWT_DENY;
    }
    double now = (double)st_wall_ms() / 1000.0;
    int bad = 0, exp = st_json_get(claims, t, 0, "exp"), nbf = st_json_get(claims, t, 0, "nbf");
    if (exp >= 0 && (num_claim(claims, t, exp, &bad) <= now || bad)) {
        snprintf(why, whylen, "expired (exp)");
        return ST_JWT_DENY;
    }
    if (nbf >= 0 && (num_claim(claims, t, nbf, &bad) > now || bad)) {
        snprintf(why, whylen, "not valid yet (nbf)");
        return ST_JWT_DENY;
    }
    for (int i = 0; i < j->nclaims; i++) {
        char want[512], got[512];
        int k = st_json_get(claims, t, 0, j->claim[i]);
        expand(j->value[i], clientid, cl, username, ul, want, sizeof want);
        if (k < 0 || claim_text(claims, t, k, got, sizeof got) < 0 || strcmp(got, want) != 0) {
            snprintf(why, whylen, "claim %s is not %s", j->claim[i], want);
            return ST_JWT_DENY;
        }
    }
    *superuser = truthy(claims, t, st_json_get(claims, t, 0, "is_superuser"));
    return ST_JWT_ALLOW;
}

long st_jwt_claim(const char *token, size_t len, const char *name, char *out, size_t cap)
{
    char claims[8192];
    st_jtok t[512];
    const char *d1 = memchr(token, '.', len),
               *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    long pl =
        d2 ? st_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (uint8_t *)claims, sizeof claims - 1)
           : -1;
    int n = pl > 0 ? st_json_parse(claims, (size_t)pl, t, 512) : -1;
    int k = n > 0 && t[0].type == ST_J_OBJECT ? st_json_get(claims, t, 0, name) : -1;
    if (k < 0) return -1;
    size_t from = t[k].start - (t[k].type == ST_J_STRING),
           to = t[k].end + (t[k].type == ST_J_STRING);
    if (to - from >= cap) return -1;
    memcpy(out, claims + from, to - from);
    out[to - from] = 0;
    return (long)(to - from);
}
