/* config_env.c — environment overrides, EMQX style: STARLING_ (or EMQX_) + the key path with
 * "__" between levels, lowercased, and the value parsed as a HOCON value (so "[a, b]" is an
 * array, "\"x\"" a string, 2MB a byte size; text that is not valid HOCON, or in which HOCON
 * would see a comment, like a URL, is taken as a plain string). The short forms of EMQX's
 * guides are mapped too. EMQX_ variables are applied before STARLING_ ones and short forms
 * before long ones, so the result does not depend on the order of envp. Values are merged
 * into the parsed file before validation and carry "env NAME" as their origin, so errors
 * point at the variable. */
#include "config/config_env.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "core/err.h"

#define MAX_SEGS 16

static const struct {
    const char *name;
    const char *path;
} short_forms[] = {
    {"NODE_NAME", "node.name"},
    {"DISCOVERY_STRATEGY", "cluster.discovery_strategy"},
    {"STATIC_DISCOVERY_NODES", "cluster.static.seeds"}, /* "a@h1,b@h2": the list type splits */
    {"K8S_APP_NAME", "cluster.k8s.app_name"},
};

static const char *const prefixes[] = {"EMQX_", "STARLING_"};

struct env_ctx {
    st_hocon_doc *doc;
    st_hocon_node *root;
    st_config_warn_fn warn;
    void *ctx;
    char *err;
    size_t errlen;
};

/* Would HOCON read a comment in it ("//" or "#" outside quotes)? A variable has none: such
 * text is a URL ("http://etcd:2379") or a secret with a '#', taken as a plain string. */
static int has_comment(const char *v)
{
    int quoted = 0;
    for (; *v; v++) {
        if (quoted && *v == '\\' && v[1])
            v++;
        else if (*v == '"')
            quoted = !quoted;
        else if (!quoted && (*v == '#' || (*v == '/' && v[1] == '/')))
            return 1;
    }
    return 0;
}

/* Parse the value; text that is not a HOCON value is kept as a plain string. */
static int env_value(struct env_ctx *e, const char *origin, const char *value, int raw,
                     st_hocon_node **out)
{
    char scratch[256];
    st_hocon_node *n = NULL;
    int rc = raw || !*value || has_comment(value)
                 ? ST_ECONFIG
                 : st_hocon_parse_value(e->doc, value, strlen(value), origin, &n, scratch,
                                        sizeof(scratch));
    if (rc == ST_ENOMEM) return rc;
    if (rc < 0) {
        n = st_hocon_node_new(ST_HOCON_STRING, origin, 0);
        if (!n || !(n->str = strdup(value))) {
            st_hocon_node_free(n);
            return ST_ENOMEM;
        }
        n->quoted = 1;
    }
    st_hocon_set_origin(n, origin, 0);
    *out = n;
    return 0;
}

static int apply_one(struct env_ctx *e, const char *var, size_t namelen, char **segs, size_t n,
                     int raw)
{
    char origin[300];
    snprintf(origin, sizeof(origin), "env %.*s", (int)namelen, var);
    const struct st_schema_key *k = NULL;
    int wild = 0;
    if (!st_schema_root_known(segs[0])) return 0; /* someone else's variable */
    if (st_schema_match((const char *const *)segs, n, &k, &wild) == ST_MATCH_NONE) {
        if (e->warn) {
            char msg[512];
            int len = snprintf(msg, sizeof(msg), "%s: ", origin);
            for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof(msg); i++)
                len +=
                    snprintf(msg + len, sizeof(msg) - (size_t)len, "%s%s", i ? "." : "", segs[i]);
            if (len > 0 && (size_t)len < sizeof(msg))
                snprintf(msg + len, sizeof(msg) - (size_t)len, ": unknown key, ignored");
            e->warn(e->ctx, msg);
        }
        return 0;
    }
    const char *file = st_hocon_doc_intern(e->doc, origin);
    st_hocon_node *v;
    if (!file || env_value(e, file, var + namelen + 1, raw, &v) < 0 ||
        st_hocon_insert(e->root, (const char *const *)segs, n, v) < 0) {
        snprintf(e->err, e->errlen, "%s: out of memory", origin);
        return ST_ENOMEM;
    }
    return 0;
}

/* STARLING_A__B_C -> ["a", "b_c"] (in buf); 0 segments if malformed. */
static size_t split_long(const char *rest, size_t len, char *buf, char **segs)
{
    size_t n = 0;
    char *o = buf;
    segs[n++] = o;
    for (size_t i = 0; i < len; i++) {
        if (rest[i] == '_' && i + 1 < len && rest[i + 1] == '_') {
            if (n == MAX_SEGS) return 0;
            *o++ = '\0';
            segs[n++] = o;
            i++;
        } else {
            *o++ = (char)tolower((unsigned char)rest[i]);
        }
    }
    *o = '\0';
    for (size_t i = 0; i < n; i++)
        if (!segs[i][0]) return segs[0][0] && st_schema_root_known(segs[0]) ? n : 0;
    return n;
}

static int apply_var(struct env_ctx *e, const char *var, const char *prefix, int pass)
{
    size_t plen = strlen(prefix);
    const char *eq = strchr(var, '=');
    if (!eq || strncmp(var, prefix, plen) != 0) return 0;
    const char *rest = var + plen;
    size_t rlen = (size_t)(eq - rest), namelen = (size_t)(eq - var);
    char buf[256], *segs[MAX_SEGS];
    if (rlen >= sizeof(buf)) return 0;
    if (pass == 0) {
        for (size_t i = 0; i < sizeof(short_forms) / sizeof(short_forms[0]); i++) {
            if (strlen(short_forms[i].name) != rlen || strncmp(rest, short_forms[i].name, rlen))
                continue;
            strcpy(buf, short_forms[i].path);
            size_t n = 0;
            for (char *s = buf; s; n++) {
                segs[n] = s;
                if ((s = strchr(s, '.'))) *s++ = '\0';
            }
            return apply_one(e, var, namelen, segs, n, 1);
        }
        return 0;
    }
    if (!memmem(rest, rlen, "__", 2)) return 0;
    size_t n = split_long(rest, rlen, buf, segs);
    return n ? apply_one(e, var, namelen, segs, n, 0) : 0;
}

int st_config_env_apply(st_hocon_doc *doc, st_hocon_node *root, char *const *envp,
                        st_config_warn_fn warn, void *ctx, char *err, size_t errlen)
{
    struct env_ctx e = {doc, root, warn, ctx, err, errlen};
    for (size_t p = 0; envp && p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
        for (int pass = 0; pass < 2; pass++)
            for (char *const *v = envp; *v; v++) {
                int rc = apply_var(&e, *v, prefixes[p], pass);
                if (rc < 0) return rc;
            }
    return 0;
}
