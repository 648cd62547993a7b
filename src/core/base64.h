/* base64.h — standard base64 (RFC 4648 §4, "+/" with "=" padding), for the etcd v3 JSON
 * gateway, which carries keys and values as base64 strings (docs/cluster.md §6). */
#ifndef ST_BASE64_H
#define ST_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters st_b64_encode writes for n bytes, without the terminating NUL. */
#define ST_B64_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode n bytes into out (NUL-terminated). Returns the length written, or ST_EFULL when
 * out (cap bytes, the NUL included) is too small. */
long st_b64_encode(const void *in, size_t n, char *out, size_t cap);
/* Decode n characters (padded; no whitespace, no other alphabet). Returns the number of
 * bytes written to out, ST_EMALFORMED for text that is not canonical base64, or ST_EFULL
 * when cap does not suffice. out is not NUL-terminated. */
long st_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* base64url without padding (RFC 4648 §5, JWTs): the same contracts; decoding takes at
 * most 8 KiB of text. */
long st_b64url_encode(const void *in, size_t n, char *out, size_t cap);
long st_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
