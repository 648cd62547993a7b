/* centry.h — the control plane's Raft entries (docs/cluster.md §5.2): one entry is a batch
 * of ops, each with a unique id (origin node id, op sequence) so that an op re-proposed
 * after a lost leadership is recognised and applied once.
 *
 *   entry := "STRE" u16 version=1 u16 flags=0 u64 hlc u32 n_ops op*
 *   op    := u64 origin u64 op_seq u16 table u16 verb u32 len body
 *
 * Pure, like cwire.h: decoders return spans into the input. */
#ifndef ST_CENTRY_H
#define ST_CENTRY_H

#include "core/bytes.h"

#include <stddef.h>
#include <stdint.h>

#define CE_MAGIC "STRE"
#define CE_VERSION 1
#define CE_MAX_OP (1u << 20) /* one op's body at most */

typedef struct ce_op {
    uint64_t origin, seq;
    uint16_t table, verb;
    st_bytes body;
} ce_op;

typedef struct ce_entry {
    uint16_t version, flags;
    uint64_t hlc;
    uint32_t n;
    st_bytes ops; /* n ops, validated; walk with ce_op_next */
} ce_entry;

/* 0, or ST_EMALFORMED (magic, version, flags, counts, truncation, trailing bytes other
 * than up to 7 zeros of padding), ST_EVERSION (newer). */
int ce_decode_entry(st_bytes buf, ce_entry *e);
int ce_op_next(const ce_entry *e, uint32_t *off, ce_op *op);
/* Encode; returns the size (written only if it fits in cap). Callers that hand the entry
 * to libraft pad it with zeros to a multiple of 8 bytes. */
size_t ce_encode_entry(uint64_t hlc, const ce_op *ops, uint32_t n, uint8_t *dst, size_t cap);
size_t ce_op_size(const ce_op *op);

#endif
