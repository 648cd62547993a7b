/* err.h — Starling's error codes: one X-macro list, negative ints (libuv style).
 * Functions return 0 on success and a negative ST_E* on failure; decoders return
 * bytes consumed (>0), 0 for "need more", negative ST_E* for an error. */
#ifndef ST_ERR_H
#define ST_ERR_H

#define ST_ERRNO_MAP(X)                                                                            \
    X(NOMEM, "out of memory")                                                                      \
    X(INVAL, "invalid argument")                                                                   \
    X(MALFORMED, "malformed packet")                                                               \
    X(PROTO, "protocol error")                                                                     \
    X(TOOLARGE, "packet too large")                                                                \
    X(TOPIC, "invalid topic")                                                                      \
    X(UTF8, "invalid UTF-8 string")                                                                \
    X(VERSION, "unsupported protocol version")                                                     \
    X(IO, "I/O error")                                                                             \
    X(CLOSED, "connection closed")                                                                 \
    X(NOENT, "not found")                                                                          \
    X(EXIST, "already exists")                                                                     \
    X(FULL, "limit reached")                                                                       \
    X(CONFIG, "configuration error")                                                               \
    X(SYS, "system call failed")                                                                   \
    X(AGAIN, "try again later")

enum st_err {
    ST_OK = 0,
#define ST_ERR_ENUM(name, msg) ST_E##name,
    ST_ERR_FIRST_ = -1000,
    ST_ERRNO_MAP(ST_ERR_ENUM) ST_ERR_LAST_
#undef ST_ERR_ENUM
};

/* Human readable text for an ST_E* code (or "ok" for 0). Never NULL. */
const char *st_strerror(int err);

#endif
