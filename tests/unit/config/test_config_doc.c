/* test_config_doc.c — docs/config.md must be exactly what st_config_doc_markdown() writes.
 * Regenerate after changing the schema (from the repo root):
 *     build-config/test_config_doc --write docs/config.md */
#include "test.h"

#include <stdlib.h>

#include "config/config.h"
#include "config/schema.h"

#define DOC_PATH "../../../docs/config.md"

static char *generate(size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    st_config_doc_markdown(f);
    fclose(f);
    return buf;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static void test_doc_up_to_date(void)
{
    size_t glen = 0, flen = 0;
    char *gen = generate(&glen);
    char *file = read_all(DOC_PATH, &flen);
    CHECK(gen != NULL);
    CHECK(file != NULL);
    int same = gen && file && glen == flen && memcmp(gen, file, glen) == 0;
    CHECK(same);
    if (!same)
        fprintf(stderr, "docs/config.md is out of date with src/config/schema.c; regenerate it "
                        "from the repo root with:\n    <build-dir>/test_config_doc --write "
                        "docs/config.md\n");
    free(gen);
    free(file);
}

static void test_doc_lists_every_key(void)
{
    size_t len, n;
    char *gen = generate(&len);
    const struct st_schema_key *keys = st_schema_keys(&n);
    for (size_t i = 0; gen && i < n; i++) {
        char needle[200];
        snprintf(needle, sizeof(needle), "| `%s` |", keys[i].path);
        CHECK(strstr(gen, needle) != NULL);
    }
    CHECK(gen && strstr(gen, "STARLING_") && strstr(gen, "EMQX_") && strstr(gen, "Precedence"));
    free(gen);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        FILE *f = fopen(argv[2], "w");
        if (!f) {
            perror(argv[2]);
            return 1;
        }
        st_config_doc_markdown(f);
        return fclose(f) == 0 ? 0 : 1;
    }
    RUN(test_doc_up_to_date);
    RUN(test_doc_lists_every_key);
    return TEST_END();
}
