/* jwt.h — the JWT authenticator (EMQX's `mechanism = jwt`, docs/security.md §2): a token in
 * the CONNECT's password (or username), signed with an HMAC secret (HS256/384/512) or a
 * public key (RS256/384/512, ES256/384/512), checked with OpenSSL. exp and nbf are checked
 * when present, verify_claims must all hold (with ${clientid} / ${username}), and
 * is_superuser comes from the token. A token that does not verify leaves the decision to
 * the next authenticator, as in EMQX; a verified one that is expired or fails a claim is
 * refused (0x86). Pure functions of their arguments; any thread. */
#ifndef ST_AUTH_JWT_H
#define ST_AUTH_JWT_H

#include <openssl/evp.h>
#include <stddef.h>

#define ST_JWT_MAX_CLAIMS 8

typedef struct st_jwt {
    int public_key; /* algorithm = public-key (else hmac-based) */
    unsigned char secret[512];
    size_t secret_len;
    EVP_PKEY *pkey; /* public-key */
    int nclaims;
    char claim[ST_JWT_MAX_CLAIMS][64];
    char value[ST_JWT_MAX_CLAIMS][256];
} st_jwt;

enum { ST_JWT_IGNORE, ST_JWT_ALLOW, ST_JWT_DENY };

/* The key: the secret (base64 if b64), or public_key as PEM text or a PEM file's path.
 * 0, or -1 with why in err. */
int st_jwt_key(st_jwt *j, const char *secret, int b64, const char *public_key, char *err,
               size_t errlen);
void st_jwt_free(st_jwt *j);
/* Check token for a client: ST_JWT_* (superuser set for ALLOW; why for DENY/IGNORE). */
int st_jwt_check(const st_jwt *j, const char *token, size_t len, const char *clientid, size_t cl,
                 const char *username, size_t ul, int *superuser, char *why, size_t whylen);

/* A claim of a token (one that st_jwt_check let in) as JSON text, into out: its length, or
 * -1 when it has none (or it does not fit). */
long st_jwt_claim(const char *token, size_t len, const char *name, char *out, size_t cap);

#endif
