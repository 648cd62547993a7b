/* auth.h — the cookie proofs of the cluster handshake (docs/cluster.md §3.2). The cookie
 * never crosses the wire: each side proves it knows it with HMAC-SHA256 over both nonces,
 * both node names and the stream, so a proof cannot be replayed on another link. */
#ifndef ST_CLUSTER_AUTH_H
#define ST_CLUSTER_AUTH_H

#include "cwire/cwire.h"

#include <stddef.h>
#include <stdint.h>

/* Fill n bytes with randomness (getrandom). 0 or ST_ESYS. */
int st_auth_random(uint8_t *p, size_t n);
/* acceptor = 1: the acceptor's proof ("STCL-A" | nonce_d | nonce_a | acceptor | dialer |
 * stream); 0: the dialer's ("STCL-D" | nonce_a | nonce_d | dialer | acceptor | stream). */
void st_auth_proof(const char *cookie, int acceptor, const uint8_t nonce_d[CW_NONCE],
                   const uint8_t nonce_a[CW_NONCE], st_bytes acceptor_name, st_bytes dialer_name,
                   uint8_t stream, uint8_t out[CW_PROOF]);
/* Constant-time comparison of two proofs: 1 if equal. */
int st_auth_equal(const uint8_t a[CW_PROOF], const uint8_t b[CW_PROOF]);
/* The 64-bit node id: FNV-1a of the node name. */
uint64_t st_auth_node_id(const char *name);

#endif
