/* lmdb_check.h — is an LMDB data file whole? LMDB maps its file, and reading a page past the
 * file's end kills the process (SIGBUS), so a file cut short (a copy that stopped, a disk that
 * filled during a copy) must be refused before any read. The file's size cannot tell: LMDB
 * does not write the pages a transaction took and freed again (its "loose" pages), so after a
 * commit, a crash or a clean close the file may end before the last page the meta page
 * counts. What can tell is a walk of the trees: every page they reach must be in the file.
 * Private to src/store/. */
#ifndef ST_STORE_LMDB_CHECK_H
#define ST_STORE_LMDB_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* 0 when every page reached from the current meta page (the free pages' tree, the main tree,
 * each named database's tree, overflow runs) lies inside path; -1 with err naming the page
 * otherwise, or when the file cannot be read. psize: the environment's page size. */
int st_lmdb_check_pages(const char *path, uint32_t psize, char *err, size_t errlen);

#endif
