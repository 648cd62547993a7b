/* base64.c — RFC 4648 base64, strict on decode: the length is a multiple of 4, padding
 * only at the end, and the bits a padded group leaves over are zero, so every byte string
 * has exactly one accepted text (what etcd writes) and anything else is refused. */
#include "core/base64.h"
#include "core/err.h"

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long st_b64_encode(const void *in, size_t n, char *out, size_t cap)
{
    const uint8_t *p = in;
    size_t need = ST_B64_LEN(n);
    if (cap <= need) return ST_EFULL;
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        *o++ = ALPHA[v >> 18];
        *o++ = ALPHA[(v >> 12) & 63];
        *o++ = i + 1 < n ? ALPHA[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? ALPHA[v & 63] : '=';
    }
    *o = '\0';
    return (long)need;
}

static int value_of(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

long st_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n % 4) return ST_EMALFORMED;
    size_t pad = n && in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    size_t len = n / 4 * 3 - pad;
    if (len > cap) return ST_EFULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            int d = value_of(in[i + (size_t)j]);
            if (d < 0 && !(last && j >= 4 - (int)pad)) return ST_EMALFORMED;
            v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
        }
        if (last && ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF))))
            return ST_EMALFORMED; /* left-over bits must be zero */
        out[k++] = (uint8_t)(v >> 16);
        if (k < len) out[k++] = (uint8_t)(v >> 8);
        if (k < len) out[k++] = (uint8_t)v;
    }
    return (long)len;
}

long st_b64url_encode(const void *in, size_t n, char *out, size_t cap)
{
    long len = st_b64_encode(in, n, out, cap);
    if (len < 0) return len;
    for (long i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    while (len && out[len - 1] == '=')
        out[--len] = 0;
    return len;
}

long st_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    char buf[8192 + 4];
    if (n > 8192 || n % 4 == 1) return ST_EMALFORMED;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '+' || in[i] == '/' || in[i] == '=') return ST_EMALFORMED;
        buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    }
    while (n % 4)
        buf[n++] = '=';
    return st_b64_decode(buf, n, out, cap);
}
