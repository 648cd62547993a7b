/* tls.h — TLS on a non-blocking socket with OpenSSL 3 (docs/transports.md): a context per
 * listener built from EMQX's ssl_options, and per connection the handshake, reads and the
 * flush of an output queue in records of up to 16 KiB. Nothing here blocks: every step
 * returns when OpenSSL wants the socket readable or writable again (st_tls_wants). */
#ifndef ST_NET_TLS_H
#define ST_NET_TLS_H

#include "net/outq.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { ST_TLS_V12 = 1, ST_TLS_V13 = 2 };

typedef struct st_tls_opts {
    char certfile[512];
    char keyfile[512];
    char password[256]; /* of an encrypted key file ("" : none) */
    char cacertfile[512];
    int verify_peer;          /* ask for a client certificate and check it against cacertfile */
    int fail_if_no_peer_cert; /* with verify_peer: a client without one is refused */
    int depth;                /* of the client's certificate chain */
    int versions;             /* ST_TLS_V12 | ST_TLS_V13 */
    char ciphers[1024];       /* TLS 1.2 cipher list and TLS 1.3 suites, "" : OpenSSL's */
    int honor_cipher_order;
} st_tls_opts;

typedef struct st_tls_ctx st_tls_ctx;
typedef struct st_tls st_tls;

/* A server context from opts: certificate and key loaded and matched, the CA read. NULL with
 * the reason (the file and OpenSSL's words) in err. */
st_tls_ctx *st_tls_ctx_new(const st_tls_opts *opts, char *err, size_t errlen);
void st_tls_ctx_free(st_tls_ctx *ctx);

/* A client context (the load generator's): TLS 1.2 and 1.3, ALPN "mqtt", the server's
 * certificate not checked. NULL with the reason in err. */
st_tls_ctx *st_tls_client_ctx_new(char *err, size_t errlen);
/* The cluster's contexts (server: for accepted links; else for dialled ones): mutual TLS,
 * opts' certificate presented and the peer's checked against opts' cacertfile (required). */
st_tls_ctx *st_tls_node_ctx_new(const st_tls_opts *opts, int server, char *err, size_t errlen);
/* Make a client context resume: each connection offers the newest session the context was
 * given (one thread uses the context). */
void st_tls_ctx_resume(st_tls_ctx *ctx);
/* A client side connection on fd (non-blocking), for st_tls_client_ctx_new's context. */
st_tls *st_tls_client(st_tls_ctx *ctx, int fd);
/* A server side connection on fd (non-blocking); NULL when out of memory. */
st_tls *st_tls_new(st_tls_ctx *ctx, int fd);
void st_tls_free(st_tls *t);
/* Go on with the handshake: 1 done, 0 it wants the socket again (st_tls_wants), ST_EPROTO
 * with the reason in err when it failed, ST_ECLOSED when the peer closed before sending a
 * byte of it (a port check). */
int st_tls_handshake(st_tls *t, char *err, size_t errlen);
/* Decrypted bytes into buf: > 0 their count, 0 the peer closed (close_notify or EOF),
 * ST_EAGAIN nothing now, ST_EIO a failure. */
ssize_t st_tls_read(st_tls *t, void *buf, size_t cap);
/* Write up to one record of buf: the count written, ST_EAGAIN (the socket is full), ST_EIO. */
ssize_t st_tls_write(st_tls *t, const void *buf, size_t n);
/* A writev for st_outq_flush_with and st_ws_flush (t is the st_tls): up to one record of
 * the buffers, -1 with errno EAGAIN when the socket is full. */
ssize_t st_tls_writev(void *t, const struct iovec *iov, int cnt);
/* Write the queue (as st_outq_flush): 1 all written, 0 the socket is full, ST_EIO. */
int st_tls_flush(st_tls *t, st_outq *q, st_unref_fn unref);
/* The socket events the last step waits for: 1 readable, 2 writable. */
int st_tls_wants(const st_tls *t);
/* What of a client certificate stands in for a username or client id (EMQX's
 * peer_cert_as_username / peer_cert_as_clientid). */
enum { ST_CERT_NONE, ST_CERT_CN, ST_CERT_DN, ST_CERT_CRT, ST_CERT_PEM, ST_CERT_MD5 };
/* The client's certificate as `what` says (CN; the subject DN as RFC 2253 writes it; the DER
 * in base64; PEM; the DER's MD5 in hex) into out: its length, or -1 when the client sent no
 * certificate (or it does not fit). */
long st_tls_peer_cert(st_tls *t, int what, char *out, size_t cap);
/* The handshake resumed a session (no certificate, no signature). */
int st_tls_resumed(const st_tls *t);
/* The negotiated protocol ("TLSv1.3"), for the log. */
const char *st_tls_version(const st_tls *t);

#endif
