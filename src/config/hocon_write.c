/* hocon_write.c — a resolved HOCON tree back to text: HOCON as an operator writes it (the
 * root's fields without braces, `key = value`, nested objects as `key { ... }`) or JSON. What
 * is written reads back to the same tree: strings are always quoted, keys only when they hold
 * anything but letters, digits, '_' and '-'. */
#include "config/hocon.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

static void file_put(void *ctx, const char *p, size_t n)
{
    fwrite(p, 1, n, ctx);
}

static void write_str(FILE *out, const char *s)
{
    st_json_quote(s, strlen(s), file_put, out);
}

static void write_key(FILE *out, const char *k, int json)
{
    int plain = !json && k[0] != '\0';
    for (const char *p = k; plain && *p; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '_' || *p == '-';
    if (plain)
        fputs(k, out);
    else
        write_str(out, k);
}

static void indent(FILE *out, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("  ", out);
}

static void write_node(FILE *out, const st_hocon_node *n, int json, int depth);

/* An object's fields, one per line at depth. */
static void write_fields(FILE *out, const st_hocon_node *n, int json, int depth)
{
    for (size_t i = 0; i < n->n; i++) {
        indent(out, depth);
        write_key(out, n->keys[i], json);
        const st_hocon_node *v = n->items[i];
        if (json)
            fputs(": ", out);
        else if (v->kind != ST_HOCON_OBJECT)
            fputs(" = ", out);
        else
            fputc(' ', out);
        write_node(out, v, json, depth);
        fputs(json && i + 1 < n->n ? ",\n" : "\n", out);
    }
}

static void write_node(FILE *out, const st_hocon_node *n, int json, int depth)
{
    switch (n->kind) {
    case ST_HOCON_OBJECT:
        if (n->n == 0) {
            fputs("{}", out);
            return;
        }
        fputs("{\n", out);
        write_fields(out, n, json, depth + 1);
        indent(out, depth);
        fputc('}', out);
        return;
    case ST_HOCON_ARRAY:
        fputc('[', out);
        for (size_t i = 0; i < n->n; i++) {
            if (i) fputs(", ", out);
            write_node(out, n->items[i], json, depth);
        }
        fputc(']', out);
        return;
    case ST_HOCON_NUMBER:
        if (n->str)
            fputs(n->str, out);
        else if (n->is_int)
            fprintf(out, "%lld", (long long)n->inum);
        else
            fprintf(out, "%.17g", n->num);
        return;
    case ST_HOCON_BOOL:
        fputs(n->boolean ? "true" : "false", out);
        return;
    case ST_HOCON_STRING:
        write_str(out, n->str ? n->str : "");
        return;
    default: /* null, and what only an unresolved tree holds */
        fputs("null", out);
        return;
    }
}

void st_hocon_write(FILE *out, const st_hocon_node *n, int json)
{
    if (n->kind != ST_HOCON_OBJECT || json) {
        write_node(out, n, json, 0);
        fputc('\n', out);
        return;
    }
    write_fields(out, n, 0, 0);
}
