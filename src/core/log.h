/* log.h — leveled logging, one line per event with a timestamp, to console and/or a file.
 * A st_log is set up once and then only read, so every worker thread may log through it;
 * each line goes out in a single write(2), so lines from threads never interleave. */
#ifndef ST_LOG_H
#define ST_LOG_H

#include <stdatomic.h>

#include <stdarg.h>

enum st_log_level {
    ST_LOG_DEBUG,
    ST_LOG_INFO,
    ST_LOG_NOTICE,
    ST_LOG_WARNING,
    ST_LOG_ERROR,
    ST_LOG_CRITICAL,
};

typedef struct st_log {
    atomic_int level; /* lines below this level are dropped (st_log_set_level: any thread) */
    int fd_con;       /* console fd (stderr) or -1 */
    int fd_file;      /* log file fd or -1 */
} st_log;

/* Parse "debug".."critical" ("warn" too); returns the level or -1. */
int st_log_level_parse(const char *s);
/* Open the log: file_path NULL or "" for none. Returns 0 or ST_ESYS (file cannot be opened). */
int st_log_open(st_log *lg, int level, int console, const char *file_path);
void st_log_close(st_log *lg);
/* The level from now on (`starling ctl log set-level`), any thread. */
void st_log_set_level(st_log *lg, int level);
/* "debug" ... "critical". */
const char *st_log_level_name(int level);

void st_log_write(const st_log *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ST_LOG_ON(lg, lvl)                                                                         \
    ((lg) && (lvl) >= atomic_load_explicit(&(lg)->level, memory_order_relaxed))
#define LOG_DEBUG(lg, ...)                                                                         \
    do {                                                                                           \
        if (ST_LOG_ON(lg, ST_LOG_DEBUG)) st_log_write(lg, ST_LOG_DEBUG, __VA_ARGS__);              \
    } while (0)
#define LOG_INFO(lg, ...) st_log_write(lg, ST_LOG_INFO, __VA_ARGS__)
#define LOG_NOTICE(lg, ...) st_log_write(lg, ST_LOG_NOTICE, __VA_ARGS__)
#define LOG_WARN(lg, ...) st_log_write(lg, ST_LOG_WARNING, __VA_ARGS__)
#define LOG_ERROR(lg, ...) st_log_write(lg, ST_LOG_ERROR, __VA_ARGS__)

#endif
