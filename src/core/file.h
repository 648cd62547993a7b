/* file.h — a whole small file into memory. */
#ifndef ST_CORE_FILE_H
#define ST_CORE_FILE_H

#include <stddef.h>

/* path's text, NUL-terminated (malloc'd; *len without the NUL), or NULL with errno set (EFBIG:
 * more than max bytes). */
char *st_file_read(const char *path, size_t max, size_t *len);

#endif
