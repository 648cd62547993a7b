/* scram.h — SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as the server of MQTT 5
 * enhanced authentication (docs/security.md §2): EMQX's `mechanism = scram`. A user is kept
 * as its salt and "base64(StoredKey):base64(ServerKey)" (the password itself is never
 * stored, and the exchange never sends it). No channel binding (gs2 "n" or "y"), no
 * authzid. Pure functions over the exchange's state: any thread, fuzzable. */
#ifndef ST_AUTH_SCRAM_H
#define ST_AUTH_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#define ST_SCRAM_MSG 512 /* the longest message either side may send */

typedef struct st_scram {
    int sha512;
    char user[256]; /* the client-first's n=, unescaped (=2C, =3D) */
    size_t ulen;
    char bare[ST_SCRAM_MSG]; /* client-first-message-bare */
    size_t bare_len;
    char first[ST_SCRAM_MSG]; /* server-first-message */
    size_t first_len;
    char nonce[200]; /* the client's nonce, then with the server's appended */
    size_t nonce_len;
    uint8_t stored[64], server[64]; /* the user's keys (unknown user: random) */
    size_t klen;
} st_scram;

/* The stored form of a password ("b64:b64", NUL-terminated in out): its length, or -1. */
int st_scram_keys(int sha512, const char *pw, size_t plen, const char *salt, int iterations,
                  char *out, size_t cap);
/* The client-first-message: 0 (s->user set), or -1 malformed. */
int st_scram_client_first(st_scram *s, int sha512, const uint8_t *msg, size_t n);
/* The server-first-message into out (and s), for the user's salt, iterations and stored
 * keys (stored NULL or unreadable: an unknown user, whose exchange fails at the proof
 * without saying so sooner). Its length, or -1. */
int st_scram_server_first(st_scram *s, const char *salt, int iterations, const char *stored,
                          char *out, size_t cap);
/* The client-final-message: 1 the proof is right (out: the server-final-message, *outlen),
 * 0 it is not, -1 malformed. Constant time in the proof. */
int st_scram_client_final(st_scram *s, const uint8_t *msg, size_t n, char *out, size_t cap,
                          size_t *outlen);

#endif
