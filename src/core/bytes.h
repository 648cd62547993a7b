/* bytes.h — a borrowed byte range, the currency of Starling's pure codecs (mqtt, cwire):
 * decoders return ranges into their input instead of copying. */
#ifndef ST_BYTES_H
#define ST_BYTES_H

#include <stdint.h>

/* A borrowed byte range. p may be NULL when len == 0. */
typedef struct st_bytes {
    const uint8_t *p;
    uint32_t len;
} st_bytes;

#endif
