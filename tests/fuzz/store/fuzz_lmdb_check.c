/* fuzz_lmdb_check.c — libFuzzer target for the walk that decides whether an LMDB file is whole
 * before the store maps it (store/lmdb_check.h): any file, whole, cut or damaged, gets an
 * answer, and the walk reads nothing past its own buffers. The corpus holds a small store
 * with named databases and an overflow page. */
#include "store/lmdb_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("lmdb", MFD_CLOEXEC);
    if (fd < 0) abort();
    if (size && write(fd, data, size) != (ssize_t)size) abort();
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int rc = st_lmdb_check_pages(path, 4096, err, sizeof err);
    if (rc != 0 && rc != -1) abort();
    if (rc != 0 && !err[0]) abort(); /* a refusal always says why */
    close(fd);
    return 0;
}
