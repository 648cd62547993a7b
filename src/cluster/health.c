/* health.c — node_down alarms from the member table (health.h). */
#include "cluster/health.h"
#include "broker/remote.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "node_down/"

void st_health_tick(st_alarms *al, st_plane *pl)
{
    if (!al) return;
    st_cluster_info info;
    st_cluster_member *m = calloc(ST_MAX_NODES, sizeof *m);
    size_t n = 0;
    if (m) {
        st_plane_info(pl, &info, m, ST_MAX_NODES);
        n = strcmp(info.raft_state, "leader") == 0 ? info.nmembers : 0;
        n = n < ST_MAX_NODES ? n : ST_MAX_NODES;
    }
    char name[64], msg[400], details[400];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].state, "down") != 0) continue;
        snprintf(name, sizeof name, PREFIX "%.53s", m[i].name);
        snprintf(msg, sizeof msg, "cluster member %s is down", m[i].name);
        snprintf(details, sizeof details, "{\"node\":\"%.300s\",\"incarnation\":%llu}", m[i].name,
                 (unsigned long long)m[i].incarnation);
        st_alarm_raise(al, name, msg, details);
    }
    /* the ones raised before whose member is no longer down here */
    size_t na = st_alarms_list(al, 1, NULL, 0);
    st_alarm *a = na ? calloc(na, sizeof *a) : NULL;
    na = a ? st_alarms_list(al, 1, a, na) : 0;
    for (size_t k = 0; k < na; k++) {
        if (strncmp(a[k].name, PREFIX, strlen(PREFIX)) != 0) continue;
        int still = 0;
        for (size_t i = 0; i < n && !still; i++) {
            snprintf(name, sizeof name, PREFIX "%.53s", m[i].name);
            still = strcmp(m[i].state, "down") == 0 && strcmp(name, a[k].name) == 0;
        }
        if (!still && m) st_alarm_clear(al, a[k].name);
    }
    free(a);
    free(m);
}

/* ---- resources ------------------------------------------------------------------------- */

/* A /proc/meminfo field in kB (-1: not there). */
static long long meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long long v = -1;
    size_t n = strlen(key);
    while (f && v < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') v = atoll(line + n + 1);
    if (f) fclose(f);
    return v;
}

static long long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, rss = -1;
    if (f && fscanf(f, "%lld %lld", &size, &rss) != 2) rss = -1;
    if (f) fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    while (d && readdir(d))
        n++;
    if (d) closedir(d);
    return d ? n - 2 : -1; /* . and .. */
}

/* name raised while pct is above mark (pct < 0: unknown, left as it is). */
static void level(st_alarms *al, const char *name, const char *what, double pct, double mark,
                  const char *details)
{
    char msg[200];
    if (pct < 0) return;
    if (pct <= mark) {
        st_alarm_clear(al, name);
        return;
    }
    snprintf(msg, sizeof msg, "%s is higher than %g%%", what, mark);
    st_alarm_raise(al, name, msg, details);
}

void st_health_resources(st_health *h, st_alarms *al, int lanes_over, int64_t now)
{
    if (!al) return;
    char details[200];
    if (lanes_over && !h->over_since) h->over_since = now;
    if (!lanes_over) h->over_since = 0;
    if (h->over_since && now - h->over_since >= ST_HEALTH_BACKLOG_MS) {
        snprintf(details, sizeof details, "{\"lanes\":%d}", lanes_over);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%d data lane(s) to other nodes past cluster.forward_buffer_high for %d s",
                 lanes_over, ST_HEALTH_BACKLOG_MS / 1000);
        st_alarm_raise(al, "cluster_forward_backlog", msg, details);
    } else if (!h->over_since) {
        st_alarm_clear(al, "cluster_forward_backlog");
    }
    if (!h->cfg.check_ms || now < h->next_check) return;
    h->next_check = now + h->cfg.check_ms;
    long long total = meminfo("MemTotal"), avail = meminfo("MemAvailable"), rss = rss_kb();
    double sys = total > 0 && avail >= 0 ? 100.0 * (double)(total - avail) / (double)total : -1;
    double proc = total > 0 && rss >= 0 ? 100.0 * (double)rss / (double)total : -1;
    snprintf(details, sizeof details, "{\"usage\":\"%.2f%%\",\"high_watermark\":%g}", sys,
             h->cfg.sysmem_pct);
    level(al, "high_system_memory_usage", "System memory usage", sys, h->cfg.sysmem_pct, details);
    snprintf(details, sizeof details, "{\"usage\":\"%.2f%%\",\"high_watermark\":%g}", proc,
             h->cfg.procmem_pct);
    level(al, "high_process_memory_usage", "Process memory usage", proc, h->cfg.procmem_pct,
          details);
    struct rlimit rl;
    long fds = open_fds();
    double fdp = fds >= 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0 &&
                         rl.rlim_cur != RLIM_INFINITY
                     ? 100.0 * (double)fds / (double)rl.rlim_cur
                     : -1;
    snprintf(details, sizeof details, "{\"open\":%ld,\"limit\":%llu}", fds,
             (unsigned long long)rl.rlim_cur);
    level(al, "high_fd_usage", "File descriptor usage", fdp, h->cfg.fd_pct, details);
    LOG_DEBUG(h->log, "sysmon: system memory %.2f%%, process memory %.4f%%, descriptors %.4f%%",
              sys, proc, fdp);
}
