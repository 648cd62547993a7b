/* fuzz_json.c — libFuzzer target for the JSON reader: whatever parses must have tokens
 * that nest properly inside the input, and every string must decode. */
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static st_jtok toks[4096];
static char out[1 << 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int n = st_json_parse(s, size, toks, 4096);
    if (n == ST_EMALFORMED || n == ST_EFULL) return 0;
    if (n <= 0) abort();
    for (int i = 0; i < n; i++) {
        const st_jtok *t = &toks[i];
        if (t->start > t->end || t->end > size || t->next <= (uint32_t)i || t->next > (uint32_t)n)
            abort();
        if (t->type == ST_J_STRING && st_json_str(s, t, out, sizeof out) == ST_EINVAL) abort();
        if (t->type == ST_J_ARRAY && t->size && st_json_at(toks, (uint32_t)i, t->size - 1) < 0)
            abort();
    }
    if (toks[0].next != (uint32_t)n) abort();
    return 0;
}
