/* passwd.c — password hashes (passwd.h): libcrypto's digests and PBKDF2, libcrypt's bcrypt. */
#include "auth/passwd.h"
#include "auth/scram.h"

#include <crypt.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define PBKDF2_FAST 1000 /* iterations below which pbkdf2 runs on the event loop */

static int index_of(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

int st_pw_alg_of(const char *name)
{
    static const char *const n[] = {"plain", "md5", "sha", "sha256", "sha512", "bcrypt", "pbkdf2"};
    return index_of(name, n, 7);
}

int st_pw_salt_of(const char *name)
{
    static const char *const n[] = {"disable", "prefix", "suffix"};
    return index_of(name, n, 3);
}

int st_pw_mac_of(const char *name)
{
    static const char *const n[] = {"sha", "sha224", "sha256", "sha384", "sha512"};
    return index_of(name, n, 5);
}

static const EVP_MD *digest(int alg)
{
    switch (alg) {
    case ST_PW_MD5:
        return EVP_md5();
    case ST_PW_SHA:
        return EVP_sha1();
    case ST_PW_SHA256:
        return EVP_sha256();
    case ST_PW_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

static const EVP_MD *mac(int m)
{
    static const int algs[] = {ST_PW_SHA, -1, ST_PW_SHA256, -1, ST_PW_SHA512};
    if (m == ST_MAC_SHA224) return EVP_sha224();
    if (m == ST_MAC_SHA384) return EVP_sha384();
    return m >= 0 && m < 5 ? digest(algs[m]) : NULL;
}

static int hex(const unsigned char *b, size_t n, char *out, size_t cap)
{
    if (2 * n + 1 > cap) return -1;
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return (int)(2 * n);
}

/* H(salt ‖ pw), H(pw ‖ salt) or H(pw). */
static int simple(const st_pw_algo *a, const char *salt, const char *pw, size_t plen, char *out,
                  size_t cap)
{
    size_t sl = a->salt_position == ST_SALT_DISABLE ? 0 : strlen(salt);
    if (a->alg == ST_PW_PLAIN) { /* stored as it is (an import's salt goes where it says) */
        if (sl + plen + 1 > cap) return -1;
        const char *first = a->salt_position == ST_SALT_SUFFIX ? pw : salt;
        const char *second = a->salt_position == ST_SALT_SUFFIX ? salt : pw;
        size_t fl = first == pw ? plen : sl;
        memcpy(out, first, fl);
        memcpy(out + fl, second, sl + plen - fl);
        out[sl + plen] = 0;
        return (int)(sl + plen);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, digest(a->alg), NULL) == 1 &&
             (a->salt_position != ST_SALT_PREFIX || EVP_DigestUpdate(c, salt, sl) == 1) &&
             EVP_DigestUpdate(c, pw, plen) == 1 &&
             (a->salt_position != ST_SALT_SUFFIX || EVP_DigestUpdate(c, salt, sl) == 1) &&
             EVP_DigestFinal_ex(c, md, &ml) == 1;
    EVP_MD_CTX_free(c);
    return ok ? hex(md, ml, out, cap) : -1;
}

static int pbkdf2(const st_pw_algo *a, const char *salt, const char *pw, size_t plen, char *out,
                  size_t cap)
{
    const EVP_MD *md = mac(a->mac_fun);
    int len = a->dk_length > 0 ? a->dk_length : md ? EVP_MD_get_size(md) : 0;
    unsigned char dk[ST_PW_MAX / 2];
    if (!md || len <= 0 || (size_t)len > sizeof dk || a->iterations <= 0) return -1;
    if (PKCS5_PBKDF2_HMAC(pw, (int)plen, (const unsigned char *)salt, (int)strlen(salt),
                          a->iterations, md, len, dk) != 1)
        return -1;
    return hex(dk, (size_t)len, out, cap);
}

static int bcrypt(const char *salt, const char *pw, size_t plen, char *out, size_t cap)
{
    char key[73]; /* bcrypt reads at most 72 bytes of the password */
    struct crypt_data cd;
    if (memchr(pw, 0, plen)) return -1; /* bcrypt would stop there: "ab\0x" would be "ab" */
    if (plen > 72) plen = 72;
    memcpy(key, pw, plen);
    key[plen] = 0;
    memset(&cd, 0, sizeof cd);
    const char *h = crypt_rn(key, salt, &cd, sizeof cd);
    OPENSSL_cleanse(key, sizeof key);
    if (!h || h[0] == '*' || strlen(h) + 1 > cap) return -1;
    strcpy(out, h);
    return (int)strlen(out);
}

int st_pw_hash(const st_pw_algo *a, const char *salt, const char *pw, size_t plen, char *out,
               size_t cap)
{
    if (a->alg == ST_PW_BCRYPT) return bcrypt(salt, pw, plen, out, cap);
    if (a->alg == ST_PW_PBKDF2) return pbkdf2(a, salt, pw, plen, out, cap);
    if (a->alg == ST_PW_SCRAM)
        return st_scram_keys(a->mac_fun == ST_MAC_SHA512, pw, plen, salt, a->iterations, out, cap);
    return simple(a, salt, pw, plen, out, cap);
}

static int rounds(const st_pw_algo *a)
{
    return a->salt_rounds < 5 ? 5 : a->salt_rounds > 10 ? 10 : a->salt_rounds;
}

int st_pw_salt_new(const st_pw_algo *a, char *out, size_t cap)
{
    unsigned char r[16];
    out[0] = 0;
    if (a->alg == ST_PW_BCRYPT) {
        char prefix[8];
        snprintf(prefix, sizeof prefix, "$2b$%02d$", rounds(a));
        return crypt_gensalt_rn("$2b$", (unsigned long)rounds(a), NULL, 0, out, (int)cap) &&
                       strncmp(out, prefix, strlen(prefix)) == 0
                   ? 0
                   : -1;
    }
    if (a->alg == ST_PW_PLAIN ||
        (a->alg != ST_PW_PBKDF2 && a->alg != ST_PW_SCRAM && a->salt_position == ST_SALT_DISABLE))
        return 0;
    if (RAND_bytes(r, sizeof r) != 1) return -1;
    return hex(r, sizeof r, out, cap) < 0 ? -1 : 0;
}

int st_pw_check(const st_pw_algo *a, const char *salt, const char *stored, const char *pw,
                size_t plen)
{
    char h[ST_PW_MAX];
    int n = st_pw_hash(a, a->alg == ST_PW_BCRYPT ? stored : salt, pw, plen, h, sizeof h);
    size_t sl = strlen(stored);
    if (n < 0 || (size_t)n != sl) return 0;
    unsigned diff = 0;
    int fold = a->alg != ST_PW_BCRYPT && a->alg != ST_PW_PLAIN && a->alg != ST_PW_SCRAM; /* hex */
    for (size_t i = 0; i < sl; i++) {
        unsigned char x = (unsigned char)h[i], y = (unsigned char)stored[i];
        if (fold) x = (unsigned char)tolower(x), y = (unsigned char)tolower(y);
        diff |= x ^ y;
    }
    OPENSSL_cleanse(h, sizeof h);
    return diff == 0;
}

int st_pw_slow(const st_pw_algo *a)
{
    return a->alg == ST_PW_BCRYPT || (a->alg == ST_PW_PBKDF2 && a->iterations >= PBKDF2_FAST);
}
