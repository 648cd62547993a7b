/* passwd.h — EMQX's password hashes for the built-in database (docs/security.md §3): plain,
 * md5, sha, sha256, sha512 with the salt before, after or not at all; pbkdf2; bcrypt. A hash
 * is lowercase hex (bcrypt: its "$2b$..." string), so that an EMQX export imports as it is;
 * a generated salt is 16 random bytes as 32 hex characters, used as text. Pure functions,
 * any thread. */
#ifndef ST_AUTH_PASSWD_H
#define ST_AUTH_PASSWD_H

#include <stddef.h>

enum st_pw_alg {
    ST_PW_PLAIN,
    ST_PW_MD5,
    ST_PW_SHA,
    ST_PW_SHA256,
    ST_PW_SHA512,
    ST_PW_BCRYPT,
    ST_PW_PBKDF2,
    ST_PW_SCRAM /* mechanism = scram: SCRAM's keys (scram.h), mac_fun sha256 or sha512 */
};
enum st_pw_salt { ST_SALT_DISABLE, ST_SALT_PREFIX, ST_SALT_SUFFIX };
/* pbkdf2's mac_fun */
enum st_pw_mac { ST_MAC_SHA, ST_MAC_SHA224, ST_MAC_SHA256, ST_MAC_SHA384, ST_MAC_SHA512 };

#define ST_PW_MAX 256 /* room for any hash this module makes, NUL included */

typedef struct st_pw_algo {
    int alg;           /* ST_PW_* */
    int salt_position; /* ST_SALT_* (the simple hashes) */
    int salt_rounds;   /* bcrypt: 5..10 (clamped, as EMQX does) */
    int mac_fun;       /* pbkdf2: ST_MAC_* */
    int iterations;    /* pbkdf2 */
    int dk_length;     /* pbkdf2: bytes of output, 0 = the digest's size */
} st_pw_algo;

/* Names as EMQX's config writes them ("sha256", "bcrypt", ...; mac_fun "sha", ...): the
 * value, or -1. */
int st_pw_alg_of(const char *name);
int st_pw_salt_of(const char *name);
int st_pw_mac_of(const char *name);

/* The hash of password pw with salt (text) into out (cap >= ST_PW_MAX): its length, or -1
 * (bcrypt: salt is the "$2b$NN$" + 22 characters setting, or a whole bcrypt hash). */
int st_pw_hash(const st_pw_algo *a, const char *salt, const char *pw, size_t plen, char *out,
               size_t cap);
/* A new salt for a (cap >= 64): "" for plain / salt disabled, 32 hex characters, or a
 * bcrypt setting with salt_rounds. 0, or -1 (no randomness). */
int st_pw_salt_new(const st_pw_algo *a, char *out, size_t cap);
/* Does pw match stored (made with salt)? Constant time in the hash; hex compared without
 * regard to case. 1 yes, 0 no. */
int st_pw_check(const st_pw_algo *a, const char *salt, const char *stored, const char *pw,
                size_t plen);
/* Slow enough to be run off the event loops (bcrypt; pbkdf2 beyond a few hundred rounds). */
int st_pw_slow(const st_pw_algo *a);

#endif
