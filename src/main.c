/* main.c — the `starling` command: foreground, start (daemon + pid file), stop, ping,
 * version. Everything else lives in the modules; this file only wires them up. */
#include "auth/auth.h"
#include "auth/pool.h"
#include "admin/admin.h"
#include "admin/apiauth.h"
#include "admin/conf.h"
#include "admin/trace.h"
#include "bench/bench.h"
#include "broker/broker.h"
#include "broker/sys.h"
#include "broker/durable.h"
#include "broker/settings.h"
#include "cluster/cluster.h"
#include "config/config.h"
#include "core/alarm.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STARLING_VERSION "0.1.0"
#define DEFAULT_CONF "etc/starling.conf"

extern char **environ;

typedef struct cli {
    const char *conf_path; /* NULL: default, if present */
    const char *cmd;
    int explicit_conf;
    int nrest; /* ctl: the words after the command */
    char **rest;
} cli;

static void usage(FILE *out)
{
    fprintf(out, "usage: starling [-c FILE] foreground|start|stop|ping|version|help\n");
    st_ctl_usage(out, "       ");
    fprintf(out,
            "       starling bench conn|pub|sub|pubsub [options]   (starling bench --help)\n"
            "\n"
            "  foreground   run in the foreground, logging to the console\n"
            "  start        run as a daemon (pid file <node.data_dir>/starling.pid)\n"
            "  stop         stop the running node gracefully\n"
            "  ping         pong if the node is running\n"
            "  ctl          ask the running node (its HTTP API, dashboard.listeners.http.bind)\n"
            "  -c, --config FILE   the config file (default: %s); may also follow `ctl`\n"
            "  -h, --help, help    this text\n",
            DEFAULT_CONF);
}

static void warn_cb(void *ctx, const char *msg)
{
    fprintf(stderr, "warning: %s\n", msg);
}

/* A node's config: its file, with the cluster's overrides (changes made through the API,
 * <node.data_dir>/configs/cluster.hocon, admin/conf.h) merged over it, under the environment. */
typedef struct node_conf {
    st_config *c;
    const char *path; /* NULL: none */
    char *over;       /* the overrides it was loaded with (NULL: none) */
} node_conf;

static int load_config(const cli *a, node_conf *nc)
{
    const char *path = a->conf_path;
    if (!path && access(DEFAULT_CONF, R_OK) == 0) path = DEFAULT_CONF;
    char err[1024];
    nc->path = path;
    if (st_config_load(path, environ, warn_cb, NULL, &nc->c, err, sizeof err) < 0) {
        fprintf(stderr, "starling: config error: %s\n", err);
        return -1;
    }
    size_t len = 0;
    const char *dir = st_config_str(nc->c, "node.data_dir");
    nc->over = st_conf_read_overrides(dir, &len);
    if (!nc->over) return 0;
    char name[1100];
    snprintf(name, sizeof name, "%s/configs/cluster.hocon", dir);
    struct st_config_layer l = {nc->over, len, name};
    st_config *c = NULL;
    if (st_config_load_over(path, &l, environ, NULL, NULL, &c, err, sizeof err) < 0) {
        fprintf(stderr,
                "starling: config error: %s\n(%s holds changes made through the API; correct "
                "it, or move it aside to start with the file alone)\n",
                err, name);
        return -1;
    }
    st_config_free(nc->c);
    nc->c = c;
    return 0;
}

static void pid_path(const st_config *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s/starling.pid", st_config_str(c, "node.data_dir"));
}

/* pid runs (a zombie, killed and not reaped yet by a parent that does not reap, does not). */
static int alive(pid_t pid)
{
    if (kill(pid, 0) != 0) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *end = strrchr(buf, ')'); /* "pid (comm) S ...": the state after the name */
    return !(end && end[1] == ' ' && end[2] == 'Z');
}

static pid_t read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f) return 0;
    if (fscanf(f, "%ld", &pid) != 1) pid = 0;
    fclose(f);
    return pid > 0 && alive((pid_t)pid) ? (pid_t)pid : 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Clients are disconnected while the cluster still runs (their routes are withdrawn),
 * then the cluster says goodbye; the broker's memory goes before the cluster's, whose
 * data lanes hold messages and the acks that wait on them. */
static void shutdown_node(st_admin *adm, st_cluster *cl, st_broker *b, st_auth *auth,
                          st_apiauth *aa, st_durable *dur)
{
    st_admin_free(adm);
    st_auth_stop(auth); /* no answer is posted to a worker from now on */
    if (b) st_broker_stop(b);
    st_cluster_detach_store(cl); /* its last round still goes to the holders */
    st_durable_close(dur); /* the workers' last writes (sessions gone offline) are committed */
    st_cluster_stop(cl);
    st_broker_free(b);
    st_cluster_free(cl);
    st_auth_free(auth);
    st_apiauth_free(aa);
}

/* Is persistence on? persistence.enable where it is set, else EMQX's durable_sessions.enable
 * where that is set, else the default (on). Both set and different: -1, with why in err. */
static int durable_wanted(const st_config *c, char *err, size_t errlen)
{
    const char *ours = st_config_origin(c, "persistence.enable");
    const char *emqx = st_config_origin(c, "durable_sessions.enable");
    int on = (int)st_config_int(c, "persistence.enable");
    if (strcmp(ours, "default") != 0 && strcmp(emqx, "default") != 0 &&
        on != (int)st_config_int(c, "durable_sessions.enable")) {
        snprintf(err, errlen,
                 "persistence.enable (%s) and durable_sessions.enable (%s) disagree: set one", ours,
                 emqx);
        return -1;
    }
    if (strcmp(ours, "default") == 0 && strcmp(emqx, "default") != 0)
        on = (int)st_config_int(c, "durable_sessions.enable");
    return on;
}

/* Durable sessions (broker/durable.h), when persistence is on: the store is opened and its
 * sessions recovered into the workers before they start. 0, or -1 with the reason in err. */
static int durable_setup(const st_config *c, st_broker *b, st_cluster *cl, const st_log *lg,
                         st_alarms *al, st_durable **out, char *err, size_t errlen)
{
    *out = NULL;
    int on = durable_wanted(c, err, errlen);
    if (on == 0 && st_config_int(c, "persistence.shared_client_session"))
        LOG_WARN(lg, "persistence.shared_client_session = true, but persistence is off: "
                     "nothing is stored or copied");
    if (on <= 0) return on;
    st_store_cfg sc = {0};
    snprintf(sc.dir, sizeof sc.dir, "%s/durable", st_config_str(c, "node.data_dir"));
    snprintf(sc.node, sizeof sc.node, "%s", st_config_str(c, "node.name"));
    sc.sync_interval_ms = st_config_int(c, "persistence.wal_sync_interval");
    sc.max_bytes = (uint64_t)st_config_int(c, "persistence.max_size");
    sc.alarms = al;
    if (!(*out = st_durable_open(b, &sc, err, errlen))) return -1;
    st_cluster_attach_store(cl, st_durable_store(*out), sc.sync_interval_ms == 0);
    if (st_durable_start(*out) < 0) {
        snprintf(err, errlen, "durable store: cannot start its thread");
        return -1;
    }
    return 0;
}

/* The API's credentials (apiauth.h); NULL with the reason in err. */
static st_apiauth *apiauth_setup(const st_config *c, const st_log *lg, char *err, size_t errlen)
{
    st_apiauth_cfg *ac = calloc(1, sizeof *ac);
    if (!ac) return NULL;
    snprintf(ac->bootstrap_file, sizeof ac->bootstrap_file, "%s",
             st_config_str(c, "api_key.bootstrap_file"));
    snprintf(ac->default_user, sizeof ac->default_user, "%s",
             st_config_str(c, "dashboard.default_username"));
    snprintf(ac->default_password, sizeof ac->default_password, "%s",
             st_config_str(c, "dashboard.default_password"));
    ac->token_ttl_ms = st_config_int(c, "dashboard.token_expired_time");
    snprintf(ac->cookie, sizeof ac->cookie, "%s", st_config_str(c, "node.cookie"));
    snprintf(ac->data_dir, sizeof ac->data_dir, "%s", st_config_str(c, "node.data_dir"));
    st_apiauth *aa = st_apiauth_new(ac, lg, err, errlen);
    free(ac);
    return aa;
}

/* Said once at start: listeners off loopback that let clients in without credentials. */
static void warn_anonymous(const st_auth_cfg *ac, const st_settings *s, const st_log *lg)
{
    char open[512] = "";
    for (int i = 0; i < s->n_listeners; i++) {
        const st_listener_conf *l = &s->listeners[i];
        char lid[100];
        int own = 0, enabled = 0;
        snprintf(lid, sizeof lid, "%s:%s", st_listener_type(l), l->name);
        for (int k = 0; k < ac->n; k++)
            own |= strcmp(ac->chain[k].listener, lid) == 0;
        for (int k = 0; k < ac->n; k++) /* its own chain, or the global one */
            enabled += ac->chain[k].enable && strcmp(ac->chain[k].listener, own ? lid : "") == 0;
        int anon = enabled ? ac->allow_anonymous == 1 : ac->allow_anonymous != 0;
        if (!(anon || l->authn_mode == ST_AUTHN_OFF) || strncmp(l->bind, "127.", 4) == 0 ||
            strncmp(l->bind, "[::1]", 5) == 0)
            continue;
        size_t n = strlen(open);
        snprintf(open + n, sizeof open - n, "%s%s:%s (%s)", n ? ", " : "", st_listener_type(l),
                 l->name, l->bind);
    }
    if (open[0])
        LOG_WARN(lg,
                 "anonymous clients are let in on %s: anyone who can reach it may publish and "
                 "subscribe. Add users (authentication = [{mechanism = password_based, backend = "
                 "built_in_database, ...}], docs/security.md) and set allow_anonymous = false.",
                 open);
}

/* The authenticator chain, given to the broker; NULL with the reason in err. */
static st_auth *auth_setup(const st_config *c, st_broker *b, const st_settings *s, const st_log *lg,
                           char *err, size_t errlen)
{
    st_auth_cfg *ac = calloc(1, sizeof *ac);
    st_auth *a = NULL;
    if (ac && st_auth_cfg_load(ac, c, err, errlen) == 0 && (a = st_auth_new(ac, err, errlen))) {
        st_broker_set_auth(b, a);
        warn_anonymous(ac, s, lg);
    }
    free(ac);
    return a;
}

/* Alarms raised and cleared, on $SYS (EMQX's .../alarms/activate|deactivate). */
static void sys_alarm(void *ctx, const st_alarm *al, int active)
{
    st_sys_alarm(ctx, al, active);
}

/* $SYS/brokers: the cluster's members that are running, by name. */
static void sys_nodes(void *ctx, char *out, size_t cap)
{
    st_cluster_node *v = calloc(256, sizeof *v);
    size_t n = v ? st_cluster_view(ctx, v, 256) : 0, len = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && i < 256; i++) {
        if (!v[i].member || !v[i].running) continue;
        int k = snprintf(out + len, cap - len, "%s%s", len ? "," : "", v[i].name);
        if (k < 0 || (size_t)k >= cap - len) break;
        len += (size_t)k;
    }
    free(v);
}

/* The API shows b's listeners, and serves over TLS too when dashboard.listeners.https has a
 * port. */
static int admin_setup(st_admin *adm, st_broker *b, st_durable *dur, st_alarms *al,
                       const st_config *c, char *err, size_t errlen)
{
    st_admin_alarms(adm, al);
    st_admin_prometheus(adm, !st_config_int(c, "prometheus.enable_basic_auth"));
    st_admin_broker(adm, b);
    st_admin_auth(adm, st_broker_auth(b));
    st_admin_durable(adm, dur);
    const char *bind = st_config_str(c, "dashboard.listeners.https.bind");
    size_t n = strlen(bind);
    if (!st_config_int(c, "dashboard.listeners.https.enable") ||
        (n >= 2 && strcmp(bind + n - 2, ":0") == 0))
        return 0; /* EMQX's bind = 0: none */
    st_tls_opts *o = calloc(1, sizeof *o);
    char bad[32];
    if (!o) return ST_ENOMEM;
    st_settings_tls(o, bad, sizeof bad, c, "dashboard.listeners.https");
    int rc = 0;
    if (bad[0]) {
        snprintf(err, errlen,
                 "dashboard.listeners.https.ssl_options.versions: \"%s\" is not offered "
                 "(tlsv1.3, tlsv1.2)",
                 bad);
        rc = ST_ECONFIG;
    } else {
        rc =
            st_admin_https(adm, st_config_str(c, "dashboard.listeners.https.bind"), o, err, errlen);
    }
    free(o);
    return rc;
}

/* This node's durable store was replaced by a copy of its earlier one (its data dir was
 * lost; docs/durability.md §6): the process starts again as it was started, with every file
 * but the standard ones closed by the exec, so that recovery reads the store. To the other nodes
 * this is a restart (the records they keep for it wait for the new process). Does not return. */
static void restart_self(const st_log *lg, int daemon_mode)
{
    enum { MAX_ARGS = 256, CMDLINE = 1 << 16 };
    char *line = malloc(CMDLINE), *argv[MAX_ARGS];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), n = 0;
    ssize_t len = line && fd >= 0 ? read(fd, line, CMDLINE - 1) : -1;
    if (fd >= 0) close(fd);
    for (ssize_t off = 0; len > 0 && off < len && n < MAX_ARGS - 1;
         off += (ssize_t)strlen(line + off) + 1)
        argv[n++] = line + off;
    argv[n] = NULL;
    if (n == 0) {
        LOG_ERROR(lg, "cannot read this process's command line to start again: stopping");
        _exit(1);
    }
    line[len] = 0;
    if (daemon_mode) setenv("STARLING_RESTART_DAEMON", "1", 1); /* cmd_start: no new fork */
    LOG_NOTICE(lg, "starting again to recover the restored durable store");
    /* marked, not closed: the other threads run until the exec, and a loop whose epoll fd
     * went away under it would abort the process */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (atoi(e->d_name) > 2) fcntl(atoi(e->d_name), F_SETFD, FD_CLOEXEC);
        if (d) closedir(d);
    }
    execv("/proc/self/exe", argv);
    fprintf(stderr, "starling: cannot start again (%s): stopping\n", strerror(errno));
    _exit(1);
}

/* Run the broker until SIGTERM/SIGINT. ready_fd >= 0: report startup to the parent. */
static int run(const node_conf *nc, int daemon_mode, int ready_fd)
{
    const st_config *c = nc->c;
    st_log lg;
    int level = st_log_level_parse(st_config_str(c, "log.level"));
    int to_file = daemon_mode || st_config_int(c, "log.file.enable");
    int to_con = !daemon_mode && st_config_int(c, "log.console.enable");
    if (st_log_open(&lg, level, to_con, to_file ? st_config_str(c, "log.file.path") : NULL) < 0) {
        fprintf(stderr, "starling: cannot open log file %s: %s\n",
                st_config_str(c, "log.file.path"), strerror(errno));
        return 1;
    }
    st_settings s;
    st_settings_from_config(&s, c);
    raise_nofile();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR2); /* the cluster: the store was restored from a copy */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    st_broker *b = st_broker_new(&s, &lg);
    char err[512] = "out of memory";
    st_cluster_cfg ccfg;
    st_cluster *cl = NULL;
    st_admin *adm = NULL;
    st_auth *auth = NULL;
    st_apiauth *aa = NULL;
    st_durable *dur = NULL;
    st_alarms *al = st_alarms_new(&lg);
    st_conf *cf = st_conf_new(nc->path, c, nc->over, environ, &lg);
    st_traces *tr = b ? st_traces_new(st_config_str(c, "node.data_dir"), b) : NULL;
    int ok =
        cf && tr && b && al && (auth = auth_setup(c, b, &s, &lg, err, sizeof err)) != NULL &&
        (aa = apiauth_setup(c, &lg, err, sizeof err)) != NULL &&
        st_cluster_cfg_load(&ccfg, c, err, sizeof err) == 0 &&
        (cl = st_cluster_new(&ccfg, &lg)) != NULL && st_cluster_attach(cl, b) == 0 &&
        (st_cluster_attach_alarms(cl, al), 1) &&
        (st_cluster_attach_auth(cl, auth), st_auth_set_ban_sink(auth, st_cluster_ban, cl), 1) &&
        st_apiauth_attach(aa, cl) == 0 && st_conf_attach(cf, cl) == 0 &&
        st_traces_attach(tr, cl) == 0 && (st_conf_targets(cf, b, NULL), 1) &&
        durable_setup(c, b, cl, &lg, al, &dur, err, sizeof err) == 0 &&
        st_sys_setup(b, STARLING_VERSION, sys_nodes, cl) == 0 &&
        (st_alarms_sink(al, sys_alarm, b), 1) && st_broker_start(b, err, sizeof err) == 0 &&
        st_cluster_start(cl, err, sizeof err) == 0 &&
        (adm = st_admin_new(st_config_str(c, "dashboard.listeners.http.bind"), STARLING_VERSION,
                            st_config_str(c, "node.role"), cl, &lg)) != NULL &&
        (st_admin_apiauth(adm, aa), st_admin_log(adm, &lg), st_admin_conf(adm, cf),
         st_admin_traces(adm, tr), st_conf_targets(cf, b, adm),
         admin_setup(adm, b, dur, al, c, err, sizeof err)) == 0 &&
        st_admin_start(adm, err, sizeof err) == 0;
    if (!ok) {
        LOG_ERROR(&lg, "startup failed: %s", err);
        fprintf(stderr, "starling: %s\n", err);
        if (ready_fd >= 0 && write(ready_fd, "E", 1) < 0) {
        }
        if (cf) st_conf_targets(cf, NULL, NULL);
        if (al) st_alarms_sink(al, NULL, NULL);
        shutdown_node(adm, cl, b, auth, aa, dur);
        st_conf_free(cf);
        st_traces_free(tr);
        st_alarms_free(al);
        st_log_close(&lg);
        return 1;
    }
    const char *listen = st_config_str(c, "cluster.listen");
    if (strcmp(st_config_str(c, "node.cookie"), "starlingsecretcookie") == 0 &&
        strncmp(listen, "127.", 4) != 0 && strncmp(listen, "[::1]", 5) != 0)
        LOG_WARN(&lg,
                 "node.cookie is the default one and cluster.listen (%s) is not on loopback: "
                 "anyone who can reach it can join this cluster. Set node.cookie (or "
                 "cluster.proto_dist = inet_tls, docs/transports.md).",
                 listen);
    LOG_NOTICE(&lg, "starling %s (%s) is running", STARLING_VERSION, st_config_str(c, "node.name"));
    if (ready_fd >= 0) {
        if (write(ready_fd, "K", 1) < 0) {
        }
        close(ready_fd);
    }
    int sig = SIGUSR2;
    while (sig == SIGUSR2) {
        sigwait(&set, &sig);
        if (sig == SIGUSR2 && st_cluster_restored(cl)) restart_self(&lg, daemon_mode);
    }
    LOG_NOTICE(&lg, "received signal %d, shutting down", sig);
    long left = st_cluster_evacuate(cl); /* sessions go to the other members first */
    if (left > 0) LOG_WARN(&lg, "%ld session(s) could not be handed to another node", left);
    if (left == 0) LOG_NOTICE(&lg, "every session was handed to another node");
    st_conf_targets(cf, NULL, NULL); /* a change that comes now waits for the next start */
    st_alarms_sink(al, NULL, NULL);
    shutdown_node(adm, cl, b, auth, aa, dur);
    st_conf_free(cf);
    st_traces_free(tr);
    st_alarms_free(al);
    st_log_close(&lg);
    return 0;
}

static int write_pid_file(const char *path)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    return rename(tmp, path);
}

static int cmd_start(const node_conf *nc)
{
    const st_config *c = nc->c;
    char pidf[1024];
    pid_path(c, pidf, sizeof pidf);
    if (getenv("STARLING_RESTART_DAEMON")) { /* this daemon started again (restart_self) */
        unsetenv("STARLING_RESTART_DAEMON");
        int rc = run(nc, 1, -1);
        unlink(pidf);
        return rc;
    }
    const char *dir = st_config_str(c, "node.data_dir");
    mkdir(dir, 0755);
    pid_t old = read_pid(pidf);
    if (old) {
        fprintf(stderr, "starling is already running (pid %ld)\n", (long)old);
        return 1;
    }
    int p[2];
    if (pipe(p) < 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        close(p[0]);
        setsid();
        if (fork() > 0) _exit(0);
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        if (write_pid_file(pidf) < 0) _exit(1);
        int rc = run(nc, 1, p[1]);
        unlink(pidf);
        _exit(rc);
    }
    close(p[1]);
    waitpid(pid, NULL, 0);
    char r = 0;
    if (read(p[0], &r, 1) != 1 || r != 'K') {
        fprintf(stderr, "starling failed to start; see %s\n", st_config_str(c, "log.file.path"));
        return 1;
    }
    printf("starling %s is started\n", STARLING_VERSION);
    return 0;
}

static int cmd_foreground(const node_conf *nc)
{
    const st_config *c = nc->c;
    char pidf[1024];
    pid_path(c, pidf, sizeof pidf);
    mkdir(st_config_str(c, "node.data_dir"), 0755);
    int have_pid = write_pid_file(pidf) == 0;
    int rc = run(nc, 0, -1);
    if (have_pid) unlink(pidf);
    return rc;
}

static int cmd_stop(const st_config *c)
{
    char pidf[1024];
    pid_path(c, pidf, sizeof pidf);
    pid_t pid = read_pid(pidf);
    if (!pid) {
        fprintf(stderr, "starling is not running\n");
        return 1;
    }
    kill(pid, SIGTERM);
    /* in a cluster it hands its sessions over first (cluster.evacuation_timeout) */
    int64_t wait_ms = 15000 + st_config_int(c, "cluster.evacuation_timeout");
    for (int64_t i = 0; i < wait_ms / 50 && alive(pid); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (alive(pid)) {
        fprintf(stderr, "starling (pid %ld) did not stop in %lld s\n", (long)pid,
                (long long)(wait_ms / 1000));
        return 1;
    }
    printf("ok\n");
    return 0;
}

static int cmd_ping(const st_config *c)
{
    char pidf[1024];
    pid_path(c, pidf, sizeof pidf);
    if (read_pid(pidf)) {
        printf("pong\n");
        return 0;
    }
    printf("Node not responding to pings.\n");
    return 1;
}

static int is_conf_opt(const char *s)
{
    return strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0;
}

/* Options before the command, and -c FILE right after `ctl` too (where people put it):
 * `starling -c F ctl cluster status` and `starling ctl -c F cluster status`. Returns 0, 1
 * for help, or -1 with the reason printed. */
static int parse_args(int argc, char **argv, cli *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (is_conf_opt(s)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "starling: option %s needs a file name\n", s);
                return -1;
            }
            a->conf_path = argv[++i];
            a->explicit_conf = 1;
        } else if (!strcmp(s, "-h") || !strcmp(s, "--help") || (!a->cmd && !strcmp(s, "help"))) {
            return 1;
        } else if (s[0] == '-') {
            fprintf(stderr, "starling: unknown option '%s'\n", s);
            return -1;
        } else if (!a->cmd) {
            a->cmd = s;
            if (strcmp(a->cmd, "ctl") == 0) { /* the rest belongs to ctl, after its -c */
                while (i + 2 < argc && is_conf_opt(argv[i + 1])) {
                    a->conf_path = argv[i + 2];
                    a->explicit_conf = 1;
                    i += 2;
                }
                if (i + 1 < argc && is_conf_opt(argv[i + 1])) {
                    fprintf(stderr, "starling: option %s needs a file name\n", argv[i + 1]);
                    return -1;
                }
                a->rest = argv + i + 1;
                a->nrest = argc - i - 1;
                break;
            }
        } else {
            fprintf(stderr, "starling: unexpected '%s' after '%s'\n", s, a->cmd);
            return -1;
        }
    }
    if (!a->cmd) fprintf(stderr, "starling: no command given\n");
    return a->cmd ? 0 : -1;
}

int main(int argc, char **argv)
{
    cli a;
    if (argc >= 2 && strcmp(argv[1], "bench") == 0) return st_bench_main(argc - 1, argv + 1);
    int pa = parse_args(argc, argv, &a);
    if (pa == 1) {
        usage(stdout);
        return 0;
    }
    if (pa < 0) {
        usage(stderr);
        return 2;
    }
    if (strcmp(a.cmd, "version") == 0) {
        printf("starling %s\n", STARLING_VERSION);
        return 0;
    }
    int known = !strcmp(a.cmd, "foreground") || !strcmp(a.cmd, "start") || !strcmp(a.cmd, "stop") ||
                !strcmp(a.cmd, "ping") || !strcmp(a.cmd, "ctl");
    if (!known) {
        fprintf(stderr, "starling: unknown command '%s'\n", a.cmd);
        usage(stderr);
        return 2;
    }
    node_conf nc = {0};
    if (load_config(&a, &nc) < 0) return 1;
    st_config *c = nc.c;
    int rc;
    if (!strcmp(a.cmd, "foreground"))
        rc = cmd_foreground(&nc);
    else if (!strcmp(a.cmd, "start"))
        rc = cmd_start(&nc);
    else if (!strcmp(a.cmd, "stop"))
        rc = cmd_stop(c);
    else if (!strcmp(a.cmd, "ctl"))
        rc = st_ctl_main(c, a.nrest, a.rest);
    else
        rc = cmd_ping(c);
    st_config_free(c);
    free(nc.over);
    return rc;
}
