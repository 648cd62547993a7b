/* k8s.c — Kubernetes discovery (cluster.discovery_strategy = k8s, docs/cluster.md §6):
 * GET <apiserver>/api/v1/namespaces/<namespace>/endpoints/<service_name>, with the pod's
 * service-account token (read again each round: kubelet rotates it) and CA when they exist.
 * Every address of every subset, ready or not (a pod that is not ready yet is still a node
 * to cluster with), becomes a node name as EMQX builds it: <name part>@<ip>, or
 * @<ip with dashes>.<namespace>.<suffix> (dns), or @<hostname>.<service>.<namespace>.<suffix>
 * (hostname). Runs on the thread pool and touches nothing but its job (web.h). */
#include "cluster/discovery/web.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount/"
#define TOKEN_MAX 65536

/* The token file's content without surrounding whitespace, or NULL (no file). */
static char *read_token(void)
{
    FILE *f = fopen(SA_DIR "token", "r");
    if (!f) return NULL;
    char *s = malloc(TOKEN_MAX);
    size_t n = s ? fread(s, 1, TOKEN_MAX - 1, f) : 0;
    fclose(f);
    if (!s) return NULL;
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    s[n] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
    return s;
}

/* The string member name of the object at obj into out; 0, or -1 if absent or too long. */
static int str_member(const char *s, const st_jtok *t, int obj, const char *name, char *out,
                      size_t cap)
{
    int v = st_json_get(s, t, (uint32_t)obj, name);
    return v >= 0 && st_json_str(s, &t[v], out, cap) > 0 ? 0 : -1;
}

/* The host part of one address object's node name, as cluster.k8s.address_type says (out
 * holds any: 400 bytes); -1 when the address lacks what that type needs. */
static int host_of(st_dw_job *j, const char *s, const st_jtok *t, int addr, char out[400])
{
    const st_disc_cfg *cfg = j->cfg;
    int by_name = cfg->k8s_addr == ST_K8S_HOSTNAME;
    char v[128];
    if (t[addr].type != ST_J_OBJECT ||
        str_member(s, t, addr, by_name ? "hostname" : "ip", v, sizeof v) < 0) {
        st_dw_err(j, "an endpoint address without %s: skipped", by_name ? "a hostname" : "an ip");
        return -1;
    }
    switch (cfg->k8s_addr) {
    case ST_K8S_HOSTNAME:
        snprintf(out, 400, "%s.%s.%s.%s", v, cfg->k8s_service, cfg->k8s_namespace, cfg->k8s_suffix);
        break;
    case ST_K8S_DNS:
        for (char *p = v; *p; p++) /* 10.0.0.1 -> 10-0-0-1 (and an IPv6 address's colons) */
            if (*p == '.' || *p == ':') *p = '-';
        snprintf(out, 400, "%s.%s.%s", v, cfg->k8s_namespace, cfg->k8s_suffix);
        break;
    default:
        snprintf(out, 400, "%s", v);
    }
    return 0;
}

static void add_name(st_dw_job *j, const char *name)
{
    for (int i = 0; i < j->n; i++)
        if (strcmp(j->names[i], name) == 0) return; /* one pod, several ports or subsets */
    if (!st_dw_node_name_ok(name)) {
        st_dw_err(j, "\"%.100s\" is not a node name: skipped", name);
        return;
    }
    if (j->n == ST_DW_MAX_NAMES) {
        st_dw_err(j, "over %d nodes listed: the others are ignored", ST_DW_MAX_NAMES);
        return;
    }
    memcpy(j->names[j->n++], name, strlen(name) + 1); /* a node name is < 256 bytes */
}

static int addresses(st_dw_job *j, const char *s, const st_jtok *t, int list)
{
    if (list < 0) return 0;
    if (t[list].type != ST_J_ARRAY) return ST_EMALFORMED;
    const char *at = strchr(j->cfg->node_name, '@');
    int base = (int)(at - j->cfg->node_name);
    for (uint32_t k = 0; k < t[list].size; k++) {
        char host[400], name[700];
        if (host_of(j, s, t, st_json_at(t, (uint32_t)list, k), host) < 0) continue;
        snprintf(name, sizeof name, "%.*s@%s", base, j->cfg->node_name, host);
        add_name(j, name);
    }
    return 0;
}

int st_k8s_names(st_dw_job *j, const char *s, const st_jtok *t)
{
    j->n = 0;
    int kind = st_json_get(s, t, 0, "kind");
    if (kind >= 0 && !st_json_eq(s, &t[kind], "Endpoints")) return ST_EMALFORMED;
    int subsets = st_json_get(s, t, 0, "subsets");
    if (subsets < 0) return 0; /* no endpoints at all (yet) */
    if (t[subsets].type != ST_J_ARRAY) return ST_EMALFORMED;
    for (uint32_t i = 0; i < t[subsets].size; i++) {
        int sub = st_json_at(t, (uint32_t)subsets, i);
        if (t[sub].type != ST_J_OBJECT) return ST_EMALFORMED;
        if (addresses(j, s, t, st_json_get(s, t, (uint32_t)sub, "addresses")) < 0 ||
            addresses(j, s, t, st_json_get(s, t, (uint32_t)sub, "notReadyAddresses")) < 0)
            return ST_EMALFORMED;
    }
    return 0;
}

void st_k8s_round(st_dw_job *j)
{
    const st_disc_cfg *cfg = j->cfg;
    char url[512], e[300];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/endpoints/%s", cfg->k8s_apiserver,
             cfg->k8s_namespace, cfg->k8s_service);
    char *token = read_token();
    st_dw_http h = {.url = url, .token = token, .timeout_ms = ST_DW_TIMEOUT_MS};
    if (access(SA_DIR "ca.crt", R_OK) == 0) h.cafile = SA_DIR "ca.crt";
    if (st_dw_http_do(&h, e, sizeof e) < 0)
        st_dw_err(j, "%s: %s", url, e);
    else if (st_k8s_names(j, h.resp, h.tok) < 0)
        st_dw_err(j, "%s: the answer is not an Endpoints object", url);
    else
        j->listed = j->ok = 1;
    st_dw_http_free(&h);
    free(token);
}
