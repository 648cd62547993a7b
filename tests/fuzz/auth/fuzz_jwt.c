/* fuzz_jwt.c — libFuzzer target for the JWT check: the input as a token, and the input as a
 * header and claims (split at the first NUL) made into a token signed with the key, so that
 * the claims' checks run on whatever the fuzzer finds. The answer is always one of the
 * three, and nothing reads outside the input. */
#include "auth/jwt.h"
#include "core/base64.h"

#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const st_jwt *j, const char *tok, size_t n)
{
    char why[200];
    int su = 0;
    int v = st_jwt_check(j, tok, n, "dev-1", 5, "user", 4, &su, why, sizeof why);
    if (v != ST_JWT_IGNORE && v != ST_JWT_ALLOW && v != ST_JWT_DENY) abort();
    if (v != ST_JWT_ALLOW && su) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_jwt j;
    char err[100];
    memset(&j, 0, sizeof j);
    j.nclaims = 1;
    strcpy(j.claim[0], "sub");
    strcpy(j.value[0], "${clientid}");
    if (st_jwt_key(&j, "fuzz-secret", 0, "", err, sizeof err) < 0) abort();
    check(&j, (const char *)data, size);
    const uint8_t *nul = memchr(data, 0, size);
    if (nul && size < 4000) {
        char tok[12000];
        size_t hl = (size_t)(nul - data);
        long a = st_b64url_encode(data, hl, tok, sizeof tok);
        if (a < 0) return 0;
        tok[a] = '.';
        long b = st_b64url_encode(nul + 1, size - hl - 1, tok + a + 1, sizeof tok - (size_t)a - 1);
        if (b < 0) return 0;
        size_t n = (size_t)(a + 1 + b);
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), j.secret, (int)j.secret_len, (unsigned char *)tok, n, mac, &ml);
        tok[n] = '.';
        long c = st_b64url_encode(mac, ml, tok + n + 1, sizeof tok - n - 1);
        if (c > 0) check(&j, tok, n + 1 + (size_t)c);
    }
    st_jwt_free(&j);
    return 0;
}
