/* auth.c — cookie proofs with OpenSSL's HMAC-SHA256. */
#include "cluster/links/auth.h"
#include "core/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>

int st_auth_random(uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0) return ST_ESYS;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void put_name(uint8_t *buf, size_t *len, size_t cap, st_bytes name)
{
    if (*len + 2 + name.len > cap) return;
    buf[(*len)++] = (uint8_t)(name.len >> 8);
    buf[(*len)++] = (uint8_t)name.len;
    if (name.len) memcpy(buf + *len, name.p, name.len);
    *len += name.len;
}

void st_auth_proof(const char *cookie, int acceptor, const uint8_t nonce_d[CW_NONCE],
                   const uint8_t nonce_a[CW_NONCE], st_bytes acceptor_name, st_bytes dialer_name,
                   uint8_t stream, uint8_t out[CW_PROOF])
{
    uint8_t msg[2048]; /* names are at most 255 bytes (config), so this always fits */
    size_t len = 0;
    memcpy(msg, acceptor ? "STCL-A" : "STCL-D", 6);
    len = 6;
    memcpy(msg + len, acceptor ? nonce_d : nonce_a, CW_NONCE);
    len += CW_NONCE;
    memcpy(msg + len, acceptor ? nonce_a : nonce_d, CW_NONCE);
    len += CW_NONCE;
    put_name(msg, &len, sizeof msg, acceptor ? acceptor_name : dialer_name);
    put_name(msg, &len, sizeof msg, acceptor ? dialer_name : acceptor_name);
    msg[len++] = stream;
    unsigned int outlen = CW_PROOF;
    HMAC(EVP_sha256(), cookie, (int)strlen(cookie), msg, len, out, &outlen);
}

int st_auth_equal(const uint8_t a[CW_PROOF], const uint8_t b[CW_PROOF])
{
    return CRYPTO_memcmp(a, b, CW_PROOF) == 0;
}

uint64_t st_auth_node_id(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h;
}
