/* ws.c — WebSocket handshake and frames (ws.h). */
#include "net/ws.h"
#include "core/base64.h"
#include "core/err.h"
#include "net/http.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The value of header name in the request head (up to its end), or NULL. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t n = strlen(name);
    const char *end = head + len;
    const char *line = memchr(head, '\n', len); /* after the request line */
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) return NULL;
        if ((size_t)(eol - line) > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
            const char *v = line + n + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

/* Does the comma-separated list v contain token (case-insensitive)? */
static int has_token(const char *v, size_t len, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i < len;) {
        while (i < len && (v[i] == ' ' || v[i] == ','))
            i++;
        size_t j = i;
        while (j < len && v[j] != ',')
            j++;
        size_t k = j;
        while (k > i && v[k - 1] == ' ')
            k--;
        if (k - i == n && strncasecmp(v + i, token, n) == 0) return 1;
        i = j;
    }
    return 0;
}

static long refuse(int code, const char *why, char *resp, size_t cap, size_t *resp_len, int *status)
{
    int n = snprintf(resp, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s\n",
                     code, st_http_reason(code), strlen(why) + 1, why);
    *resp_len = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    *status = code;
    return -1;
}

/* The subprotocol to answer with: the first MQTT one the client offers. */
static const char *subprotocol(const char *v, size_t len)
{
    static const char *const known[] = {"mqtt",    "mqttv3.1",    "mqttv3.1.1",
                                        "mqtt-v3", "mqtt-v3.1.1", "mqtt-v5"};
    for (size_t i = 0; v && i < sizeof known / sizeof known[0]; i++)
        if (has_token(v, len, known[i])) return known[i];
    return NULL;
}

long st_ws_handshake(const char *buf, size_t len, const char *path, char *resp, size_t cap,
                     size_t *resp_len, int *status)
{
    st_http_req req;
    int rc = st_http_parse(buf, len, &req);
    if (rc == 0 && len < ST_WS_MAX_REQUEST) return 0;
    if (rc <= 0) return refuse(400, "not an HTTP request", resp, cap, resp_len, status);
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    size_t head = end ? (size_t)(end - buf) + 4 : len;
    size_t kl = 0, ul = 0, cl = 0, vl = 0, pl = 0;
    const char *key = header(buf, head, "Sec-WebSocket-Key", &kl);
    const char *up = header(buf, head, "Upgrade", &ul);
    const char *conn = header(buf, head, "Connection", &cl);
    const char *ver = header(buf, head, "Sec-WebSocket-Version", &vl);
    const char *proto = header(buf, head, "Sec-WebSocket-Protocol", &pl);
    if (strcmp(req.method, "GET") != 0 || !up || !has_token(up, ul, "websocket") || !conn ||
        !has_token(conn, cl, "upgrade") || !key || kl == 0 || kl > 64)
        return refuse(400, "expected a WebSocket upgrade (GET with Upgrade: websocket)", resp, cap,
                      resp_len, status);
    if (strcmp(req.path, path) != 0)
        return refuse(404, "MQTT over WebSocket is served on another path", resp, cap, resp_len,
                      status);
    if (!ver || vl != 2 || strncmp(ver, "13", 2) != 0) {
        int n = snprintf(resp, cap,
                         "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n");
        *resp_len = n < 0 ? 0 : (size_t)n;
        *status = 426;
        return -1;
    }
    const char *sub = subprotocol(proto, pl);
    if (proto && !sub)
        return refuse(400, "no MQTT subprotocol offered (mqtt, mqttv3.1, mqttv3.1.1)", resp, cap,
                      resp_len, status);
    char cat[64 + sizeof GUID];
    memcpy(cat, key, kl);
    memcpy(cat + kl, GUID, sizeof GUID - 1);
    uint8_t sha[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)cat, kl + sizeof GUID - 1, sha);
    char accept[64];
    if (st_b64_encode(sha, sizeof sha, accept, sizeof accept) < 0)
        return refuse(400, "bad key", resp, cap, resp_len, status);
    int n =
        snprintf(resp, cap,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
                 accept, sub ? "Sec-WebSocket-Protocol: " : "", sub ? sub : "", sub ? "\r\n" : "");
    if (n < 0 || (size_t)n >= cap)
        return refuse(400, "request too large", resp, cap, resp_len, status);
    *resp_len = (size_t)n;
    *status = 101;
    return (long)head;
}

long st_ws_frame_parse(uint8_t *buf, size_t len, uint64_t max, st_ws_frame *f)
{
    if (len < 2) return 0;
    uint8_t b0 = buf[0], b1 = buf[1];
    f->fin = b0 >> 7;
    f->opcode = b0 & 0x0F;
    if (b0 & 0x70 || !(b1 & 0x80)) return -1; /* reserved bits, or a client frame not masked */
    int control = f->opcode & 0x8;
    if (f->opcode != ST_WS_CONT && f->opcode != ST_WS_TEXT && f->opcode != ST_WS_BINARY &&
        f->opcode != ST_WS_CLOSE && f->opcode != ST_WS_PING && f->opcode != ST_WS_PONG)
        return -1;
    uint64_t plen = b1 & 0x7F;
    size_t off = 2;
    if (control && (plen > 125 || !f->fin)) return -1;
    if (plen == 126) {
        if (len < 4) return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        off = 4;
    } else if (plen == 127) {
        if (len < 10) return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        off = 10;
        if (plen >> 63) return -1;
    }
    if (plen > max) return -1;
    if (len < off + 4) return 0;
    const uint8_t *mask = buf + off;
    off += 4;
    if (len - off < plen) return 0;
    uint8_t *p = buf + off;
    for (uint64_t i = 0; i < plen; i++)
        p[i] ^= mask[i & 3];
    f->payload = p;
    f->len = plen;
    return (long)(off + plen);
}

size_t st_ws_frame_header(uint8_t out[ST_WS_MAX_HEADER], uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

/* ---- a connection's layer --------------------------------------------------------------- */

#define OUT_FRAME (64 * 1024) /* queue bytes per binary frame */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    uint8_t *p = realloc(*buf, c);
    if (!p) return ST_ENOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

static int queue(st_ws_conn *ws, const void *p, size_t n)
{
    if (grow(&ws->out, &ws->ocap, ws->olen + n) < 0) return ST_ENOMEM;
    memcpy(ws->out + ws->olen, p, n);
    ws->olen += n;
    return 0;
}

static int queue_frame(st_ws_conn *ws, uint8_t op, const uint8_t *p, size_t n)
{
    uint8_t h[ST_WS_MAX_HEADER];
    size_t hl = st_ws_frame_header(h, op, n);
    if (queue(ws, h, hl) < 0 || queue(ws, p, n) < 0) return ST_ENOMEM;
    return 0;
}

void st_ws_close(st_ws_conn *ws, uint16_t code)
{
    if (ws->closing) return;
    uint8_t c[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    queue_frame(ws, ST_WS_CLOSE, c, 2);
    ws->closing = 1;
    ws->close_code = code;
}

/* The first address of a proxy header (X-Forwarded-For: "client, proxy1, ..."), and the
 * port header's value, as "ip:port" (IPv6: "[ip]:port") or "ip" into ws->fwd. */
static void forwarded(st_ws_conn *ws, size_t head, const st_ws_opts *o)
{
    size_t al = 0, pl = 0;
    const char *a = o->addr_header && *o->addr_header
                        ? header((const char *)ws->in, head, o->addr_header, &al)
                        : NULL;
    if (!a || !al) return;
    size_t n = 0;
    while (n < al && a[n] != ',' && a[n] != ' ')
        n++;
    if (!n || n > 39) return;      /* "[ip6]:port" fits st_client.peer */
    for (size_t i = 0; i < n; i++) /* an address: hex digits, '.', ':' */
        if (!strchr("0123456789abcdefABCDEF.:", a[i])) return;
    const char *pv = o->port_header && *o->port_header
                         ? header((const char *)ws->in, head, o->port_header, &pl)
                         : NULL;
    int v6 = memchr(a, ':', n) != NULL;
    if (pv && pl && pl <= 5 && strspn(pv, "0123456789") >= pl)
        snprintf(ws->fwd, sizeof ws->fwd, "%s%.*s%s:%.*s", v6 ? "[" : "", (int)n, a, v6 ? "]" : "",
                 (int)pl, pv);
    else
        snprintf(ws->fwd, sizeof ws->fwd, "%.*s", (int)n, a);
}

static int handshake(st_ws_conn *ws, const st_ws_opts *o, size_t *used)
{
    char resp[512];
    size_t rlen = 0;
    int status = 0;
    long r =
        st_ws_handshake((const char *)ws->in, ws->ilen, o->path, resp, sizeof resp, &rlen, &status);
    *used = r > 0 ? (size_t)r : 0;
    if (r == 0) return 0;
    if (queue(ws, resp, rlen) < 0) return ST_ENOMEM;
    if (r < 0) {
        ws->closing = 1;
        ws->close_code = (uint16_t)status;
        return ST_ECLOSED;
    }
    ws->open = 1;
    forwarded(ws, (size_t)r, o);
    return 1;
}

/* One whole frame: 0 go on, 1 stop (fn), ST_ECLOSED. */
static int frame(st_ws_conn *ws, const st_ws_frame *f, st_ws_data_fn fn, void *ctx)
{
    switch (f->opcode) {
    case ST_WS_BINARY:
    case ST_WS_CONT:
        return f->len && fn(ctx, f->payload, (size_t)f->len) ? 1 : 0;
    case ST_WS_PING:
        return queue_frame(ws, ST_WS_PONG, f->payload, (size_t)f->len);
    case ST_WS_PONG:
        return 0;
    case ST_WS_CLOSE:
        st_ws_close(ws, 1000);
        return ST_ECLOSED;
    default: /* text: MQTT is binary (MQTT 5 §6) */
        st_ws_close(ws, 1003);
        return ST_ECLOSED;
    }
}

int st_ws_input(st_ws_conn *ws, const uint8_t *p, size_t n, const st_ws_opts *o, st_ws_data_fn fn,
                void *ctx)
{
    if (ws->closing) return ST_ECLOSED;
    if (n && grow(&ws->in, &ws->icap, ws->ilen + n) < 0) return ST_ENOMEM;
    if (n) memcpy(ws->in + ws->ilen, p, n);
    ws->ilen += n;
    size_t off = 0;
    int rc = 0;
    if (!ws->open) {
        rc = handshake(ws, o, &off);
        if (rc <= 0) goto keep; /* more of the request, or refused */
        rc = 0;
    }
    while (off < ws->ilen) {
        st_ws_frame f;
        long r = st_ws_frame_parse(ws->in + off, ws->ilen - off, o->max_frame, &f);
        if (r == 0) break;
        if (r < 0) {
            st_ws_close(ws, 1002);
            rc = ST_ECLOSED;
            break;
        }
        off += (size_t)r;
        rc = frame(ws, &f, fn, ctx);
        if (rc) break;
    }
keep:
    memmove(ws->in, ws->in + off, ws->ilen - off);
    ws->ilen -= off;
    if (!ws->ilen) { /* an idle connection keeps no buffer */
        free(ws->in);
        ws->in = NULL;
        ws->icap = 0;
    }
    return rc;
}

/* st_outq's writer into the frame being built: fill_left more bytes, then "full". */
static ssize_t into_frame(void *ctx, const struct iovec *iov, int cnt)
{
    st_ws_conn *ws = ctx;
    size_t n = 0;
    for (int i = 0; i < cnt && n < ws->fill_left; i++) {
        size_t k = iov[i].iov_len < ws->fill_left - n ? iov[i].iov_len : ws->fill_left - n;
        memcpy(ws->out + ws->olen + n, iov[i].iov_base, k);
        n += k;
    }
    ws->olen += n;
    ws->fill_left -= n;
    if (n) return (ssize_t)n;
    errno = EAGAIN;
    return -1;
}

int st_ws_flush(st_ws_conn *ws, st_outq *q, st_writev_fn wv, void *wctx, st_unref_fn unref)
{
    for (;;) {
        while (ws->ooff < ws->olen) {
            struct iovec v = {ws->out + ws->ooff, ws->olen - ws->ooff};
            ssize_t w = wv(wctx, &v, 1);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
            if (w < 0) return ST_EIO;
            ws->ooff += (size_t)w;
        }
        ws->ooff = ws->olen = 0;
        if (!q->bytes || ws->closing) break;
        size_t n = q->bytes < OUT_FRAME ? q->bytes : OUT_FRAME;
        if (grow(&ws->out, &ws->ocap, ST_WS_MAX_HEADER + n) < 0) return ST_ENOMEM;
        uint8_t h[ST_WS_MAX_HEADER];
        size_t hl = st_ws_frame_header(h, ST_WS_BINARY, n);
        memcpy(ws->out, h, hl);
        ws->olen = hl;
        ws->fill_left = n;
        if (st_outq_flush_with(q, into_frame, ws, unref) < 0) return ST_EIO;
    }
    free(ws->out); /* an idle connection keeps no buffer */
    ws->out = NULL;
    ws->ocap = 0;
    return 1;
}

void st_ws_free(st_ws_conn *ws)
{
    free(ws->in);
    free(ws->out);
    memset(ws, 0, sizeof *ws);
}
