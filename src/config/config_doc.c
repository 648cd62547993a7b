/* config_doc.c — writes docs/config.md from the schema table, so the key reference can never
 * drift from what the loader accepts (a unit test regenerates it and compares). */
#include "config/config.h"

#include <inttypes.h>
#include <string.h>

#include "config/schema.h"

static const char intro[] =
    "# Configuration reference\n"
    "\n"
    "<!-- Generated from src/config/schema.c by st_config_doc_markdown(); do not edit.\n"
    "     Regenerate: build-dir/test_config_doc --write docs/config.md (from the repo root). -->\n"
    "\n"
    "Starling reads one [HOCON](https://github.com/lightbend/config/blob/main/HOCON.md) file,\n"
    "`etc/starling.conf`. Keys follow EMQX 5 names where the feature exists, so EMQX settings\n"
    "carry over. The file may use `key = value`, `key: value` or `key { ... }`, dotted keys\n"
    "(`mqtt.max_inflight = 64`), `#` and `//` comments, arrays (`[a, b]`), `include \"file\"`\n"
    "(relative to the including file), and `${path}` / `${?ENV_VAR}` substitutions. A repeated\n"
    "key merges: objects merge field by field and the later value wins.\n"
    "\n"
    "Value formats: durations `100ms`, `30s`, `5m`, `2h`, `1d` (a plain number is milliseconds);\n"
    "byte sizes `512B`, `64KB`, `1MB`, `1GB` (1024-based, case-insensitive; a plain number is\n"
    "bytes); `infinity` where the type says so.\n"
    "\n"
    "Unknown keys and invalid values stop the broker with `file:line: key: message`.\n"
    "\n"
    "## Environment overrides\n"
    "\n"
    "Every key can be set from the environment: `STARLING_` + the key path with `__` between\n"
    "levels (`STARLING_MQTT__MAX_PACKET_SIZE=2MB`, "
    "`STARLING_LISTENERS__TCP__DEFAULT__BIND=1884`).\n"
    "`EMQX_` works as an alias prefix. The value is parsed as a HOCON value, so `[a, b]` is an\n"
    "array and `\"x\"` a string; anything else, and text in which HOCON would see a comment\n"
    "(`//` or `#` outside quotes: `http://etcd:2379`), is taken as plain text. Short forms:\n"
    "`STARLING_NODE_NAME` (node.name), `STARLING_DISCOVERY_STRATEGY`\n"
    "(cluster.discovery_strategy), `STARLING_STATIC_DISCOVERY_NODES` (cluster.static.seeds,\n"
    "comma-separated), `STARLING_K8S_APP_NAME` (cluster.k8s.app_name), and their `EMQX_`\n"
    "spellings. A variable naming an unknown key under a\n"
    "known root (`STARLING_MQTT__NO_SUCH_KEY`) is reported as a warning and ignored; variables\n"
    "whose first level is not a config root are ignored.\n"
    "\n"
    "Precedence: defaults < file < the cluster's overrides < environment (`EMQX_` before\n"
    "`STARLING_`, so `STARLING_` wins). The cluster's overrides are the changes made through\n"
    "the API, `starling ctl conf` or the dashboard, kept by every node in\n"
    "`<node.data_dir>/configs/cluster.hocon` (docs/operations.md, \"Configuration through the\n"
    "API\").\n"
    "\n"
    "Map keys: `<name>` stands for any name, e.g. `listeners.tcp.default.bind`. If the config\n"
    "defines no TCP listener, `listeners.tcp.default` exists with the defaults below.\n";

static void range_text(const struct st_schema_key *k, char *buf, size_t len)
{
    buf[0] = '\0';
    if (k->type == ST_T_ENUM) {
        size_t j = 0;
        for (const char *c = k->choices; *c && j + 8 < len; c++)
            j += (size_t)snprintf(buf + j, len - j, "%s", *c == '|' ? ", " : (char[]){*c, 0});
    } else if (k->min == INT64_MIN && k->max == INT64_MAX) {
        return;
    } else {
        const char *unit = k->type == ST_T_DURATION   ? " ms"
                           : k->type == ST_T_BYTESIZE ? " bytes"
                                                      : "";
        if (k->max == INT64_MAX)
            snprintf(buf, len, ">= %" PRId64 "%s", k->min, unit);
        else
            snprintf(buf, len, "%" PRId64 "..%" PRId64 "%s", k->min, k->max, unit);
    }
}

void st_config_doc_markdown(FILE *out)
{
    size_t n;
    const struct st_schema_key *keys = st_schema_keys(&n);
    fputs(intro, out);
    size_t rootlen = 0;
    for (size_t i = 0; i < n; i++) {
        const struct st_schema_key *k = &keys[i];
        size_t len = strcspn(k->path, ".");
        if (i == 0 || len != rootlen || strncmp(k->path, keys[i - 1].path, len) != 0) {
            fprintf(out, "\n## %.*s\n\n", (int)len, k->path);
            fputs("| Key | Type | Default | Range | Description |\n", out);
            fputs("|---|---|---|---|---|\n", out);
            rootlen = len;
        }
        char type[64], range[256];
        st_schema_type_name(k, type, sizeof(type));
        for (char *bar; (bar = strstr(type, " | "));) /* a '|' would split the table cell */
            memcpy(bar, " / ", 3);
        range_text(k, range, sizeof(range));
        fprintf(out, "| `%s` | %s | `%s` | %s | %s |\n", k->path, type, k->def, range, k->desc);
    }
}
