/* conf.c — configuration through the API and the CLI (conf.h). The cluster's overrides are
 * one row of the replicated table (namespace ST_KV_CONF, key "cluster.hocon", its value the
 * HOCON text); a change composes the new text on the node asked, checks it there, and writes
 * the row; every node (this one too) applies the row when its table changes: it loads its
 * file with the text merged over it and its environment on top, keeps the text in
 * <data_dir>/configs/cluster.hocon, and hands what may change at once to the running parts. */
#include "admin/conf.h"
#include "admin/admin.h"
#include "broker/broker.h"
#include "config/hocon.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROW_KEY "cluster.hocon"
#define APPLY_WAIT_MS 5000
#define WRITE_WAIT_MS 10000
#define MAX_TEXT (1u << 20)

struct st_conf {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *path;             /* the node's file (NULL: none) */
    const st_config *start; /* what the node started with (the caller's) */
    st_config *now;         /* what it has since a change (NULL: start) */
    char *over;             /* the overrides' text it has ("" : none) */
    char *const *envp;
    st_log *log;
    char dir[1024]; /* <data_dir>/configs */
    struct st_broker *broker;
    struct st_admin *adm;
    st_cluster *cl;
};

static const st_config *current(const st_conf *cf)
{
    return cf->now ? cf->now : cf->start;
}

/* Taken by the running node at once (conf.h); anything else waits for a restart. */
static int hot(const char *key)
{
    return st_broker_retunable(key) || strcmp(key, "log.level") == 0 ||
           strcmp(key, "prometheus.enable_basic_auth") == 0;
}

char *st_conf_read_overrides(const char *data_dir, size_t *len)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/configs/" ROW_KEY, data_dir);
    return st_file_read(path, MAX_TEXT, len);
}

st_conf *st_conf_new(const char *path, const st_config *start, const char *over, char *const *envp,
                     st_log *log)
{
    st_conf *cf = calloc(1, sizeof *cf);
    if (!cf) return NULL;
    cf->path = path ? strdup(path) : NULL;
    cf->over = strdup(over ? over : "");
    if ((path && !cf->path) || !cf->over) {
        st_conf_free(cf);
        return NULL;
    }
    cf->start = start;
    cf->envp = envp;
    cf->log = log;
    snprintf(cf->dir, sizeof cf->dir, "%s/configs", st_config_str(start, "node.data_dir"));
    pthread_mutex_init(&cf->mu, NULL);
    st_cond_init_mono(&cf->cv);
    return cf;
}

void st_conf_free(st_conf *cf)
{
    if (!cf) return;
    st_config_free(cf->now);
    free(cf->path);
    free(cf->over);
    if (cf->log) { /* initialised (st_conf_new got that far) */
        pthread_mutex_destroy(&cf->mu);
        pthread_cond_destroy(&cf->cv);
    }
    free(cf);
}

void st_conf_targets(st_conf *cf, struct st_broker *b, struct st_admin *adm)
{
    pthread_mutex_lock(&cf->mu);
    cf->broker = b;
    cf->adm = adm;
    pthread_mutex_unlock(&cf->mu);
}

/* The node's file with text over it and env on top. */
static int load_with(const st_conf *cf, const char *text, char *const *env, st_config **out,
                     char *err, size_t errlen)
{
    struct st_config_layer l = {text, strlen(text), ROW_KEY};
    return st_config_load_over(cf->path, text[0] ? &l : NULL, env, NULL, NULL, out, err, errlen);
}

/* ---- applying ---------------------------------------------------------------------------- */

struct changes {
    sb changed, restart;
    int log, broker, prometheus;
};

static void note(void *ctx, const char *key)
{
    struct changes *ch = ctx;
    sb_printf(&ch->changed, "%s", ch->changed.len ? "," : "");
    sb_json_str(&ch->changed, key);
    if (!hot(key)) {
        sb_printf(&ch->restart, "%s", ch->restart.len ? "," : "");
        sb_json_str(&ch->restart, key);
    }
    ch->log |= strcmp(key, "log.level") == 0;
    ch->broker |= st_broker_retunable(key);
    ch->prometheus |= strcmp(key, "prometheus.enable_basic_auth") == 0;
}

static void answer(const struct changes *ch, sb *out)
{
    if (!out) return;
    sb_printf(out, "{\"changed\":[%.*s],\"restart_required\":[%.*s]}", (int)ch->changed.len,
              ch->changed.p ? ch->changed.p : "", (int)ch->restart.len,
              ch->restart.p ? ch->restart.p : "");
}

/* What may change at once, to the running parts. */
static void hand_over(st_conf *cf, const st_config *c, const struct changes *ch)
{
    if (ch->log && cf->log)
        st_log_set_level(cf->log, st_log_level_parse(st_config_str(c, "log.level")));
    if (ch->prometheus && cf->adm)
        st_admin_prometheus(cf->adm, !st_config_int(c, "prometheus.enable_basic_auth"));
    if (ch->broker && cf->broker) {
        st_settings *s = calloc(1, sizeof *s);
        if (s) st_settings_from_config(s, c);
        if (!s || st_broker_retune(cf->broker, s) < 0)
            LOG_ERROR(cf->log, "config: out of memory: the new mqtt settings wait for a restart");
        free(s);
    }
}

/* <dir>/cluster.hocon holds text (removed when it is empty), written whole or not at all. */
static int persist(const st_conf *cf, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/" ROW_KEY, cf->dir);
    if (!text[0]) return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    if (mkdir(cf->dir, 0700) < 0 && errno != EEXIST) return -1;
    return st_file_replace(path, text, strlen(text), 0600);
}

/* The overrides' text from the table (the cluster thread), or a reload of the file (text
 * NULL: the same text again). Under cf->mu. 0, or <0 with the reason in err. */
static int apply_locked(st_conf *cf, const char *text, sb *out, char *err, size_t errlen)
{
    st_config *c = NULL;
    int rc = load_with(cf, text ? text : cf->over, cf->envp, &c, err, errlen);
    if (rc < 0) return rc;
    if (text && persist(cf, text) < 0)
        LOG_ERROR(cf->log,
                  "config: cannot write %s/" ROW_KEY ": %s (the change holds until "
                  "this node restarts)",
                  cf->dir, strerror(errno));
    struct changes ch = {0};
    rc = st_config_diff(current(cf), c, note, &ch);
    if (rc == 0 && text) {
        char *copy = strdup(text);
        if (copy) {
            free(cf->over);
            cf->over = copy;
        }
    }
    if (rc == 0) {
        hand_over(cf, c, &ch);
        st_config_free(cf->now);
        cf->now = c;
        answer(&ch, out);
        if (ch.changed.len)
            LOG_NOTICE(cf->log, "config changed: %.*s%s%.*s", (int)ch.changed.len, ch.changed.p,
                       ch.restart.len ? "; waiting for a restart: " : "", (int)ch.restart.len,
                       ch.restart.p ? ch.restart.p : "");
    } else {
        st_config_free(c);
    }
    free(ch.changed.p);
    free(ch.restart.p);
    pthread_cond_broadcast(&cf->cv);
    return rc;
}

static void on_row(void *ctx, uint8_t ns, const uint8_t *key, size_t klen, const uint8_t *val,
                   size_t vlen, int replaced)
{
    (void)ns, (void)replaced;
    st_conf *cf = ctx;
    if (klen != sizeof ROW_KEY - 1 || memcmp(key, ROW_KEY, klen) != 0) return;
    char *text = malloc(vlen + 1), err[1024];
    if (!text) return;
    if (val) memcpy(text, val, vlen);
    text[val ? vlen : 0] = 0;
    pthread_mutex_lock(&cf->mu);
    if (strcmp(text, cf->over) != 0 && apply_locked(cf, text, NULL, err, sizeof err) < 0)
        LOG_ERROR(cf->log,
                  "config: the cluster's overrides do not load on this node: %s (kept: the "
                  "config it had)",
                  err);
    pthread_mutex_unlock(&cf->mu);
    free(text);
}

int st_conf_attach(st_conf *cf, st_cluster *cl)
{
    cf->cl = cl;
    return st_cluster_mirror(cl, ST_KV_CONF, on_row, cf);
}

int st_conf_reload(st_conf *cf, sb *out, char *err, size_t errlen)
{
    pthread_mutex_lock(&cf->mu);
    int rc = apply_locked(cf, NULL, out, err, errlen);
    pthread_mutex_unlock(&cf->mu);
    return rc;
}

/* ---- showing ------------------------------------------------------------------------------ */

static void pending(void *ctx, const char *key)
{
    if (!hot(key)) sb_printf(ctx, "# waiting for a restart to take effect: %s\n", key);
}

int st_conf_show(st_conf *cf, const char *prefix, int json, sb *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return ST_ENOMEM;
    pthread_mutex_lock(&cf->mu);
    int rc = st_config_write(current(cf), prefix && prefix[0] ? prefix : NULL, json, f);
    if (rc == 0 && !json && cf->now) st_config_diff(cf->start, cf->now, pending, out);
    pthread_mutex_unlock(&cf->mu);
    fclose(f);
    if (rc == 0) sb_printf(out, "%s", buf);
    free(buf);
    return rc;
}

/* ---- changing ----------------------------------------------------------------------------- */

/* Fields of body the overrides never hold: read-only roots (refused, or dropped with
 * ignore), secrets written masked (the value kept is the one there). */
static int strip(st_hocon_node *body, int ignore, char *err, size_t errlen)
{
    static const char *const ro[] = {"node", "cluster", "rpc"};
    for (size_t i = 0; i < sizeof ro / sizeof *ro; i++) {
        if (!st_hocon_obj_get(body, ro[i])) continue;
        if (!ignore) {
            snprintf(err, errlen,
                     "Cannot update read-only key '%s': it takes a restart with the file or "
                     "the environment changed (ignore_readonly=true drops it from the change)",
                     ro[i]);
            return ST_EINVAL;
        }
        st_hocon_obj_del(body, ro[i]);
    }
    return 0;
}

/* Removes the fields written masked, and the objects that held nothing else: 1 if n was
 * emptied so. */
static int unmask(st_hocon_node *n)
{
    size_t had = n->n;
    for (size_t i = 0; n->kind == ST_HOCON_OBJECT && i < n->n;) {
        st_hocon_node *v = n->items[i];
        if ((v->kind == ST_HOCON_STRING && strcmp(v->str, ST_CONFIG_MASK) == 0) || unmask(v)) {
            st_hocon_obj_del(n, n->keys[i]);
            continue;
        }
        i++;
    }
    for (size_t i = 0; n->kind == ST_HOCON_ARRAY && i < n->n; i++)
        unmask(n->items[i]);
    return n->kind == ST_HOCON_OBJECT && had && !n->n;
}

/* The overrides' text after body: merged into old, or its roots replacing old's. */
static int compose(const char *old, const char *body, size_t blen, int replace, int ignore,
                   char **out, char *err, size_t errlen)
{
    st_hocon_doc *doc = st_hocon_doc_new();
    st_hocon_node *a = NULL, *b = NULL;
    struct st_hocon_opts o = {.no_include = 1};
    int rc = doc ? 0 : ST_ENOMEM;
    if (rc == 0) rc = st_hocon_parse_buffer(doc, old, strlen(old), ROW_KEY, &o, &a, err, errlen);
    if (rc == 0) rc = st_hocon_parse_buffer(doc, body, blen, "request body", &o, &b, err, errlen);
    if (rc == 0) rc = st_hocon_resolve(b, NULL, err, errlen);
    if (rc == 0) rc = strip(b, ignore, err, errlen);
    if (rc == 0) unmask(b);
    for (size_t i = 0; rc == 0 && replace && i < b->n; i++)
        st_hocon_obj_del(a, b->keys[i]);
    if (rc == 0) {
        rc = st_hocon_merge(a, b);
        b = NULL;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = rc == 0 ? open_memstream(&text, &len) : NULL;
    if (f) {
        st_hocon_write(f, a, 0);
        fclose(f);
    } else if (rc == 0) {
        rc = ST_ENOMEM;
    }
    st_hocon_node_free(a);
    st_hocon_node_free(b);
    st_hocon_doc_free(doc);
    *out = text;
    return rc;
}

/* envp without the variables that override keys (STARLING_*, EMQX_*). */
static char **plain_env(char *const *envp)
{
    size_t n = 0;
    while (envp && envp[n])
        n++;
    char **e = calloc(n + 1, sizeof *e);
    for (size_t i = 0, k = 0; e && i < n; i++)
        if (strncmp(envp[i], "STARLING_", 9) != 0 && strncmp(envp[i], "EMQX_", 5) != 0)
            e[k++] = envp[i];
    return e;
}

struct env_check {
    const st_config *c;
    char *err;
    size_t errlen;
    int bad;
};

static void env_held(void *ctx, const char *key)
{
    struct env_check *ec = ctx;
    const char *origin = st_config_origin(ec->c, key);
    if (ec->bad || strncmp(origin, "env ", 4) != 0) return;
    snprintf(ec->err, ec->errlen,
             "%s is set by the environment (%s), which overrides changes made through the API", key,
             origin);
    ec->bad = 1;
}

/* A key the change touches that the environment holds: ST_EINVAL with why. */
static int env_check(const st_conf *cf, const char *old, const char *text, const st_config *now,
                     char *err, size_t errlen)
{
    char **env = plain_env(cf->envp), why[256];
    st_config *a = NULL, *b = NULL;
    struct env_check ec = {now, err, errlen, 0};
    if (env && load_with(cf, old, env, &a, why, sizeof why) == 0 &&
        load_with(cf, text, env, &b, why, sizeof why) == 0)
        st_config_diff(a, b, env_held, &ec);
    st_config_free(a);
    st_config_free(b);
    free(env);
    return ec.bad ? ST_EINVAL : 0;
}

/* Until this node has applied text (the row written elsewhere comes back through the
 * table): 1, or 0 after APPLY_WAIT_MS. Under cf->mu. */
static int wait_applied(st_conf *cf, const char *text)
{
    struct timespec dl = st_clock_deadline(APPLY_WAIT_MS);
    while (strcmp(cf->over, text) != 0)
        if (pthread_cond_timedwait(&cf->cv, &cf->mu, &dl) != 0) return strcmp(cf->over, text) == 0;
    return 1;
}

int st_conf_change(st_conf *cf, const char *body, size_t len, int replace, int ignore_readonly,
                   sb *out, char *err, size_t errlen)
{
    pthread_mutex_lock(&cf->mu);
    char *old = strdup(cf->over);
    pthread_mutex_unlock(&cf->mu);
    char *text = NULL;
    st_config *check = NULL;
    int rc =
        old ? compose(old, body, len, replace, ignore_readonly, &text, err, errlen) : ST_ENOMEM;
    /* the body alone first, so a mistake is named at its line of the body */
    if (rc == 0)
        rc =
            st_config_load_buffer(body, len, "request body", NULL, NULL, NULL, &check, err, errlen);
    st_config_free(check);
    check = NULL;
    if (rc == 0) rc = load_with(cf, text, cf->envp, &check, err, errlen);
    struct changes ch = {0};
    pthread_mutex_lock(&cf->mu);
    if (rc == 0) rc = env_check(cf, old, text, current(cf), err, errlen);
    /* what the change makes differ here: the config now against the one it loads to */
    if (rc == 0 && (rc = st_config_diff(current(cf), check, note, &ch)) != 0)
        snprintf(err, errlen, "out of memory comparing the configs");
    pthread_mutex_unlock(&cf->mu);
    st_config_free(check);
    if (rc == 0 && cf->cl) {
        rc = st_cluster_kv_write(cf->cl, ST_V_KV_PUT, ST_KV_CONF, ROW_KEY, sizeof ROW_KEY - 1, text,
                                 strlen(text), WRITE_WAIT_MS);
        if (rc < 0) {
            snprintf(err, errlen, "the cluster did not take the change (%s): no leader in time?",
                     st_strerror(rc));
            rc = ST_EIO;
        }
    }
    if (rc == 0) {
        pthread_mutex_lock(&cf->mu);
        if (!cf->cl) rc = apply_locked(cf, text, NULL, err, errlen);
        if (rc == 0 && !wait_applied(cf, text))
            LOG_WARN(cf->log, "config: a change written to the cluster is not applied here yet");
        pthread_mutex_unlock(&cf->mu);
    }
    if (rc == 0) answer(&ch, out);
    free(ch.changed.p);
    free(ch.restart.p);
    free(old);
    free(text);
    return rc;
}
