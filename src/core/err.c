/* err.c — text for ST_E* codes, generated from the X-macro list in err.h. */
#include "core/err.h"

const char *st_strerror(int err)
{
    switch (err) {
    case ST_OK:
        return "ok";
#define ST_ERR_CASE(name, msg)                                                                     \
    case ST_E##name:                                                                               \
        return msg;
        ST_ERRNO_MAP(ST_ERR_CASE)
#undef ST_ERR_CASE
    default:
        return "unknown error";
    }
}
