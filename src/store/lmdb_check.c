/* lmdb_check.c — whether the pages an LMDB file's trees reach are inside the file
 * (lmdb_check.h). It reads LMDB's on-disk format (0.9: 16-byte page headers, 8-byte nodes,
 * two meta pages) with pread, never through the map, so a file cut short is found, not
 * fallen over. */
#include "store/lmdb_check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    PAGEHDRSZ = 16,
    P_BRANCH = 0x01,
    P_LEAF = 0x02,
    P_OVERFLOW = 0x04,
    P_LEAF2 = 0x20,
    F_BIGDATA = 0x01,
    F_SUBDATA = 0x02,
    MAX_DEPTH = 64,
    META_MAGIC = 0xBEEFC0DE,
    META_DBS = PAGEHDRSZ + 24, /* mm_dbs[2] of 48 bytes each, md_root at +40 */
    META_TXNID = PAGEHDRSZ + 128,
};
#define P_INVALID UINT64_MAX

typedef struct {
    int fd;
    uint32_t psize;
    uint64_t pages;   /* whole pages in the file */
    uint64_t visited; /* a cycle in a damaged file cannot visit more pages than there are */
    char *err;
    size_t errlen;
    const char *path;
} walk;

static uint16_t u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int bad(walk *w, const char *what, uint64_t pgno)
{
    snprintf(w->err, w->errlen, "%s %s: page %llu", w->path, what, (unsigned long long)pgno);
    return -1;
}

static int read_page(walk *w, uint64_t pgno, uint8_t *buf)
{
    if (pgno >= w->pages) return bad(w, "is truncated: its trees reach past its end", pgno);
    if (pread(w->fd, buf, w->psize, (off_t)(pgno * w->psize)) != (ssize_t)w->psize)
        return bad(w, "cannot be read", pgno);
    return 0;
}

static int tree(walk *w, uint64_t pgno, int depth);

/* A leaf node's value: a big one lives in overflow pages, a named database is a tree. */
static int leaf_value(walk *w, const uint8_t *node, const uint8_t *end, uint64_t pgno, int depth)
{
    uint16_t flags = u16(node + 4), ksize = u16(node + 6);
    const uint8_t *data = node + 8 + ksize;
    if (flags & F_BIGDATA) {
        if (data + 8 > end) return bad(w, "has a damaged tree page", pgno);
        uint64_t ov = u64(data);
        uint8_t *hdr = malloc(w->psize);
        int rc = hdr ? read_page(w, ov, hdr) : bad(w, "cannot be checked (out of memory)", ov);
        if (rc == 0 && (!(u16(hdr + 10) & P_OVERFLOW) || ov + u32(hdr + 12) > w->pages))
            rc = bad(w, "is truncated: an overflow run reaches past its end", ov);
        free(hdr);
        return rc;
    }
    if (flags & F_SUBDATA) {
        if (data + 48 > end) return bad(w, "has a damaged tree page", pgno);
        return tree(w, u64(data + 40), depth + 1);
    }
    return 0;
}

static int tree(walk *w, uint64_t pgno, int depth)
{
    if (pgno == P_INVALID) return 0; /* an empty tree */
    if (depth > MAX_DEPTH || ++w->visited > w->pages) return bad(w, "has a cycle at", pgno);
    uint8_t *p = malloc(w->psize);
    if (!p) return bad(w, "cannot be checked (out of memory)", pgno);
    int rc = read_page(w, pgno, p);
    uint16_t flags = rc ? 0 : u16(p + 10), lower = rc ? 0 : u16(p + 12);
    if (rc == 0 && (!(flags & (P_BRANCH | P_LEAF)) || lower < PAGEHDRSZ || lower > w->psize))
        rc = bad(w, "has a damaged tree page", pgno);
    if (rc == 0 && !(flags & P_LEAF2)) {
        unsigned n = (lower - PAGEHDRSZ) / 2u;
        for (unsigned i = 0; rc == 0 && i < n; i++) {
            uint16_t off = u16(p + PAGEHDRSZ + 2 * i);
            if (off < PAGEHDRSZ || (uint32_t)off + 8 > w->psize) {
                rc = bad(w, "has a damaged tree page", pgno);
                break;
            }
            const uint8_t *node = p + off;
            if (flags & P_BRANCH)
                rc = tree(w, u32(node) | (uint64_t)u16(node + 4) << 32, depth + 1);
            else
                rc = leaf_value(w, node, p + w->psize, pgno, depth);
        }
    }
    free(p);
    return rc;
}

/* The meta page LMDB opens with: the valid one with the higher transaction id. */
static int pick_meta(walk *w, uint8_t *meta)
{
    uint8_t *m1 = malloc(w->psize);
    if (!m1) return bad(w, "cannot be checked (out of memory)", 1);
    int rc = read_page(w, 0, meta);
    if (rc == 0) rc = read_page(w, 1, m1);
    if (rc == 0) {
        int ok0 = u32(meta + PAGEHDRSZ) == META_MAGIC, ok1 = u32(m1 + PAGEHDRSZ) == META_MAGIC;
        if (!ok0 && !ok1)
            rc = bad(w, "has no meta page", 0);
        else if (!ok0 || (ok1 && u64(m1 + META_TXNID) > u64(meta + META_TXNID)))
            memcpy(meta, m1, w->psize);
    }
    free(m1);
    return rc;
}

int st_lmdb_check_pages(const char *path, uint32_t psize, char *err, size_t errlen)
{
    walk w = {.psize = psize, .err = err, .errlen = errlen, .path = path};
    struct stat st;
    w.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (w.fd < 0 || fstat(w.fd, &st) != 0 || psize < 512) {
        snprintf(err, errlen, "%s cannot be read", path);
        if (w.fd >= 0) close(w.fd);
        return -1;
    }
    w.pages = (uint64_t)st.st_size / psize;
    uint8_t *meta = malloc(psize);
    int rc = meta ? pick_meta(&w, meta) : bad(&w, "cannot be checked (out of memory)", 0);
    for (int db = 0; rc == 0 && db < 2; db++) /* the free pages' tree, then the main one */
        rc = tree(&w, u64(meta + META_DBS + 48 * db + 40), 0);
    free(meta);
    close(w.fd);
    return rc;
}
