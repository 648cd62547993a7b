/* file.c — whole small files (file.h). */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *st_file_read(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = 0, cap = 4096, r;
    char *buf = malloc(cap + 1);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n > max) {
            free(buf);
            buf = NULL;
            errno = EFBIG;
        } else if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int st_file_replace(const char *path, const void *data, size_t len, int mode)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp) return -1;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) < 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, path) < 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) unlink(tmp);
    free(tmp);
    errno = saved;
    return ok ? 0 : -1;
}
