/* fuzz_scram.c — libFuzzer target for the SCRAM server's parsing: the input (split at the
 * first NUL) as a client-first-message and a client-final-message, against a user with known
 * keys. No input can carry the server's random nonce, so no proof can pass: an accepted
 * final aborts. Nothing reads outside the input (exact copies: an overread is ASan's). */
#include "auth/scram.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char stored[300];
    static int ready;
    if (!ready) {
        if (st_scram_keys(0, "pw", 2, "salt", 16, stored, sizeof stored) < 0) abort();
        ready = 1;
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t first = nul ? (size_t)(nul - data) : size;
    uint8_t *a = malloc(first ? first : 1);
    if (!a) return 0;
    memcpy(a, data, first);
    st_scram s;
    char out[ST_SCRAM_MSG];
    size_t outlen = 0;
    int ok = st_scram_client_first(&s, 0, a, first) == 0;
    if (ok && s.ulen == 0) abort(); /* a user name is required */
    if (ok && st_scram_server_first(&s, "salt", 16, stored, out, sizeof out) > 0 && nul) {
        size_t rest = size - first - 1;
        uint8_t *b = malloc(rest ? rest : 1);
        if (b) {
            memcpy(b, nul + 1, rest);
            if (st_scram_client_final(&s, b, rest, out, sizeof out, &outlen) == 1) abort();
            free(b);
        }
    }
    free(a);
    return 0;
}
