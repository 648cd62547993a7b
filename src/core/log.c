/* log.c — formats "2026-11-22T04:58:53.123Z [warning] message" lines and writes each
 * with one write(2) per destination, so concurrent workers never interleave. */
#include "core/log.h"
#include "core/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"debug",   "info",  "notice",
                                          "warning", "error", "critical"};

int st_log_level_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "warn") == 0) return ST_LOG_WARNING;
    for (int i = 0; i <= ST_LOG_CRITICAL; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

static int mkdirs_for(const char *path)
{
    char tmp[1024];
    size_t n = strlen(path);
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, 0755);
        *p = '/';
    }
    return 0;
}

int st_log_open(st_log *lg, int level, int console, const char *file_path)
{
    lg->level = level;
    lg->fd_con = console ? STDERR_FILENO : -1;
    lg->fd_file = -1;
    if (file_path && *file_path) {
        mkdirs_for(file_path);
        lg->fd_file = open(file_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (lg->fd_file < 0) return ST_ESYS;
    }
    return 0;
}

void st_log_close(st_log *lg)
{
    if (lg->fd_file >= 0) close(lg->fd_file);
    lg->fd_file = -1;
}

void st_log_write(const st_log *lg, int level, const char *fmt, ...)
{
    if (!ST_LOG_ON(lg, level)) return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ [%s] ", ts.tv_nsec / 1000000,
                  level_names[level < 0                 ? 0
                              : level > ST_LOG_CRITICAL ? ST_LOG_CRITICAL
                                                        : level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    n += m;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (lg->fd_con >= 0 && write(lg->fd_con, line, (size_t)n) < 0) { /* nothing to do */
    }
    if (lg->fd_file >= 0 && write(lg->fd_file, line, (size_t)n) < 0) {
    }
}

void st_log_set_level(st_log *lg, int level)
{
    atomic_store(&lg->level, level);
}

const char *st_log_level_name(int level)
{
    return level >= 0 && level < (int)(sizeof level_names / sizeof level_names[0])
               ? level_names[level]
               : "?";
}
