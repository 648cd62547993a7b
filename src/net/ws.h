/* ws.h — WebSocket (RFC 6455) for MQTT over WebSocket, pure (no I/O): the server's side of
 * the opening handshake, and frames. Client frames are unmasked in place in the caller's
 * buffer; the server's frames are a header the caller puts before its payload
 * (docs/transports.md). */
#ifndef ST_NET_WS_H
#define ST_NET_WS_H

#include "net/outq.h"

#include <stddef.h>
#include <stdint.h>

enum {
    ST_WS_CONT = 0x0,
    ST_WS_TEXT = 0x1,
    ST_WS_BINARY = 0x2,
    ST_WS_CLOSE = 0x8,
    ST_WS_PING = 0x9,
    ST_WS_PONG = 0xA,
};

#define ST_WS_MAX_HEADER 14 /* 2 + 8 (length) + 4 (mask) */
#define ST_WS_MAX_REQUEST 8192

/* The opening handshake on a request head in buf (one that ends with an empty line).
 * path: the one MQTT is served on ("/mqtt"). Returns the length of the request when it is
 * complete, 0 when more is needed, or -1 when it is refused. *status is 101 (accepted) or the
 * HTTP status of the refusal (400 not an upgrade or a bad one, 404 another path, 426 another
 * WebSocket version); resp gets the whole answer (status line, headers, empty line, and a
 * short body on a refusal). */
long st_ws_handshake(const char *buf, size_t len, const char *path, char *resp, size_t cap,
                     size_t *resp_len, int *status);

typedef struct st_ws_frame {
    uint8_t fin, opcode;
    uint8_t *payload; /* unmasked, inside the caller's buffer */
    uint64_t len;
} st_ws_frame;

/* One client frame at buf: its total length (header and payload; the payload unmasked in
 * place), 0 when more is needed, -1 for a frame a server must refuse (not masked, reserved
 * bits, an unknown opcode, a control frame over 125 bytes or fragmented, longer than max). */
long st_ws_frame_parse(uint8_t *buf, size_t len, uint64_t max, st_ws_frame *f);
/* The header of a server frame (fin set, not masked) of len payload bytes: its length. */
size_t st_ws_frame_header(uint8_t out[ST_WS_MAX_HEADER], uint8_t opcode, uint64_t len);

/* ---- a connection's WebSocket layer (between the socket, or TLS, and MQTT) ---- */

typedef struct st_ws_conn {
    uint8_t *in; /* bytes not yet a whole frame (first: the request head) */
    size_t ilen, icap;
    uint8_t *out; /* framed bytes not written yet */
    size_t olen, ooff, ocap;
    size_t fill_left; /* building a frame: queue bytes still to copy into it */
    uint8_t open;     /* the handshake is done */
    uint8_t closing;  /* a close frame (or a refusal) is queued: close once it is written */
    uint16_t close_code;
    char fwd[48]; /* the client's address from the request's proxy headers ("" : none) */
} st_ws_conn;

typedef struct st_ws_opts {
    const char *path;        /* websocket.mqtt_path */
    uint64_t max_frame;      /* websocket.max_frame_size */
    const char *addr_header; /* websocket.proxy_address_header ("" : none) */
    const char *port_header; /* websocket.proxy_port_header ("" : none) */
} st_ws_opts;

/* MQTT bytes out of a frame: the callback returns nonzero when the connection must not be
 * fed any more (closed, or handed to another thread: what is left stays in ws->in). */
typedef int (*st_ws_data_fn)(void *ctx, const uint8_t *p, size_t n);

/* Bytes read from the connection (n may be 0: go on with what is kept). Answers the
 * handshake (and notes the client's address from the proxy headers o names in ws->fwd,
 * "ip:port" or "ip"), pings and closes (queued in ws->out) and hands binary payloads to fn. Returns
 * 0 to go on, 1 when fn said stop, ST_ECLOSED when the connection is to close once
 * ws->out is written (a refusal, a close frame, a protocol error; ws->close_code says
 * which), ST_ENOMEM. */
int st_ws_input(st_ws_conn *ws, const uint8_t *p, size_t n, const st_ws_opts *o, st_ws_data_fn fn,
                void *ctx);
/* Write: what is framed first, then the queue's bytes as binary frames, through wv (a
 * socket's writev, or TLS). 1 all written, 0 the socket is full, ST_EIO, ST_ENOMEM. */
int st_ws_flush(st_ws_conn *ws, st_outq *q, st_writev_fn wv, void *wctx, st_unref_fn unref);
/* Queue a close frame with code (1000 normal, 1002 protocol error, 1003 unsupported data). */
void st_ws_close(st_ws_conn *ws, uint16_t code);
void st_ws_free(st_ws_conn *ws);

#endif
