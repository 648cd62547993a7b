/* fuzz_drec.c — libFuzzer target for the durable store's record decoders (what recovery
 * reads from disk, broker/durable_rec.h): the first byte picks a session, a message or a
 * queue entry; whatever decodes must encode back to the same bytes, and nothing reads past
 * the record. */
#include "broker/durable_rec.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void session(const uint8_t *p, size_t n)
{
    st_drec_session d;
    if (st_drec_session_get(p, n, &d) < 0) return;
    size_t off = 0, k = 0;
    st_subrec r;
    while (st_drec_sub_next(&d, &off, &r) == 1)
        k++;
    if (k != d.nsubs || off != d.subs_len) abort();
}

/* Encode what p decodes to (NULL if it does not). */
static st_msg *again(const uint8_t *p, size_t n, st_buf *out)
{
    int err;
    st_msg *m = st_drec_msg_get(p, n, 1000, 1000, &err);
    if (!m) {
        if (err != ST_EMALFORMED && err != ST_ENOMEM) abort();
        return NULL;
    }
    st_drec_msg_put(out, m, 1000, 1000);
    return m;
}

static void message(const uint8_t *p, size_t n)
{
    st_buf b1 = {0}, b2 = {0};
    st_msg *m1 = again(p, n, &b1);
    if (!m1) return;
    /* flag bytes are normalised (2 becomes 1), nothing else: same size, then a fixed point */
    st_msg *m2 = again(b1.p, b1.len, &b2);
    if (b1.len != n || !m2 || b2.len != b1.len || memcmp(b1.p, b2.p, b1.len) != 0) abort();
    st_buf_free(&b1);
    st_buf_free(&b2);
    st_msg_unref(m1);
    st_msg_unref(m2);
}

static void entry(const uint8_t *p, size_t n)
{
    st_drec_entry e;
    if (st_drec_entry_get(p, n, &e) < 0) return;
    uint8_t v[ST_DREC_ENTRY];
    st_drec_entry_put(v, &e);
    if (memcmp(v, p, sizeof v) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1); /* exact size: ASan sees over-reads */
    memcpy(copy, data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        session(copy, size - 1);
        break;
    case 1:
        message(copy, size - 1);
        break;
    default:
        entry(copy, size - 1);
        break;
    }
    free(copy);
    return 0;
}
