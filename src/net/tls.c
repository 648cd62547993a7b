/* tls.c — TLS with OpenSSL 3 on the workers' non-blocking sockets (tls.h). */
#include "net/tls.h"
#include "core/err.h"

#include <errno.h>
#include "core/base64.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD 16384 /* bytes per SSL_write: one full TLS record */

struct st_tls_ctx {
    SSL_CTX *ssl;
    char password[256];
    SSL_SESSION *last; /* a client context that resumes: the newest session it was given */
};

struct st_tls {
    SSL *ssl;
    int wants; /* 1 readable, 2 writable */
};

/* OpenSSL's reason for the last failure (and clear its queue). */
static void reason(char *out, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, out, cap);
    else
        snprintf(out, cap, "%s", errno ? strerror(errno) : "unknown error");
    ERR_clear_error();
}

static int password_cb(char *buf, int size, int rwflag, void *ud)
{
    const st_tls_ctx *c = ud;
    (void)rwflag;
    int n = (int)strlen(c->password);
    if (n >= size) return 0;
    memcpy(buf, c->password, (size_t)n);
    return n;
}

/* ALPN: "mqtt" when the client offers it; a client that offers none is served too. */
static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char mqtt[] = "\x04mqtt";
    (void)s;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, mqtt, sizeof mqtt - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* EMQX's `ciphers` mixes TLS 1.3 suites (TLS_*) and TLS 1.2 names: each goes to its list. */
static int set_ciphers(SSL_CTX *ssl, const char *list)
{
    char v12[1024] = "", v13[1024] = "", name[128];
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",: ");
        if (n && n < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)n, p);
            char *dst = strncmp(name, "TLS_", 4) == 0 ? v13 : v12;
            size_t len = strlen(dst);
            snprintf(dst + len, 1024 - len, "%s%s", len ? ":" : "", name);
        }
        p += n;
        while (*p == ',' || *p == ':' || *p == ' ')
            p++;
    }
    if (*v12 && SSL_CTX_set_cipher_list(ssl, v12) != 1) return -1;
    if (*v13 && SSL_CTX_set_ciphersuites(ssl, v13) != 1) return -1;
    return 0;
}

static int fail(st_tls_ctx *c, char *err, size_t errlen, const char *what, const char *file)
{
    char why[256];
    reason(why, sizeof why);
    snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "", file ? file : "", why);
    SSL_CTX_free(c->ssl);
    free(c);
    return 0;
}

static int load_files(st_tls_ctx *c, const st_tls_opts *o, char *err, size_t errlen)
{
    SSL_CTX *s = c->ssl;
    if (!o->certfile[0] || !o->keyfile[0]) {
        snprintf(err, errlen, "ssl_options: certfile and keyfile are required");
        SSL_CTX_free(s);
        free(c);
        return 0;
    }
    if (SSL_CTX_use_certificate_chain_file(s, o->certfile) != 1)
        return fail(c, err, errlen, "ssl_options.certfile", o->certfile);
    if (SSL_CTX_use_PrivateKey_file(s, o->keyfile, SSL_FILETYPE_PEM) != 1)
        return fail(c, err, errlen, "ssl_options.keyfile", o->keyfile);
    if (SSL_CTX_check_private_key(s) != 1)
        return fail(c, err, errlen, "ssl_options.keyfile does not match certfile", NULL);
    if (o->cacertfile[0]) {
        if (SSL_CTX_load_verify_locations(s, o->cacertfile, NULL) != 1)
            return fail(c, err, errlen, "ssl_options.cacertfile", o->cacertfile);
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->cacertfile);
        if (names) SSL_CTX_set_client_CA_list(s, names);
    }
    if (o->verify_peer && !o->cacertfile[0]) {
        snprintf(err, errlen, "ssl_options.verify = verify_peer needs ssl_options.cacertfile");
        SSL_CTX_free(s);
        free(c);
        return 0;
    }
    return 1;
}

/* A context of method, or NULL with the reason in err. */
static st_tls_ctx *ctx_alloc(const SSL_METHOD *method, char *err, size_t errlen)
{
    st_tls_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ERR_clear_error();
    c->ssl = SSL_CTX_new(method);
    if (!c->ssl) {
        fail(c, err, errlen, "cannot create a TLS context", NULL);
        return NULL;
    }
    return c;
}

/* What every context built from options has: the key's password, the versions, partial
 * writes from a moving buffer (the output queue), and extra modes. */
static void base_settings(st_tls_ctx *c, const st_tls_opts *o, long mode)
{
    snprintf(c->password, sizeof c->password, "%s", o->password);
    SSL_CTX_set_default_passwd_cb(c->ssl, password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(c->ssl, c);
    int v = o->versions ? o->versions : ST_TLS_V12 | ST_TLS_V13;
    SSL_CTX_set_min_proto_version(c->ssl, v & ST_TLS_V12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(c->ssl, v & ST_TLS_V13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ssl,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | mode);
}

st_tls_ctx *st_tls_ctx_new(const st_tls_opts *o, char *err, size_t errlen)
{
    st_tls_ctx *c = ctx_alloc(TLS_server_method(), err, errlen);
    if (!c) return NULL;
    base_settings(c, o, SSL_MODE_RELEASE_BUFFERS);
    long opts = SSL_OP_NO_RENEGOTIATION;
    if (o->honor_cipher_order) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(c->ssl, opts);
    static const unsigned char sid[] = "starling";
    SSL_CTX_set_session_id_context(c->ssl, sid, sizeof sid - 1); /* resumption */
    SSL_CTX_set_alpn_select_cb(c->ssl, alpn_cb, NULL);
    if (o->ciphers[0] && set_ciphers(c->ssl, o->ciphers) < 0) {
        fail(c, err, errlen, "ssl_options.ciphers: no cipher OpenSSL knows in", o->ciphers);
        return NULL;
    }
    if (!load_files(c, o, err, errlen)) return NULL;
    if (o->verify_peer) {
        int mode =
            SSL_VERIFY_PEER | (o->fail_if_no_peer_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
        SSL_CTX_set_verify(c->ssl, mode, NULL);
        SSL_CTX_set_verify_depth(c->ssl, o->depth > 0 ? o->depth : 10);
    }
    return c;
}

st_tls_ctx *st_tls_client_ctx_new(char *err, size_t errlen)
{
    st_tls_ctx *c = ctx_alloc(TLS_client_method(), err, errlen);
    if (!c) return NULL;
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    static const unsigned char mqtt[] = "\x04mqtt";
    SSL_CTX_set_alpn_protos(c->ssl, mqtt, sizeof mqtt - 1);
    return c;
}

/* The cluster's contexts: mutual TLS, both sides present opts' certificate and check the
 * other's against opts' CA; no tickets (no post-handshake messages: a stream is handed to
 * another thread right after its handshake), buffers kept (the lanes are busy). */
st_tls_ctx *st_tls_node_ctx_new(const st_tls_opts *o, int server, char *err, size_t errlen)
{
    st_tls_ctx *c = ctx_alloc(server ? TLS_server_method() : TLS_client_method(), err, errlen);
    if (!c) return NULL;
    base_settings(c, o, 0);
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c->ssl, 0);
    if (o->ciphers[0] && set_ciphers(c->ssl, o->ciphers) < 0) {
        fail(c, err, errlen, "ssl_options.ciphers: no cipher OpenSSL knows in", o->ciphers);
        return NULL;
    }
    if (!o->cacertfile[0]) {
        snprintf(err, errlen, "ssl_options.cacertfile is required (the nodes check each other)");
        SSL_CTX_free(c->ssl);
        free(c);
        return NULL;
    }
    if (!load_files(c, o, err, errlen)) return NULL;
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(c->ssl, o->depth > 0 ? o->depth : 10);
    return c;
}

/* A client context that resumes keeps the newest session (a TLS 1.3 ticket, or a 1.2
 * session) it is given. */
static int new_session(SSL *s, SSL_SESSION *sess)
{
    st_tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
    SSL_SESSION_free(c->last);
    c->last = sess;
    return 1; /* we keep the reference */
}

void st_tls_ctx_resume(st_tls_ctx *c)
{
    SSL_CTX_set_app_data(c->ssl, c);
    SSL_CTX_set_session_cache_mode(c->ssl,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ssl, new_session);
}

st_tls *st_tls_client(st_tls_ctx *ctx, int fd)
{
    st_tls *t = st_tls_new(ctx, fd);
    if (!t) return NULL;
    SSL_set_connect_state(t->ssl);
    if (ctx->last) SSL_set_session(t->ssl, ctx->last);
    return t;
}

int st_tls_resumed(const st_tls *t)
{
    return SSL_session_reused(t->ssl) == 1;
}

void st_tls_ctx_free(st_tls_ctx *c)
{
    if (!c) return;
    SSL_SESSION_free(c->last);
    SSL_CTX_free(c->ssl);
    free(c);
}

st_tls *st_tls_new(st_tls_ctx *ctx, int fd)
{
    st_tls *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ssl = SSL_new(ctx->ssl); /* takes a reference on the context */
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_accept_state(t->ssl);
    t->wants = 1;
    return t;
}

void st_tls_free(st_tls *t)
{
    if (!t) return;
    SSL_free(t->ssl);
    free(t);
}

/* After a failed step: wait for the socket (1), or it failed for good (0). */
static int would_block(st_tls *t, int rc)
{
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) t->wants = 1;
    if (e == SSL_ERROR_WANT_WRITE) t->wants = 2;
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

int st_tls_handshake(st_tls *t, char *err, size_t errlen)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->wants = 1;
        return 1;
    }
    if (would_block(t, rc)) return 0;
    if (SSL_in_before(t->ssl) && SSL_get_error(t->ssl, rc) != SSL_ERROR_SSL) {
        ERR_clear_error(); /* closed before a byte of it: a port check, a load balancer's probe */
        snprintf(err, errlen, "closed before the handshake");
        return ST_ECLOSED;
    }
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK) {
        snprintf(err, errlen, "%s certificate: %s", SSL_is_server(t->ssl) ? "client" : "server",
                 X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else {
        reason(err, errlen);
    }
    return ST_EPROTO;
}

ssize_t st_tls_read(st_tls *t, void *buf, size_t cap)
{
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (n > 0) return n;
    int e = SSL_get_error(t->ssl, n);
    if (would_block(t, n)) return ST_EAGAIN;
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) return 0;
    return ST_EIO;
}

ssize_t st_tls_write(st_tls *t, const void *buf, size_t n)
{
    ERR_clear_error();
    int w = SSL_write(t->ssl, buf, n > RECORD ? RECORD : (int)n);
    if (w > 0) return w;
    if (would_block(t, w)) return ST_EAGAIN;
    ERR_clear_error();
    return ST_EIO;
}

/* st_outq's writer: up to one record of the queue's head, copied and written as one. */
ssize_t st_tls_writev(void *ctx, const struct iovec *iov, int cnt)
{
    st_tls *t = ctx;
    uint8_t rec[RECORD];
    size_t n = 0;
    for (int i = 0; i < cnt && n < RECORD; i++) {
        size_t k = iov[i].iov_len < RECORD - n ? iov[i].iov_len : RECORD - n;
        memcpy(rec + n, iov[i].iov_base, k);
        n += k;
    }
    ERR_clear_error();
    int w = SSL_write(t->ssl, rec, (int)n);
    if (w > 0) return w;
    if (would_block(t, w)) {
        errno = EAGAIN;
        return -1;
    }
    ERR_clear_error();
    errno = EIO;
    return -1;
}

int st_tls_flush(st_tls *t, st_outq *q, st_unref_fn unref)
{
    int rc = st_outq_flush_with(q, st_tls_writev, t, unref);
    if (rc == 1) t->wants = 1;
    return rc;
}

int st_tls_wants(const st_tls *t)
{
    return t->wants;
}

const char *st_tls_version(const st_tls *t)
{
    return SSL_get_version(t->ssl);
}

/* A memory BIO's bytes into out (NUL-terminated): their length, or -1. */
static long from_bio(BIO *b, char *out, size_t cap)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n < 0 || (size_t)n >= cap) return -1;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return n;
}

static long cert_text(X509 *x, int what, char *out, size_t cap)
{
    if (what == ST_CERT_CN) {
        int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out,
                                          (int)(cap > INT32_MAX ? INT32_MAX : cap));
        return n < 0 ? -1 : n;
    }
    if (what == ST_CERT_DN || what == ST_CERT_PEM) {
        BIO *b = BIO_new(BIO_s_mem());
        if (!b) return -1;
        int ok = what == ST_CERT_DN
                     ? X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0
                     : PEM_write_bio_X509(b, x) == 1;
        long n = ok ? from_bio(b, out, cap) : -1;
        BIO_free(b);
        return n;
    }
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    if (dl <= 0) return -1;
    long n = -1;
    if (what == ST_CERT_CRT) {
        n = st_b64_encode(der, (size_t)dl, out, cap);
    } else if (what == ST_CERT_MD5 && cap > 32) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int ml = 0;
        if (EVP_Digest(der, (size_t)dl, md, &ml, EVP_md5(), NULL) == 1) {
            for (unsigned int i = 0; i < ml; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
            n = 2 * (long)ml;
        }
    }
    OPENSSL_free(der);
    return n;
}

long st_tls_peer_cert(st_tls *t, int what, char *out, size_t cap)
{
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    if (!x) return -1;
    long n = cert_text(x, what, out, cap);
    X509_free(x);
    ERR_clear_error();
    return n;
}
