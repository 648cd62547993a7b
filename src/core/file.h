/* file.h — a whole small file read into memory, or written in place of the old one. */
#ifndef ST_CORE_FILE_H
#define ST_CORE_FILE_H

#include <stddef.h>

/* path's text, NUL-terminated (malloc'd; *len without the NUL), or NULL with errno set (EFBIG:
 * more than max bytes). */
char *st_file_read(const char *path, size_t max, size_t *len);

/* path replaced whole by len bytes of data: written to path.tmp (created with mode, less the
 * umask), synced, then renamed over path, so a crash leaves the old file or the new one. 0, or
 * -1 with errno set (path.tmp removed). */
int st_file_replace(const char *path, const void *data, size_t len, int mode);

#endif
