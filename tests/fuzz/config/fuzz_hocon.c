/* fuzz_hocon.c — libFuzzer target for the HOCON reader: parse from memory (includes off),
 * resolve substitutions against a small fixed environment, then push every resolved value
 * through the schema converters. Also parses the input as a single value, the way
 * environment overrides are read. Any crash, leak or sanitizer report is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/hocon.h"
#include "config/schema.h"

static void convert_all(const st_hocon_node *n, size_t *salt)
{
    size_t nkeys;
    const struct st_schema_key *keys = st_schema_keys(&nkeys);
    struct st_cval v;
    char msg[256];
    if (st_schema_convert(&keys[(*salt)++ % nkeys], n, &v, msg, sizeof(msg)) == 0) st_cval_free(&v);
    for (size_t i = 0; i < n->n; i++)
        convert_all(n->items[i], salt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *const envp[] = {"HOME=/home/fuzz", "PORT=1883", "EMPTY=", NULL};
    const struct st_hocon_opts opts = {.no_include = 1};
    char err[256];
    st_hocon_doc *doc = st_hocon_doc_new();
    st_hocon_node *root = NULL;
    if (!doc) return 0;
    if (st_hocon_parse_buffer(doc, (const char *)data, size, "fuzz.conf", &opts, &root, err,
                              sizeof(err)) == 0) {
        if (st_hocon_resolve(root, envp, err, sizeof(err)) == 0) {
            size_t salt = size;
            convert_all(root, &salt);
        }
        st_hocon_node_free(root);
    }
    st_hocon_node *v = NULL;
    if (st_hocon_parse_value(doc, (const char *)data, size, "env FUZZ", &v, err, sizeof(err)) == 0)
        st_hocon_node_free(v);
    st_hocon_doc_free(doc);
    return 0;
}
